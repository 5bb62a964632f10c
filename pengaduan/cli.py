"""Command groups for `flask --app run ...` (design.md section 4)."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import audit
from .database import read_only
from .errors import InvalidFields
from .extensions import db
from .models import Unit, User
from .sla import WorkingCalendar, compute_due
from .workflow import WorkflowError, current_workflow, load_workflow


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _commit_or_fail(fn):
    """Run a service, commit, and turn invalid input into a clear message and exit 1."""
    try:
        result = fn()
        db.session.commit()
        return result
    except InvalidFields as exc:
        db.session.rollback()
        _fail("error: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items()))


users = AppGroup("users", help="Staff accounts.")


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["officer", "supervisor", "auditor", "admin"]))
@click.option("--unit", "units", multiple=True, help="Unit code (repeatable).")
@click.option("--name", help="Display name (default: the part of the email before @).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email, role, units, name, password_stdin):
    """Create a user; prints a generated password unless --password-stdin is given."""
    from .services import create_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    user, generated = _commit_or_fail(
        lambda: create_user(email, role, name=name, password=password, unit_codes=units, actor="cli"))
    click.echo(f"created {user.role} {user.email}" + (f" units {','.join(units)}" if units else ""))
    if generated:
        click.echo(f"password: {generated}")


@users.command("token")
@click.argument("email")
def users_token(email):
    """Print a new API token for the user (stored hashed: it is shown only now)."""
    from .services import issue_token

    user = User.by_email(email)
    if user is None:
        _fail(f"error: no user {email}")
    click.echo(_commit_or_fail(lambda: issue_token(user, actor="cli")))


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
    from .services import create_unit

    parent_unit = Unit.by_code(parent.upper()) if parent else None
    if parent and parent_unit is None:
        _fail(f"error: parent: unknown unit {parent}")
    unit = _commit_or_fail(lambda: create_unit(
        code, name, timezone=timezone or current_app.config["PENGADUAN_TIMEZONE"],
        working_days=working_days, cuti_bersama_off=not cuti_bersama_working,
        parent=parent_unit, actor="cli"))
    click.echo(f"created unit {unit.code} ({unit.timezone})")


categories = AppGroup("categories", help="Complaint categories.")


@categories.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--unit", "units", multiple=True, help="Offered only by these units (repeatable).")
def categories_create(code, name, units):
    """Create a category, for every unit or for the ones named."""
    from .services import create_category

    category = _commit_or_fail(lambda: create_category(code, name, unit_codes=units, actor="cli"))
    click.echo(f"created category {category.code}" + (f" for {','.join(units)}" if units else " for all units"))


demo = AppGroup("demo", help="Demonstration data.")


@demo.command("seed")
def demo_seed():
    """Create demo units, categories, one account per role and sample complaints (idempotent)."""
    from .services.demo import seed

    report = seed()
    db.session.commit()
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
def workflow_check(file):
    """Validate a workflow file (default: the one in force)."""
    wf = _load(file)
    click.echo(f"OK {wf.path}: {wf.name} v{wf.version}, {len(wf.states)} states, "
               f"{len(wf.transitions)} transitions, {len(wf.sla)} SLA rules")


@workflow.command("show")
@click.argument("file", required=False)
def workflow_show(file):
    """Print the workflow as a Mermaid state diagram."""
    click.echo(_load(file).to_mermaid(), nl=False)


audit_cli = AppGroup("audit", help="The tamper-evident audit chain.")


@audit_cli.command("verify")
def audit_verify():
    """Verify the whole chain and its signed checkpoints."""
    with read_only():  # a long read must not hold SQLite's write lock
        result = audit.verify_chain(db.session, audit.public_key_hex())
    if not result.ok:
        _fail(f"FAIL {result.problem}")
    click.echo(f"OK {result.count} events head {result.head}")


@audit_cli.command("checkpoint")
def audit_checkpoint():
    """Sign the current chain head now."""
    cp = audit.checkpoint(db.session)
    db.session.commit()
    click.echo(f"signed seq {cp.seq} head {cp.hash}" if cp else "head already signed")


sla_cli = AppGroup("sla", help="Statutory time limits.")


@sla_cli.command("due")
@click.option("--start", required=True, help="ISO 8601 start, e.g. 2026-03-17T09:00:00+07:00.")
@click.option("--days", required=True, type=click.IntRange(min=1))
@click.option("--unit", "unit_kind", required=True,
              type=click.Choice(["working_days", "calendar_days", "hours"]))
@click.option("--unit-code", help="Use this unit's working week and timezone.")
def sla_due(start, days, unit_kind, unit_code):
    """Print the deadline (ISO 8601) on the first line, then how it was computed."""
    try:
        started = datetime.fromisoformat(start)
    except ValueError:
        _fail("error: --start must be ISO 8601, e.g. 2026-03-17T09:00:00+07:00")
    cal = WorkingCalendar(timezone=current_app.config["PENGADUAN_TIMEZONE"])
    if unit_code:
        unit = Unit.by_code(unit_code.upper())
        if unit is None:
            _fail(f"error: unknown unit {unit_code}")
        cal = WorkingCalendar.for_unit(unit)
    if started.tzinfo is None:
        started = started.replace(tzinfo=cal.tz)
    due, explanation = compute_due(started.astimezone(timezone.utc), days, unit_kind, cal)
    click.echo(due.astimezone(cal.tz).isoformat())
    click.echo(f"start {explanation['start']} ({cal.timezone}), {days} {unit_kind}, "
               f"day 0 is the start day; calendar {cal.version}")
    lines = [(day, "counted") for day in explanation["counted"]]
    lines += [(day, f"skipped: {reason}") for day, reason in explanation["skipped"]]
    lines += [(day, f"not a working day, rolled forward: {reason}")
              for day, reason in explanation["rolled_forward"]]
    for day, what in sorted(lines):
        click.echo(f"  {day} {what}")


@sla_cli.command("worker")
def sla_worker():
    """Run the scheduler in this process (production: exactly one such process)."""
    from .scheduler import run_worker

    run_worker(current_app._get_current_object())


def init_app(app: Flask) -> None:
    for group in (users, units, categories, demo, workflow, audit_cli, sla_cli):
        app.cli.add_command(group)
