"""The policy package is the one place where "who may see / do what" is decided.

The views, the API, the services, the jobs, the commands and the templates ask it; they never
compare a role with a role's name themselves (a test reads their source; templates ask
through `may(...)`). The decisions moved there are checked here one by
one, on plain objects: no database is needed to say who may do what.
"""
from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
from jinja2 import Environment, nodes

from pengaduan.models import STAFF_ROLES, Role
from pengaduan.policy import (Actor, acts_as_complainant, can_administer, can_browse_queue,
                              can_edit_record, can_export_evidence, can_read_reports,
                              can_read_supervision, can_record_supervision, can_review_overdue,
                              can_upload_document, can_view_documents, can_view_record,
                              handles_cases, keeps_every_unit_documents, reads_as_complainant,
                              reads_cases, sees_all_units, sees_every_record)

PACKAGE = Path(__file__).resolve().parent.parent / "pengaduan"
TEMPLATES = PACKAGE.parent / "templates"
ROLE_NAMES = {role.value for role in Role}
COMPARISONS = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)


def _role_literals(node: ast.AST) -> list[str]:
    """Role names written as string literals in an operand: "supervisor", or a tuple, list
    or set of them."""
    if isinstance(node, ast.Constant) and node.value in ROLE_NAMES:
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in ROLE_NAMES]
    return []


def role_decisions(source: str) -> list[tuple[int, str]]:
    """(line, role names) of each comparison with a role's name, and of each SQL `in_()`
    given role names, in the source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(isinstance(op, COMPARISONS) for op in node.ops):
            names = [n for operand in (node.left, *node.comparators) for n in _role_literals(operand)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "in_":
            names = [n for arg in node.args for n in _role_literals(arg)]
        else:
            continue
        if names:
            found.append((node.lineno, ", ".join(names)))
    return found


JINJA_COMPARISONS = {"eq", "ne", "in", "notin"}
ROLE_HOLDERS = {"role", "actor_role"}  # `current_user.role`, `event.actor_role`, a loop's `role`


def _role_holder(node: nodes.Node) -> list[str]:
    if isinstance(node, nodes.Getattr) and node.attr in ROLE_HOLDERS:
        return [f".{node.attr}"]
    if isinstance(node, nodes.Name) and node.name in ROLE_HOLDERS:
        return [node.name]
    return []


def _role_names(node: nodes.Node) -> list[str]:
    """Role names written in a template operand: "officer", or a tuple or list of them."""
    if isinstance(node, nodes.Const) and node.value in ROLE_NAMES:
        return [node.value]
    if isinstance(node, (nodes.Tuple, nodes.List)):
        return [e.value for e in node.items if isinstance(e, nodes.Const) and e.value in ROLE_NAMES]
    return []


def _of_the_request(node: nodes.Node) -> bool:
    """`request.blueprint`, `request.endpoint`: route names, one of which ("admin") is also a
    role's name."""
    while isinstance(node, nodes.Getattr):
        node = node.node
    return isinstance(node, nodes.Name) and node.name == "request"


def template_role_decisions(source: str) -> list[tuple[int, str]]:
    """(line, what) of each comparison in a Jinja template of a role (with anything) or of
    anything but the request's route with a role's name."""
    env = Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do", "jinja2.ext.loopcontrols"])
    found = []
    for node in env.parse(source).find_all(nodes.Compare):
        if not any(op.op in JINJA_COMPARISONS for op in node.ops):
            continue
        operands = [node.expr, *(op.expr for op in node.ops)]
        names = [n for operand in operands for n in _role_holder(operand)]
        if not any(_of_the_request(operand) for operand in operands):
            names += [n for operand in operands for n in _role_names(operand)]
        if names:
            found.append((node.lineno, ", ".join(names)))
    return found


def _python_sources():
    """Everything that asks the policy: views, API, request plumbing, services, jobs, evidence
    packs and the commands."""
    for folder in ("web", "api", "http", "services", "jobs", "evidence"):
        yield from sorted((PACKAGE / folder).rglob("*.py"))
    yield PACKAGE / "cli.py"


def test_views_api_services_jobs_and_commands_leave_role_decisions_to_the_policy():
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line}: {names}"
                 for path in _python_sources()
                 for line, names in role_decisions(path.read_text(encoding="utf-8"))]
    assert offenders == [], "compare roles in pengaduan/policy, not here:\n" + "\n".join(offenders)


def test_templates_ask_the_policy_instead_of_comparing_roles():
    templates = sorted(TEMPLATES.rglob("*.html")) + sorted(TEMPLATES.rglob("*.txt"))
    assert len(templates) > 20  # the check reads the templates folder, not an empty one
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line}: {names}"
                 for path in templates
                 for line, names in template_role_decisions(path.read_text(encoding="utf-8"))]
    assert offenders == [], "ask may(...) (pengaduan/web/auth.py), not the role:\n" + "\n".join(offenders)


@pytest.mark.parametrize("source", [
    '{% if current_user.role == "admin" %}x{% endif %}',
    '{% if current_user.role in ("officer", "supervisor", "auditor") %}x{% endif %}',
    '{{ _("Complaint queue") if current_user.role != "auditor" else _("Complaints") }}',
    '{% if "supervisor" == user.role %}x{% elif u.role not in ["admin"] %}y{% endif %}',
    '{% if event.actor_role == kind %}x{% endif %}',
    '{% for role in roles %}{% if role == "admin" %}x{% endif %}{% endfor %}',
    '{% set wide = kind in ("officer", "auditor") %}',
])
def test_the_template_check_sees_a_role_compared(source):
    assert template_role_decisions(source)


@pytest.mark.parametrize("source", [
    '{% if may("administer") %}x{% endif %}',
    '{{ role_label(current_user.role) }}',
    '{{ {"citizen": _("complainant"), "system": _("system")}.get(event.actor_role) }}',
    '{% if request.endpoint == "citizen.track" %}x{% endif %}',
    '{% set staff_page = request.blueprint in ("staff", "reporting", "supervision", "admin") %}',
    '{{ select("role", _("Role"), roles, typed.get("role", "officer"), errors) }}',
])
def test_the_template_check_lets_the_rest_be(source):
    assert template_role_decisions(source) == []


@pytest.mark.parametrize("source", [
    'if current_user.role != "admin": pass',
    'allowed = user.role in ("officer", "supervisor")',
    'x = "auditor" == actor.role',
    'q = select(User).where(User.role.in_(("officer", "supervisor")))',
])
def test_the_source_check_sees_a_role_compared_by_name(source):
    assert role_decisions(source)


@pytest.mark.parametrize("source", [
    'if actor.role == Role.ADMIN: pass',
    'bp = Blueprint("citizen", __name__)',
    'texts = {"citizen": "Terima kasih."}',
    'if request.endpoint == "citizen.track": pass',
])
def test_the_source_check_lets_the_rest_be(source):
    assert role_decisions(source) == []


def test_the_policy_reads_models_only():
    """Policy may import models, errors and extensions; never services or web."""
    allowed = {"models", "errors", "extensions"}
    wrong = []
    for path in sorted((PACKAGE / "policy").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                top = (node.module or "").split(".")[0]
                if top not in allowed:
                    wrong.append(f"{path.name}: from {'.' * node.level}{node.module}")
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("pengaduan"):
                wrong.append(f"{path.name}: from {node.module}")
    assert wrong == []


# --- roles and actors ------------------------------------------------------------------------

def test_roles_equal_the_names_stored_in_the_database():
    assert [str(role) for role in Role] == ["citizen", "officer", "supervisor", "auditor", "admin", "system"]
    assert Role.OFFICER == "officer" and "supervisor" in (Role.OFFICER, Role.SUPERVISOR)
    assert list(STAFF_ROLES) == ["officer", "supervisor", "auditor", "admin"]
    assert [handles_cases(r) for r in ("officer", "supervisor", "auditor", "admin", "citizen")] == [
        True, True, False, False, False]
    assert [reads_cases(r) for r in ("officer", "supervisor", "auditor", "admin", None)] == [
        True, True, True, False, False]


def staff(role: str, user_id: int = 1, units=(1,), overseen=None) -> Actor:
    user = SimpleNamespace(id=user_id, email=f"{role}@example.id", role=role, unit_ids=set(units),
                           overseen_unit_ids=set(overseen if overseen is not None else units))
    return Actor(role=Role(role), user=user)


def test_each_actor_appears_in_the_audit_chain_as_before():
    officer = staff("officer", 7)
    assert officer.label == "user:7:officer@example.id"
    assert officer.via("walk_in").label == "user:7:officer@example.id"
    assert officer.via("walk_in").intake == "walk_in" and officer.via("walk_in").role == "officer"
    assert Actor.channel("web").label == "citizen"  # a complainant filing online
    assert [Actor.channel(c).label for c in ("api", "open311", "phone")] == [
        "channel:api", "channel:open311", "channel:phone"]
    assert Actor.channel("api").role == Role.CITIZEN and Actor.channel("api").intake == "api"
    assert Actor.cli().label == "cli" and Actor.cli("demo").label == "demo"
    assert Actor.cli().role == Role.SYSTEM
    assert Actor.system().label == "system"
    assert Actor.citizen(SimpleNamespace(id=3)).label == "citizen"


# --- decisions moved into the policy ---------------------------------------------------------

ROLES = ("officer", "supervisor", "auditor", "admin")


def test_who_reads_reports_exports_evidence_and_reviews_what_is_late():
    actors = [staff(role) for role in ROLES]
    assert [can_read_reports(a) for a in actors] == [True, True, True, False]
    assert [can_export_evidence(a) for a in actors] == [False, True, True, False]
    assert [can_review_overdue(a) for a in actors] == [False, True, False, False]
    assert [can_browse_queue(a) for a in actors] == [True, True, True, False]
    assert [can_administer(a) for a in actors] == [False, False, False, True]
    assert [sees_all_units(a.user) for a in actors] == [False, False, True, True]
    for somebody in (Actor.system(), Actor.cli(), Actor.channel("web"), Actor.citizen(SimpleNamespace(id=1))):
        assert not (can_read_reports(somebody) or can_export_evidence(somebody)
                    or can_review_overdue(somebody) or can_administer(somebody))


def record(units=(1,), supervisor_id=2):
    return SimpleNamespace(units=[SimpleNamespace(id=u) for u in units], supervisor_id=supervisor_id)


def test_who_reads_and_keeps_supervision_records():
    officer, supervisor, auditor, admin = (staff(role, i) for i, role in enumerate(ROLES, 1))
    assert [can_read_supervision(a) for a in (officer, supervisor, auditor, admin)] == [True, True, True, False]
    assert [can_record_supervision(a) for a in (officer, supervisor, auditor, admin)] == [False, True, False, False]
    assert [sees_every_record(a) for a in (officer, supervisor, auditor, admin)] == [False, False, True, False]
    mine, elsewhere = record((1,)), record((9,))
    assert [can_view_record(a, mine) for a in (officer, supervisor, auditor, admin)] == [True, True, True, False]
    assert [can_view_record(a, elsewhere) for a in (officer, supervisor, auditor, admin)] == [False, False, True, False]
    # Supervisors change what they led while still over one of its units, or what lies
    # wholly under them; nobody else changes records.
    assert can_edit_record(supervisor, record((1, 9), supervisor_id=2))
    assert not can_edit_record(supervisor, record((1, 9), supervisor_id=5))
    assert can_edit_record(staff("supervisor", 5, units=(1,), overseen=(1, 9)), record((1, 9), supervisor_id=2))
    assert not can_edit_record(supervisor, record((9,), supervisor_id=2))
    assert not any(can_edit_record(a, mine) for a in (officer, auditor, admin))


def test_who_keeps_and_reads_standing_documents():
    officer, supervisor, auditor, admin = (staff(role, i) for i, role in enumerate(ROLES, 1))
    mine, elsewhere = SimpleNamespace(id=1), SimpleNamespace(id=9)
    assert [keeps_every_unit_documents(a) for a in (officer, supervisor, auditor, admin)] == [
        False, False, False, True]
    assert [can_upload_document(a, mine) for a in (officer, supervisor, auditor, admin)] == [False, True, False, True]
    assert [can_upload_document(a, elsewhere) for a in (officer, supervisor, auditor, admin)] == [
        False, False, False, True]
    assert [can_view_documents(a, mine) for a in (officer, supervisor, auditor, admin)] == [True, True, True, True]
    assert [can_view_documents(a, elsewhere) for a in (officer, supervisor, auditor, admin)] == [
        False, False, True, True]


def test_only_the_complainant_acts_as_the_complainant():
    complaint = SimpleNamespace(id=4, unit_id=1, privacy="public")
    assert acts_as_complainant(Actor.citizen(complaint), complaint)
    assert not acts_as_complainant(Actor.citizen(SimpleNamespace(id=5)), complaint)
    assert not acts_as_complainant(Actor.channel("web"), complaint)
    assert not acts_as_complainant(Actor.system(), complaint)  # sees everything, rates nothing
    assert not any(acts_as_complainant(staff(role), complaint) for role in ROLES)


def test_complainants_read_the_public_view_and_staff_the_file():
    complaint = SimpleNamespace(id=4, unit_id=1, privacy="public")
    assert reads_as_complainant(Actor.citizen(complaint))
    assert reads_as_complainant(Actor.channel("api"))  # filing as a complainant, no code yet
    assert not reads_as_complainant(Actor.system()) and not reads_as_complainant(Actor.cli())
    assert not any(reads_as_complainant(staff(role)) for role in ROLES)
