"""Command groups for `flask --app run ...` (design.md section 4)."""
from __future__ import annotations

import imaplib
import json
import sys
from contextlib import nullcontext
from datetime import date, datetime, timezone
from pathlib import Path

import click
from imap_tools.errors import ImapToolsError
from flask import Flask, current_app, render_template
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select

from . import audit, backup, spreadsheet, storage, unit_of_work
from .database import read_only
from .errors import InvalidFields
from .evidence import export_pack, verify_pack
from .extensions import db
from .jobs import scheduler
from .jobs.outbox import deliver
from .jobs.statistics import refresh as refresh_statistics
from .jobs.sweep import sweep
from .integrations import mailbox
from .models import STAFF_ROLES, Unit, User
from .policy import Actor
from .services import create_category, create_unit, create_user, issue_token
from .services.administration.accounts import create_api_key, revoke_tokens
from .services.administration.calendar import add_day_off, calendar_year, default_year, make_working_day
from .services.administration.demo import seed
from .services.administration.two_factor import reset as reset_two_factor
from .services import readiness
from .services.inputs import EARLIEST, LATEST, in_calendar, local_today
from .services.complaints.lapor_oversight import with_lapor
from .services.complaints.mail_intake import MailboxNotReady
from .services.oversight.reports import PDF_OVERDUE_LIMIT, PdfUnavailable, csv_rows, periodic_report, write_pdf
from .services.surveys import opening as skm_opening, periods as skm_periods, questionnaire as skm_questionnaire
from .services.surveys import records as skm_records, results as skm_results
from .services.surveys.imports import ImportRefused, import_csv
from .sla import WorkingCalendar, compute_due, current_overrides
from .storage import transfer as storage_transfer
from .workflow import WorkflowError, current_workflow, load_workflow
from .workflow.in_use import missing_in_use, unknown_categories


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _commit_or_fail(fn):
    """Run a service as one unit of work (committed before the command reports it), and turn
    invalid input into a clear message and exit 1."""
    try:
        return unit_of_work.run(fn)
    except InvalidFields as exc:
        with force_locale("en"):  # the command line speaks English, like its other output
            _fail("error: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items()))


users = AppGroup("users", help="Staff accounts.")


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([role.value for role in STAFF_ROLES]))
@click.option("--unit", "units", multiple=True, help="Unit code (repeatable).")
@click.option("--name", help="Display name (default: the part of the email before @).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email, role, units, name, password_stdin):
    """Create a user; prints a generated password unless --password-stdin is given."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    user, generated = _commit_or_fail(
        lambda: create_user(email, role, name=name, password=password, unit_codes=units, actor=Actor.cli()))
    click.echo(f"created {user.role} {user.email}" + (f" units {','.join(units)}" if units else ""))
    if generated:
        click.echo(f"password: {generated}")


@users.command("token")
@click.argument("email")
def users_token(email):
    """Print a new API token for the user (stored hashed: it is shown only now)."""
    user = User.by_email(email)
    if user is None:
        _fail(f"error: no user {email}")
    click.echo(_commit_or_fail(lambda: issue_token(user, actor=Actor.cli())))


@users.command("revoke-tokens")
@click.argument("email")
def users_revoke_tokens(email):
    """Revoke every API token of the user (a lost laptop, a leaked script)."""
    user = User.by_email(email)
    if user is None:
        _fail(f"error: no user {email}")
    click.echo(f"revoked {_commit_or_fail(lambda: revoke_tokens(user, actor=Actor.cli()))} token(s) of {user.email}")


@users.command("reset-two-factor")
@click.argument("email")
def users_reset_two_factor(email):
    """Switch off the user's two-step verification and end their sessions (a lost phone, when
    no admin can sign in to do it on the account's page)."""
    user = User.by_email(email)
    if user is None:
        _fail(f"error: no user {email}")
    _commit_or_fail(lambda: reset_two_factor(user, actor=Actor.cli()))
    click.echo(f"two-step verification of {user.email} is off; its sessions were ended")


apikeys = AppGroup("apikeys", help="Keys for integrating systems (Open311 api_key).")


@apikeys.command("create")
@click.argument("name")
def apikeys_create(name):
    """Print a new key for an integrating system (stored hashed: shown only now)."""
    click.echo(_commit_or_fail(lambda: create_api_key(name, actor=Actor.cli())))


units = AppGroup("units", help="Units (OPD, puskesmas, offices).")


@units.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--timezone", default=None, help="Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT).")
@click.option("--working-days", default="12345", show_default=True, help="ISO weekdays, Monday=1.")
@click.option("--cuti-bersama-working", is_flag=True, help="Count cuti bersama as working days.")
@click.option("--parent", help="Code of the unit above this one (next escalation level).")
def units_create(code, name, timezone, working_days, cuti_bersama_working, parent):
    """Create a unit."""
    parent_unit = Unit.by_code(parent.upper()) if parent else None
    if parent and parent_unit is None:
        _fail(f"error: parent: unknown unit {parent}")
    unit = _commit_or_fail(lambda: create_unit(
        code, name, timezone=timezone or current_app.config["PENGADUAN_TIMEZONE"],
        working_days=working_days, cuti_bersama_off=not cuti_bersama_working,
        parent=parent_unit, actor=Actor.cli()))
    click.echo(f"created unit {unit.code} ({unit.timezone})")


categories = AppGroup("categories", help="Complaint categories.")


@categories.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--unit", "units", multiple=True, help="Offered only by these units (repeatable).")
def categories_create(code, name, units):
    """Create a category, for every unit or for the ones named."""
    category = _commit_or_fail(lambda: create_category(code, name, unit_codes=units, actor=Actor.cli()))
    click.echo(f"created category {category.code}" + (f" for {','.join(units)}" if units else " for all units"))


demo = AppGroup("demo", help="Demonstration data.")


@demo.command("seed")
def demo_seed():
    """Create demo units, categories, one account per role and sample complaints (idempotent)."""
    report = unit_of_work.run(seed)
    for line in report:
        click.echo(line)


workflow = AppGroup("workflow", help="Workflow definitions.")


def _load(file):
    try:
        return load_workflow(file or current_app.config["PENGADUAN_WORKFLOW"])
    except WorkflowError as exc:
        _fail(f"error: {exc}")


@workflow.command("check")
@click.argument("file", required=False)
@click.option("--against-db", is_flag=True,
              help="Also refuse a file lacking a state, trigger or clock the database still uses.")
def workflow_check(file, against_db):
    """Validate a workflow file (default: the one in force)."""
    wf = _load(file)
    if against_db:
        with read_only():
            problems = missing_in_use(wf, db.session)
            for warning in unknown_categories(wf, db.session):
                click.echo(f"warning: {wf.path}: {warning}", err=True)
        if problems:
            _fail("\n".join(f"error: {wf.path}: {problem}" for problem in problems))
    click.echo(f"OK {wf.path}: {wf.name} v{wf.version}, {len(wf.states)} states, "
               f"{len(wf.transitions)} transitions, {len(wf.sla)} SLA rules")


@workflow.command("show")
@click.argument("file", required=False)
def workflow_show(file):
    """Print the workflow as a Mermaid state diagram."""
    click.echo(_load(file).to_mermaid(), nl=False)


audit_cli = AppGroup("audit", help="The tamper-evident audit chain.")


def _saved_head(ctx, param, values):
    try:
        return [audit.parse_head(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@audit_cli.command("verify")
@click.option("--expect-head", "expected", multiple=True, callback=_saved_head, metavar="SEQ:HASH",
              help="A head saved earlier (GET /audit/head.json) the chain must still contain.")
@click.option("--pack", "packs", multiple=True, type=click.Path(exists=True, dir_okay=False),
              metavar="FILE.zip", help="An evidence pack whose signed heads the chain must still contain.")
def audit_verify(expected, packs):
    """Verify the whole chain, its chain of signed checkpoints and their age, and that the
    chain still contains every head saved earlier (a truncation or a fork is named)."""
    key = audit.public_key_hex()
    failures = []
    with read_only():  # a long read must not hold SQLite's write lock
        result = audit.verify_chain(db.session, key, max_age=2 * audit.checkpoint_interval())
        if not result.ok:
            failures.append(str(result.problem))
        heads = list(expected)
        for pack in packs:
            try:
                heads += audit.heads_in_pack(pack, key)
            except ValueError as exc:
                failures.append(str(exc))
        problem = audit.check_heads(db.session, heads) if heads else None
        if problem is not None:
            failures.append(str(problem))
    for failure in failures:
        click.echo(f"FAIL {failure}", err=True)
    if failures:
        sys.exit(1)
    click.echo(f"OK {result.count} events head {result.head}")
    if heads:
        newest = max(heads)
        click.echo(f"saved heads contained: {len(set(heads))}, the newest seq {newest[0]} hash {newest[1]}")
    for gap in result.gaps:  # not a failure: downtime looks the same; a saved head tells which
        click.echo(f"NOTE {gap}: the service was down, or checkpoints were removed and signed over "
                   "(check a head saved then with --expect-head)")


@audit_cli.command("checkpoint")
def audit_checkpoint():
    """Sign the current chain head now."""
    cp = unit_of_work.run(lambda: audit.checkpoint(db.session))
    click.echo(f"signed seq {cp.seq} head {cp.hash}" if cp else "head already signed")


sla_cli = AppGroup("sla", help="Statutory time limits.")


@sla_cli.command("due")
@click.option("--start", required=True, help="ISO 8601 start, e.g. 2026-03-17T09:00:00+07:00.")
@click.option("--days", required=True, type=click.IntRange(min=1, max=3660))
@click.option("--unit", "unit_kind", required=True,
              type=click.Choice(["working_days", "calendar_days", "hours"]))
@click.option("--unit-code", help="Use this unit's working week and timezone.")
def sla_due(start, days, unit_kind, unit_code):
    """Print the deadline (ISO 8601) on the first line, then how it was computed."""
    try:
        started = datetime.fromisoformat(start)
    except ValueError:
        _fail("error: --start must be ISO 8601, e.g. 2026-03-17T09:00:00+07:00")
    if not in_calendar(started.date()):
        _fail(f"error: --start must lie between {EARLIEST} and {LATEST}")
    cal = WorkingCalendar.default(current_app.config["PENGADUAN_TIMEZONE"])
    if unit_code:
        unit = Unit.by_code(unit_code.upper())
        if unit is None:
            _fail(f"error: unknown unit {unit_code}")
        cal = WorkingCalendar.for_unit(unit)
    if started.tzinfo is None:
        started = started.replace(tzinfo=cal.tz)
    due, explanation = compute_due(started.astimezone(timezone.utc), days, unit_kind, cal)
    click.echo(due.astimezone(cal.tz).isoformat())
    policy = "cuti bersama off" if cal.cuti_bersama_off else "cuti bersama worked"
    click.echo(f"start {explanation['start']} ({cal.timezone}), {days} {unit_kind}, "
               f"day 0 is the start day; working days {cal.working_days} (ISO, Monday=1), "
               f"{policy}; calendar {cal.version}")
    lines = [(day, "counted") for day in explanation["counted"]]
    lines += [(day, f"skipped: {reason}") for day, reason in explanation["skipped"]]
    lines += [(day, f"not a working day, rolled forward: {reason}")
              for day, reason in explanation["rolled_forward"]]
    for day, what in sorted(lines):
        click.echo(f"  {day} {what}")


@sla_cli.command("sweep")
def sla_sweep():
    """Fire what has come due now (warnings, escalations, reminders, expiries); prints JSON."""
    report = sweep()
    deliver()
    click.echo(json.dumps(report, sort_keys=True))


@sla_cli.command("worker")
def sla_worker():
    """Run the scheduler in this process (production: exactly one such process)."""
    with read_only():
        problems = missing_in_use(current_workflow(), db.session)
    if problems:
        _fail("\n".join(f"error: {current_workflow().path}: {problem}" for problem in problems))
    db.session.remove()  # the check's read ends here; the jobs open their own
    scheduler.run_worker(current_app._get_current_object())


calendar_cli = AppGroup("calendar", help="The working-day calendar and its overrides.")


@calendar_cli.command("list")
@click.option("--year", type=click.IntRange(1970, 2100), help="Default: this year.")
def calendar_list(year):
    """Holidays and cuti bersama of a year, with the overrides, and the calendar version."""
    year = year or default_year()
    click.echo(f"calendar {current_overrides().version}, year {year}")
    for entry in calendar_year(year):
        source = "override" if entry.override else "package"
        note = f" by {entry.override.entered_by}" if entry.override else ""
        click.echo(f"{entry.day.isoformat()} {entry.day.strftime('%a')} {entry.kind:<12} "
                   f"{entry.name} [{source}{note}]" + (" (estimated)" if entry.estimated and
                                                       "(estimated)" not in entry.name else ""))


@calendar_cli.command("add")
@click.argument("day", metavar="DATE")
@click.argument("kind", type=click.Choice(["holiday", "cuti_bersama"]))
@click.option("--reason", required=True, help="The decree or reason, e.g. 'SKB 3 Menteri ...'.")
def calendar_add(day, kind, reason):
    """Make DATE a day off; open deadlines that it affects are recomputed."""
    row, moved = _commit_or_fail(lambda: add_day_off(day, kind, reason, actor=Actor.cli()))
    click.echo(f"{row.day.isoformat()} is now {row.kind} (revision {row.revision}); "
               f"{moved} deadline(s) recomputed")


@calendar_cli.command("remove")
@click.argument("day", metavar="DATE")
@click.option("--reason", required=True, help="The decree or reason.")
def calendar_remove(day, reason):
    """Make DATE a working day; open deadlines that it affects are recomputed."""
    row, moved = _commit_or_fail(lambda: make_working_day(day, reason, actor=Actor.cli()))
    click.echo(f"{row.day.isoformat()} is now a working day (revision {row.revision}); "
               f"{moved} deadline(s) recomputed")


def _period(start: str, end: str):
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        _fail("error: --from and --to must be dates (YYYY-MM-DD)")
    if not (in_calendar(first) and in_calendar(last)):
        _fail(f"error: --from and --to must lie between {EARLIEST} and {LATEST}")
    if last < first:
        _fail("error: --to is before --from")
    return first, last


def _unit_or_all(code):
    if not code:
        return None
    unit = Unit.by_code(code)
    if unit is None:
        _fail(f"error: unknown unit {code}")
    return unit


evidence_cli = AppGroup("evidence", help="Evidence packs for auditors.")


@evidence_cli.command("export")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD.")
@click.option("--unit", "unit_code", help="One unit (default: all units).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The ZIP file to write.")
def evidence_export(start, end, unit_code, out):
    """Write a signed evidence pack for a period (and unit)."""
    first, last = _period(start, end)
    unit = _unit_or_all(unit_code)

    def progress(stage, n):
        click.echo(f"  {stage}: {n}", err=True)

    # Sealed first, so a pack up to now is sealed; the export's own event commits with it.
    manifest = unit_of_work.run(lambda: export_pack(out, first, last, unit, actor=Actor.cli(),
                                                    progress=progress, seal=True))
    counts = ", ".join(f"{k} {v}" for k, v in sorted(manifest["counts"].items()))
    click.echo(f"wrote {out}: {counts}; chain seq {manifest['chain']['first_seq']}-"
               f"{manifest['chain']['last_seq']}; key {manifest['signer']['public_key']}")


@evidence_cli.command("verify")
@click.argument("pack", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", help="Insist on this Ed25519 public key (hex); default: this deployment's.")
def evidence_verify(pack, key):
    """Verify a pack offline (the same check as the standalone verify_pack.py), against this
    deployment's own public key unless another is given: on the server the key is known, so
    a pack signed by any other key fails."""
    sys.exit(verify_pack.main([pack, "--key", key or audit.public_key_hex()]))


report_cli = AppGroup("report", help="Periodic reports.")


@report_cli.command("periodic")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD.")
@click.option("--unit", "unit_code", help="One unit (default: all units).")
@click.option("--format", "fmt", type=click.Choice(["html", "csv", "pdf"]), default="html", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output (required for pdf).")
def report_periodic(start, end, unit_code, fmt, out):
    """The periodic complaint-management report, on standard output (or in --out); without
    --unit, all units with a line per unit."""
    first, last = _period(start, end)
    unit = _unit_or_all(unit_code)
    if fmt == "pdf" and not out:
        raise click.UsageError("--format pdf needs --out FILE.pdf")

    def write_report():
        report = with_lapor(periodic_report(first, last, unit,
                                            overdue_limit=PDF_OVERDUE_LIMIT if fmt == "pdf" else 500))
        if fmt == "csv":
            with open(out, "w", newline="", encoding="utf-8") if out else nullcontext(sys.stdout) as stream:
                writer = spreadsheet.Writer(stream)
                for row in csv_rows(report):
                    writer.writerow(row)
            return
        html = render_template("reports/document.html", report=report, preparer=None)
        if fmt == "pdf":
            try:
                data = write_pdf(html)
            except PdfUnavailable as error:
                raise click.ClickException(f"PDF needs WeasyPrint and Pango: {error}") from error
            with open(out, "wb") as stream:
                stream.write(data)
        else:
            with open(out, "w", encoding="utf-8") if out else nullcontext(sys.stdout) as stream:
                stream.write(html + "\n")

    with read_only():  # one read-only unit of work: SQLite writers are never held up
        unit_of_work.run(write_report)


mail_cli = AppGroup("mail", help="The office's mailbox (PENGADUAN_IMAP_*).")


@mail_cli.command("fetch")
def mail_fetch():
    """Read the mailbox once now, as the worker does; prints JSON counts of what became of it."""
    if not mailbox.configured():
        _fail("error: no mailbox configured (set PENGADUAN_IMAP_HOST)")
    try:
        counts = unit_of_work.run(mailbox.poll)
    except MailboxNotReady as exc:
        _fail(f"error: {exc}")
    except (OSError, ImapToolsError, imaplib.IMAP4.error) as exc:
        _fail(f"error: the mailbox could not be read: {exc}")
    deliver()
    click.echo(json.dumps(counts, sort_keys=True))


skm_cli = AppGroup("skm", help="The Survei Kepuasan Masyarakat (satisfaction survey) and its IKM.")


def _survey_of(unit_code: str, label: str):
    """The unit's survey period written `label`, or exit 1 saying which part is unknown."""
    unit = _unit_or_all(unit_code)
    try:
        label = skm_periods.parse(label).label
    except ValueError:
        _fail(f"error: --period: {label!r} is not a period (2026, 2026-S1 or 2026-Q3)")
    survey = skm_opening.find(unit, label)
    if survey is None:
        _fail(f"error: unit {unit.code} has no survey for {label} (open it, or import its questionnaires)")
    return survey


@skm_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--unit", "unit_code", required=True, help="The unit's code.")
@click.option("--period", "label", required=True, help="2026 (a year), 2026-S1 or 2026-Q3.")
@click.option("--service", "service_type", help="The service of rows that name none (service_type column).")
@click.option("--entered-by", "entered_by", metavar="EMAIL", help="The officer who typed the questionnaires in.")
def skm_import(file, unit_code, label, service_type, entered_by):
    """Import paper questionnaires from a CSV file (columns U1..U9, scores 1 to 4, an empty
    cell unanswered; optional sex, age_band, education, occupation, service_type, suggestion),
    all or nothing, opening the period if the unit has none yet."""
    unit = _unit_or_all(unit_code)
    user = None
    if entered_by:
        user = User.by_email(entered_by)
        if user is None:
            _fail(f"error: --entered-by: no user {entered_by}")
    try:
        result = unit_of_work.run(lambda: import_csv(file, unit, label, actor=Actor.cli(),
                                                     service_type=service_type, entered_by=user))
    except ImportRefused as refused:
        with force_locale("en"):
            lines = [f"error: {file}: nothing was imported"] + [f"  {problem}" for problem in refused.problems]
            if refused.more:
                lines.append(f"  ... and {refused.more} more line(s) with errors")
        _fail("\n".join(lines))
    survey = result.survey
    if result.opened:
        services = ", ".join(survey.service_types or []) or "none named"
        click.echo(f"opened the survey of {unit.code} for {survey.label} (services: {services})")
    click.echo(f"imported {result.imported} paper questionnaire(s) into {unit.code} {survey.label}"
               + (f", {result.skipped_blank} empty line(s) skipped" if result.skipped_blank else "")
               + f"; the period has {result.respondents} respondent(s) now")
    click.echo(f"file sha256 {result.sha256}")


@skm_cli.command("report")
@click.option("--unit", "unit_code", required=True, help="The unit's code.")
@click.option("--period", "label", required=True, help="2026 (a year), 2026-S1 or 2026-Q3.")
@click.option("--service", "service_type", help="One service type (default: every questionnaire).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
def skm_report(unit_code, label, service_type, fmt):
    """The IKM of a unit's survey period: NRR per element, IKM, mutu (json: the contract's shape).
    A period the unit has no survey of its own for (2026) sums the unit's periods within it."""
    with read_only():
        def write():
            unit = _unit_or_all(unit_code)
            try:
                period = skm_periods.parse(label)
            except ValueError:
                _fail(f"error: --period: {label!r} is not a period (2026, 2026-S1 or 2026-Q3)")
            if skm_opening.find(unit, period.label) is None and skm_records.inside(unit, period):
                return _skm_report_combined(unit, period, service_type, fmt)
            survey = _survey_of(unit_code, label)
            sections = dict(skm_records.sections(survey))  # None: every questionnaire
            if service_type not in sections:
                _fail(f"error: --service: {service_type!r} is not a service of this survey "
                      f"({', '.join(survey.service_types or []) or 'none named'})")
            if fmt == "json":
                click.echo(json.dumps(sections[service_type].as_json(survey.unit.code, survey.label)))
            elif fmt == "csv":
                writer = spreadsheet.Writer(sys.stdout)
                writer.writerow(skm_records.RESULT_COLUMNS)
                for row in skm_records.result_rows(survey, service_type):
                    writer.writerow(row)
            else:
                click.echo("\n".join(skm_records.text_lines(survey, service_type)))

        unit_of_work.run(write)


def _skm_report_combined(unit, period, service_type, fmt):
    """The IKM of the unit's survey periods within `period` (a year's quarters), as /statistik
    publishes it: summed from their questionnaires, each counted once."""
    members = skm_records.inside(unit, period)
    services = [s for m in members for s in (m.service_types or [])]
    if service_type is not None and service_type not in services:
        _fail(f"error: --service: {service_type!r} is not a service of the surveys within {period.label} "
              f"({', '.join(dict.fromkeys(services)) or 'none named'})")
    ikm = skm_results.tally([unit.id], period, service_type)
    if fmt == "json":
        click.echo(json.dumps(ikm.as_json(unit.code, period.label)))
    elif fmt == "csv":
        writer = spreadsheet.Writer(sys.stdout)
        writer.writerow(skm_records.RESULT_COLUMNS)
        writer.writerow(skm_records.combined_row(unit, period, service_type, ikm))
    else:
        click.echo("\n".join(skm_records.combined_lines(unit, period, members, ikm, service_type)))


@skm_cli.command("check")
@click.argument("file", required=False)
def skm_check(file):
    """Validate a questionnaire file (default: the one in force); exit 1 naming the key and reason."""
    try:
        wording = skm_questionnaire.load(file)
    except skm_questionnaire.QuestionnaireError as exc:
        _fail(f"error: {exc}")
    path = file or current_app.config["PENGADUAN_SKM_QUESTIONNAIRE"]
    profile = ", ".join(f"{name} ({len(q['options'])} options)" for name, q in wording["profile"].items())
    click.echo(f"OK {path}: {len(wording['elements'])} elements (U1 to U9), profile: {profile or 'none'}")


readiness_cli = AppGroup("readiness", help="Readiness for the assessment (the rule file and every unit's status).")


@readiness_cli.command("check")
@click.argument("file", required=False)
def readiness_check(file):
    """Validate a readiness rule file (default: PENGADUAN_ASSESSMENT_RULES)."""
    try:
        rules = readiness.load(file or readiness.rules_path())
    except readiness.RulesError as exc:
        _fail(f"error: {exc}")
    sources = sorted({e.source for item in rules.items for e in item.evidence})
    click.echo(f"OK {rules.path}: {rules.title['en']} ({rules.applies_to}), {len(rules.items)} items, "
               f"sources: {', '.join(sources)}")


@readiness_cli.command("show")
@click.option("--unit", "unit_code", help="One unit (default: every active unit).")
@click.option("--on", "on", help="The day, YYYY-MM-DD (default: today).")
def readiness_show(unit_code, on):
    """Print readiness.csv: each unit's status per item and piece of evidence."""
    try:
        day = date.fromisoformat(on) if on else local_today(None)
    except ValueError:
        _fail("error: --on must be a date (YYYY-MM-DD)")
    unit = _unit_or_all(unit_code)
    try:
        with read_only():
            units = [unit] if unit else list(db.session.scalars(
                select(Unit).where(Unit.active.is_(True)).order_by(Unit.code)))
            result = readiness.assess(units, day)
            out = spreadsheet.Writer(sys.stdout)
            out.writerow(readiness.CSV_COLUMNS)
            for row in readiness.csv_rows(result):
                out.writerow(row)
    except readiness.RulesError as exc:
        _fail(f"error: {exc}")


statistics_cli = AppGroup("statistics", help="The public figures of /statistik.")


@statistics_cli.command("refresh")
@click.option("--period", "label", help="2026, 2026-S1 or 2026-Q3: that period for every unit and each "
              "unit (default: what the worker would refresh now, without its time limit)")
def statistics_refresh(label):
    """Compute the public figures now, as the worker does; prints JSON of what was done."""
    from .services.surveys.periods import parse

    try:
        only = parse(label) if label else None
    except ValueError as exc:
        _fail(f"error: {exc}")
    click.echo(json.dumps(refresh_statistics(only=only), sort_keys=True))


storage_cli = AppGroup("storage", help="Where attachments are stored (PENGADUAN_STORAGE).")


def _storage_report(report) -> None:
    click.echo(json.dumps(report.counts, sort_keys=True))
    if report.problems:
        _fail("\n".join(f"error: {problem}" for problem in report.problems))


@storage_cli.command("move")
@click.option("--to", "to", required=True, type=click.Choice(storage.KINDS),
              help="The storage to move every file into, from the other one.")
def storage_move(to):
    """Copy every file into the other storage, check its SHA-256, then remove the source."""
    report = storage_transfer.move(to)
    if current_app.config["PENGADUAN_STORAGE"] != to:
        click.echo(f"note: new files are still stored in {current_app.config['PENGADUAN_STORAGE']} "
                   f"storage until PENGADUAN_STORAGE={to} is set and the app restarted", err=True)
    _storage_report(report)


@storage_cli.command("verify")
def storage_verify():
    """Check that every file row has its file, with its SHA-256, in the current storage."""
    with read_only():
        report = storage_transfer.verify()
        db.session.rollback()
    _storage_report(report)


backup_cli = AppGroup("backup", help="Backups that restore: database, attachments, instance secrets.")


@backup_cli.command("create")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              metavar="DIR", help="A new (or empty) folder to write the backup into.")
def backup_create(out):
    """Write one consistent backup of the running service: the database in one snapshot, the
    files its rows name, the instance secrets, and last a manifest (SHA-256 of every file, the
    audit chain head). Exit 1 when a file could not be backed up (the backup says which)."""
    try:
        made = backup.create(out)
    except backup.Failed as exc:
        _fail(f"FAIL {exc}")
    for warning in made.warnings:
        click.echo(f"WARN {warning}", err=True)
    seq, head = made.snapshot.head
    click.echo(f"backup written to {made.directory}: {made.snapshot.kind} database (revision "
               f"{made.snapshot.revision}), {made.files} attachment files ({made.storage} storage), "
               f"{made.size} bytes; audit head seq {seq} hash {head}")
    if made.warnings:
        sys.exit(1)


@backup_cli.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--replace-secrets", is_flag=True,
              help="Replace an instance secret that differs from the backup's (kept beside it).")
@click.option("--hold-mail", is_flag=True,
              help="Hold the restored outbox's unsent mail (a drill: never mail citizens again).")
def backup_restore(directory, replace_secrets, hold_mail):
    """Restore a backup into an empty database (DATABASE_URL), with its files and instance
    secrets, then verify the audit chain against the head in its manifest. Refuses, touching
    nothing, a backup whose files do not match its manifest or a database that is not empty."""
    try:
        done = backup.restore(directory, replace_secrets=replace_secrets, hold_mail=hold_mail)
    except (backup.Refused, backup.Failed) as exc:
        for reason in getattr(exc, "reasons", [str(exc)]):
            click.echo(f"FAIL {reason}", err=True)
        sys.exit(1)
    for note in done.notes:
        click.echo(f"NOTE {note}")
    for failure in done.failures:
        click.echo(f"FAIL {failure}", err=True)
    if not done.ok:
        sys.exit(1)
    said = done.said
    click.echo(f"restored {said['database']['kind']} database (revision {said['database']['alembic_revision']}"
               + (f", upgraded from {done.upgraded_from}" if done.upgraded_from else "")
               + f"), {said['database']['rows'].get('complaints', 0)} complaints, {done.files} "
               f"attachment files, secrets: {', '.join(done.secrets) or 'none replaced'}")
    click.echo(f"OK {done.events} events head {done.head[1]} (seq {done.head[0]}, the manifest's head)")


def init_app(app: Flask) -> None:
    for group in (users, apikeys, units, categories, demo, workflow, audit_cli, sla_cli, calendar_cli,
                  evidence_cli, report_cli, mail_cli, skm_cli,
                  statistics_cli, readiness_cli, storage_cli, backup_cli):
        app.cli.add_command(group)
