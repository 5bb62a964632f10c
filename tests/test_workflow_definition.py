"""The workflow loader: the shipped definition, every mistake it refuses, the CLI, the machine."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from transitions import MachineError

from pengaduan.workflow import current_workflow
from pengaduan.workflow.definition import WorkflowError, load_workflow, parse_workflow

SHIPPED = Path(__file__).resolve().parent.parent / "workflows" / "perpres76.yaml"
BASE = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
FILE = "broken.yaml"
TERMINAL_WITHOUT_REASON = (
    "a transition into terminal state 'closed' needs a closure_reason, or "
    "closure_reasons with 'closure_reason' among the required fields"
)
MISSING_LANGUAGE = "a label is required in every language (id, en)"


def definition() -> dict:
    """A fresh deep copy of the shipped definition, ready to be broken in one place."""
    return copy.deepcopy(BASE)


def pos(trigger: str) -> int:
    """The index of a trigger in the shipped transitions list."""
    return next(i for i, t in enumerate(BASE["transitions"]) if t["trigger"] == trigger)


def spec(data: dict, trigger: str) -> dict:
    """The transition spec for a trigger inside a (copied) definition."""
    return data["transitions"][pos(trigger)]


def refusal(data) -> WorkflowError:
    """Parse a definition that must be refused; return the error."""
    with pytest.raises(WorkflowError) as info:
        parse_workflow(data, FILE)
    assert info.value.file == FILE
    return info.value


def assert_refused(data, key: str, reason: str) -> None:
    """The definition is refused at exactly this key for exactly this reason."""
    error = refusal(data)
    assert (error.key, error.reason) == (key, reason)
    assert str(error) == f"{FILE}: {key}: {reason}"


@pytest.fixture(scope="module")
def shipped():
    return load_workflow(SHIPPED)


# --- 1. The shipped definition -------------------------------------------------------------


def test_base_copy_is_valid():
    """An unmodified copy parses, so every refusal below is caused by its one mutation."""
    assert parse_workflow(definition(), FILE).name == "perpres76"


def test_shipped_states(shipped):
    """Six states (one for a follow-up under a supervisor's review), starting at received,
    with closed as the only terminal one."""
    assert list(shipped.states) == ["received", "awaiting_info", "verified", "follow_up_review",
                                    "followed_up", "closed"]
    assert shipped.initial == "received"
    assert [s.name for s in shipped.states.values() if s.terminal] == ["closed"]
    assert shipped.states["verified"].label == {"id": "Terverifikasi", "en": "Verified"}
    assert shipped.path == str(SHIPPED)


def test_shipped_main_path(shipped):
    """received -> verified -> followed_up -> closed through verify, follow_up, close."""
    state = shipped.initial
    visited = [state]
    for trigger in ("verify", "follow_up", "close"):
        transition = shipped.transition(trigger)
        assert state in transition.sources
        state = transition.dest
        visited.append(state)
    assert visited == ["received", "verified", "followed_up", "closed"]
    assert shipped.is_terminal(state)


STAFF = ("officer", "supervisor")  # supervisors may do whatever officers do in their units


@pytest.mark.parametrize("trigger, sources, dest, roles", [
    ("verify", ("received",), "verified", STAFF),
    ("request_info", ("received",), "awaiting_info", STAFF),
    ("provide_info", ("awaiting_info",), "received", ("citizen",)),
    ("expire_info", ("awaiting_info",), "closed", ("system",)),
    ("reject", ("received",), "closed", STAFF),
    ("reassign", ("verified",), "verified", STAFF),
    ("follow_up", ("verified",), "followed_up", STAFF),
    ("close", ("followed_up",), "closed", STAFF),
    ("accept", ("followed_up",), "closed", ("citizen",)),
    ("dispute", ("followed_up",), "verified", ("citizen",)),
    ("auto_close", ("followed_up",), "closed", ("system",)),
    ("withdraw", ("received", "awaiting_info", "verified", "follow_up_review"), "closed", ("citizen",)),
    ("reopen", ("closed",), "verified", ("supervisor",)),
    ("propose_follow_up", ("verified",), "follow_up_review", STAFF),
    ("approve_follow_up", ("follow_up_review",), "followed_up", ("supervisor",)),
    ("return_follow_up", ("follow_up_review",), "verified", ("supervisor",)),
])
def test_shipped_paths_of_domain_section_3(shipped, trigger, sources, dest, roles):
    """Every path of the lifecycle table has the right sources, destination and roles."""
    t = shipped.transition(trigger)
    assert t is not None, f"missing trigger {trigger}"
    assert (t.sources, t.dest, t.roles) == (sources, dest, roles)


def test_shipped_has_no_transitions_beyond_the_table(shipped):
    """The shipped file defines exactly the thirteen triggers of the lifecycle table and the
    three of the verification of follow-up."""
    assert [t.trigger for t in shipped.transitions] == [
        "verify", "request_info", "provide_info", "expire_info", "reject", "reassign",
        "follow_up", "propose_follow_up", "approve_follow_up", "return_follow_up",
        "close", "accept", "dispute", "auto_close", "withdraw", "reopen",
    ]


@pytest.mark.parametrize("trigger, required", [
    ("verify", {"unit", "category", "classification"}),
    ("request_info", {"message"}),
    ("reject", {"reason", "closure_reason"}),
    ("reassign", {"unit", "reason"}),
    ("follow_up", {"response"}),
    ("close", {"resolution"}),
    ("reopen", {"reason"}),
])
def test_shipped_required_fields(shipped, trigger, required):
    """The fields the lifecycle table says each step needs are required."""
    assert required <= set(shipped.transition(trigger).requires)


def test_shipped_closure_reasons(shipped):
    """Every way into closed carries the closure reason of the domain."""
    fixed = {t.trigger: t.closure_reason for t in shipped.transitions if t.dest == "closed"}
    assert fixed == {
        "expire_info": "deemed_withdrawn", "reject": None, "close": "resolved",
        "accept": "resolved", "auto_close": "auto_closed", "withdraw": "withdrawn",
    }
    assert shipped.transition("reject").closure_reasons == ("rejected", "referred", "duplicate")
    assert set(shipped.closure_reasons) == {
        "resolved", "rejected", "referred", "duplicate", "withdrawn", "deemed_withdrawn",
        "auto_closed",
    }
    assert list(shipped.classifications) == ["pengaduan", "aspirasi", "permintaan_informasi"]


def test_shipped_reopen_and_internal_flags(shipped):
    """Only reopen leaves closed; only reassign stays in place."""
    assert [t.trigger for t in shipped.transitions if t.reopen] == ["reopen"]
    assert [t.trigger for t in shipped.transitions if t.sources == (t.dest,)] == ["reassign"]
    assert not shipped.transition("reassign").public


def test_shipped_clock_hooks(shipped):
    """verify starts the resolution clock (reopen resumes it), awaiting_info pauses it, silence fires system triggers."""
    resolution = [rule for rule in shipped.sla.values() if rule.track == "resolution"]
    assert [(r.name, r.start, r.amount, r.unit, r.restart) for r in resolution] == [
        ("resolution", ("verify", "reopen"), 60, "calendar_days", False)]
    assert shipped.sla["verification"].pause_in == ("awaiting_info",)
    assert shipped.sla["info_window"].on_expiry == "expire_info"
    assert shipped.sla["reply_window"].on_expiry == "auto_close"


# --- 2. Mistakes refused ------------------------------------------------------------------


def test_unknown_source_state():
    """A transition from a state that does not exist is refused at its source."""
    data = definition()
    spec(data, "verify")["source"] = "registered"
    assert_refused(data, f"transitions[{pos('verify')}].source", "unknown state 'registered'")


def test_unknown_source_state_in_a_list():
    """A typo inside a list of sources is refused too."""
    data = definition()
    spec(data, "withdraw")["source"] = ["received", "awaiting_info", "verifed"]
    assert_refused(data, f"transitions[{pos('withdraw')}].source", "unknown state 'verifed'")


def test_unknown_dest_state():
    """A transition into a state that does not exist is refused at its dest."""
    data = definition()
    spec(data, "follow_up")["dest"] = "followedup"
    assert_refused(data, f"transitions[{pos('follow_up')}].dest", "unknown state 'followedup'")


def test_unknown_initial_state():
    """The initial state must be one of the states."""
    data = definition()
    data["initial"] = "new"
    assert_refused(data, "initial", "unknown state 'new'")


def test_unreachable_state():
    """Without request_info nothing leads to awaiting_info."""
    data = definition()
    del data["transitions"][pos("request_info")]
    assert_refused(data, "states.awaiting_info",
                   "unreachable from the initial state 'received'")


def test_terminal_state_with_ordinary_outgoing_transition():
    """Leaving closed without `reopen: true` is refused."""
    data = definition()
    del spec(data, "reopen")["reopen"]
    assert_refused(
        data, f"transitions[{pos('reopen')}].source",
        "terminal state 'closed' has an outgoing transition "
        "(only a transition marked 'reopen: true' may leave a terminal state)",
    )


def test_reopen_flag_on_a_transition_out_of_a_non_terminal_state():
    """`reopen: true` only makes sense when leaving a terminal state."""
    data = definition()
    spec(data, "dispute")["reopen"] = True
    assert_refused(data, f"transitions[{pos('dispute')}].reopen",
                   "only transitions out of terminal states reopen")


def test_trigger_without_roles():
    """An empty role list would make a trigger nobody may fire."""
    data = definition()
    spec(data, "verify")["roles"] = []
    assert_refused(data, f"transitions[{pos('verify')}].roles",
                   "a transition needs at least one role")


def test_unknown_role():
    """Roles are the fixed set of the app."""
    data = definition()
    spec(data, "reopen")["roles"] = ["kepala_unit"]
    assert_refused(data, f"transitions[{pos('reopen')}].roles", "unknown role 'kepala_unit'")


def test_unknown_required_field():
    """A required field must be one the field registry knows."""
    data = definition()
    spec(data, "verify")["requires"] = ["unit", "category", "classification", "unit_code"]
    assert_refused(data, f"transitions[{pos('verify')}].requires", "unknown field 'unit_code'")


def test_unknown_accepted_field():
    """An accepted field must be one the field registry knows."""
    data = definition()
    spec(data, "accept")["accepts"] = ["rating", "stars"]
    assert_refused(data, f"transitions[{pos('accept')}].accepts", "unknown field 'stars'")


def test_unknown_guard():
    """Guards are named functions in the guard registry."""
    data = definition()
    spec(data, "reassign")["guards"] = ["unit_changes", "unit_is_active"]
    assert_refused(data, f"transitions[{pos('reassign')}].guards",
                   "unknown guard 'unit_is_active'")


def test_duplicate_trigger():
    """A trigger name may be defined once; the second definition is named."""
    data = definition()
    spec(data, "accept")["trigger"] = "close"
    assert_refused(data, f"transitions[{pos('accept')}].trigger",
                   f"'close' is already defined at transitions[{pos('close')}]")


@pytest.mark.parametrize("name", ["query", "metadata", "registry", "state", "trigger", "file",
                                  "title", "closure_reason", "by_code"])
def test_reserved_trigger_name(name):
    """Trigger names that would shadow the model (or the `file` pseudo-trigger) are refused."""
    data = definition()
    spec(data, "reopen")["trigger"] = name
    assert_refused(data, f"transitions[{pos('reopen')}].trigger",
                   f"'{name}' is reserved (it would shadow a model attribute)")


def test_transition_into_terminal_state_without_closure_reason():
    """close without its fixed closure reason would leave the reason unknown."""
    data = definition()
    del spec(data, "close")["closure_reason"]
    assert_refused(data, f"transitions[{pos('close')}]", TERMINAL_WITHOUT_REASON)


def test_closure_reason_choice_without_requiring_the_field():
    """A list of closure reasons needs the closure_reason field to be required."""
    data = definition()
    spec(data, "reject")["requires"] = ["reason"]
    assert_refused(data, f"transitions[{pos('reject')}]", TERMINAL_WITHOUT_REASON)


def test_closure_reason_on_a_non_terminal_destination():
    """Only transitions into a terminal state may carry a closure reason."""
    data = definition()
    spec(data, "follow_up")["closure_reason"] = "resolved"
    assert_refused(data, f"transitions[{pos('follow_up')}]",
                   "only transitions into a terminal state carry closure reasons")


def test_unknown_fixed_closure_reason():
    """A fixed closure reason must be declared under closure_reasons."""
    data = definition()
    spec(data, "close")["closure_reason"] = "solved"
    assert_refused(data, f"transitions[{pos('close')}].closure_reason",
                   "unknown closure reason 'solved'")


def test_unknown_closure_reason_in_a_choice():
    """Every closure reason offered to the officer must be declared."""
    data = definition()
    spec(data, "reject")["closure_reasons"] = ["rejected", "referred", "dup"]
    assert_refused(data, f"transitions[{pos('reject')}].closure_reasons",
                   "unknown closure reason 'dup'")


def test_system_transition_requiring_input():
    """The system cannot type a message."""
    data = definition()
    spec(data, "expire_info")["requires"] = ["message"]
    assert_refused(data, f"transitions[{pos('expire_info')}].requires",
                   "a system transition cannot require input")


def test_sla_unknown_unit():
    """SLA units are working_days, calendar_days or hours."""
    data = definition()
    data["sla"]["verification"]["unit"] = "business_days"
    assert_refused(data, "sla.verification.unit",
                   "unknown unit 'business_days' (use one of working_days, calendar_days, hours)")


@pytest.mark.parametrize("amount", [0, -5, 1.5, "60", True])
def test_sla_amount_must_be_a_positive_whole_number(amount):
    """Zero, negative, fractional, textual and boolean amounts are refused."""
    data = definition()
    data["sla"]["resolution"]["amount"] = amount
    assert_refused(data, "sla.resolution.amount", "must be a positive whole number")


def test_sla_unknown_start_trigger():
    """A clock starts on a trigger (or `file`), not on a state name."""
    data = definition()
    data["sla"]["first_follow_up"]["start"] = ["verified"]
    assert_refused(data, "sla.first_follow_up.start", "unknown trigger 'verified'")


@pytest.mark.parametrize("stop", ["closed", "file"])
def test_sla_unknown_stop_trigger(stop):
    """A clock stops on a real trigger; `file` only starts clocks."""
    data = definition()
    data["sla"]["reply_window"]["stop"] = ["accept", "dispute", stop]
    assert_refused(data, "sla.reply_window.stop", f"unknown trigger '{stop}'")


def test_sla_unknown_pause_state():
    """A clock pauses in declared states only."""
    data = definition()
    data["sla"]["verification"]["pause_in"] = ["awaiting_information"]
    assert_refused(data, "sla.verification.pause_in", "unknown state 'awaiting_information'")


def test_sla_on_expiry_trigger_the_system_may_not_fire():
    """The sweep fires on_expiry as `system`, so the trigger must allow that role."""
    data = definition()
    data["sla"]["reply_window"]["on_expiry"] = "close"
    assert_refused(data, "sla.reply_window.on_expiry", "'close' must allow the role 'system'")


def test_sla_on_expiry_unknown_trigger():
    """on_expiry must name a defined trigger."""
    data = definition()
    data["sla"]["reply_window"]["on_expiry"] = "auto_closed"
    assert_refused(data, "sla.reply_window.on_expiry", "unknown trigger 'auto_closed'")


def test_sla_two_resolution_clocks():
    """A complaint has one resolution deadline."""
    data = definition()
    data["sla"]["response"]["track"] = "resolution"
    assert_refused(data, "sla", "at most one rule may track the resolution")


def test_shipped_lapor_limits_run_only_for_lapor_complaints(shipped):
    """SP4N-LAPOR!'s limits (PermenPANRB 5/2025): the first answer 5 working days from its
    disposition, the complainant's reply 10 working days; the generic reply window skips them."""
    follow_up, reply = shipped.sla["lapor_follow_up"], shipped.sla["lapor_reply_window"]
    assert (follow_up.amount, follow_up.unit, follow_up.start, follow_up.counting_from) == (
        5, "working_days", ("file",), "lapor_disposed_at")
    assert (reply.amount, reply.unit, reply.on_expiry) == (10, "working_days", "auto_close")
    assert follow_up.applies_to("sp4n_lapor") and not follow_up.applies_to("web")
    assert not shipped.sla["reply_window"].applies_to("sp4n_lapor")
    assert shipped.sla["reply_window"].applies_to("web") and shipped.sla["verification"].applies_to("sp4n_lapor")


@pytest.mark.parametrize("option", ["channels", "except_channels"])
def test_sla_unknown_channel(option):
    """A clock for some channels names channels that exist."""
    data = definition()
    data["sla"]["response"][option] = ["web", "telegram"]
    assert_refused(data, f"sla.response.{option}", "unknown channel 'telegram' (use one of "
                   "web, api, open311, walk_in, phone, letter, email, whatsapp, sms, "
                   "social_media, complaint_box, sp4n_lapor, other)")


def test_sla_channels_and_except_channels_together_or_empty():
    data = definition()
    data["sla"]["response"].update(channels=["web"], except_channels=["sms"])
    assert_refused(data, "sla.response", "give either channels or except_channels, not both")
    data = definition()
    data["sla"]["response"]["channels"] = []
    assert_refused(data, "sla.response.channels", "name at least one channel")


def test_sla_unknown_counting_from_field():
    """A clock counts from one of the complaint's known dates, not any attribute."""
    data = definition()
    data["sla"]["response"]["counting_from"] = "pin_hash"
    assert_refused(data, "sla.response.counting_from", "unknown date field 'pin_hash' of a "
                   "complaint (use one of received_at, lapor_received_at, lapor_disposed_at, lapor_posted)")


def test_lapor_posted_counts_from_a_step_and_ships_on_lapors_reply_window(shipped):
    """`counting_from: lapor_posted` (from the posting to LAPOR! of the answer its step gave)
    needs a clock started by steps; the shipped LAPOR! reply window uses it."""
    assert shipped.sla["lapor_reply_window"].waits_for_posting
    assert not shipped.sla["lapor_follow_up"].waits_for_posting
    data = definition()
    data["sla"]["response"]["counting_from"] = "lapor_posted"
    assert_refused(data, "sla.response.counting_from", "'lapor_posted' counts from the posting of the "
                   "answer a step gave: the clock must start on steps, not on 'file'")


def test_citizen_label_names_the_original_only_for_a_duplicate(shipped):
    """A closure reason's words for the complainant's page: {code} only where the reason
    names an original, and then words for a page that does not show its code."""
    named, unnamed = shipped.closure_citizen["duplicate"]
    assert "{code}" in named["id"] and "{code}" not in unnamed["en"]
    data = definition()
    data["closure_reasons"]["referred"]["citizen_label"] = {"id": "Ke {code}", "en": "To {code}"}
    assert_refused(data, "closure_reasons.referred.citizen_label", "{code} is the original's tracking "
                   "code: only a reason requiring duplicate_of has one")
    data = definition()
    data["closure_reasons"]["duplicate"].pop("citizen_label_unnamed")
    assert_refused(data, "closure_reasons.duplicate.citizen_label_unnamed", "a citizen_label naming "
                   "{code} needs the words for a page that does not show the code")


def test_unknown_top_level_key():
    """A misspelt section is refused rather than silently ignored."""
    data = definition()
    data["sla_rules"] = data.pop("sla")
    assert_refused(data, "sla_rules", "unknown key")


def test_missing_top_level_key():
    """initial is required."""
    data = definition()
    del data["initial"]
    assert_refused(data, "initial", "is required")


def test_unknown_key_inside_a_transition():
    """A misspelt transition key (roles) is refused at that key."""
    data = definition()
    spec(data, "close")["role"] = ["officer"]
    assert_refused(data, f"transitions[{pos('close')}].role", "unknown key")


@pytest.mark.parametrize("path", [
    ("states", "received", "label"),
    ("states", "closed", "description"),
    ("transitions", pos("verify"), "label"),
    ("transitions", pos("verify"), "done_label"),
    ("closure_reasons", "deemed_withdrawn"),
    ("classifications", "aspirasi"),
    ("sla", "verification", "label"),
    ("title",),
], ids=lambda p: ".".join(map(str, p)))
def test_label_missing_english(path):
    """Every label needs both Indonesian and English."""
    data = definition()
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = {"id": parent[path[-1]]["id"]}
    key = ".".join(str(p) for p in path).replace(
        f"transitions.{pos('verify')}", f"transitions[{pos('verify')}]")
    assert_refused(data, f"{key}.en", MISSING_LANGUAGE)


def test_done_label_is_what_the_timeline_says_else_the_label():
    """A step's `done_label` names it on the staff timeline once taken; without one, its label."""
    data = definition()
    del spec(data, "reject")["done_label"]
    workflow = parse_workflow(data, FILE)
    assert workflow.transition("verify").done == BASE["transitions"][pos("verify")]["done_label"]
    assert workflow.transition("reject").done == workflow.transition("reject").label


def test_every_public_step_of_staff_or_system_says_what_the_complainant_is_told(shipped):
    """Each public step the complainant does not take herself carries the subject and text of
    her email; her own steps and internal ones carry none."""
    told = {t.trigger for t in shipped.transitions if t.tell_complainant}
    assert told == {"verify", "request_info", "expire_info", "reject", "follow_up", "close",
                    "auto_close", "reopen", "approve_follow_up"}
    assert "{due}" in shipped.transition("request_info").tell_complainant.text["id"]


@pytest.mark.parametrize("trigger, change, key, reason", [
    ("close", lambda s: s.pop("tell_complainant"), "tell_complainant",
     "a public step that staff or the system take needs what the complainant's email says: "
     "subject and text in every language (id, en)"),
    ("reassign", lambda s: s.update(tell_complainant={"subject": {"id": "a", "en": "a"},
                                                      "text": {"id": "b", "en": "b"}}),
     "tell_complainant", "only a public step is told to the complainant"),
    ("accept", lambda s: s.update(tell_complainant={"subject": {"id": "a", "en": "a"},
                                                    "text": {"id": "b", "en": "b"}}),
     "tell_complainant", "only the complainant takes this step: nobody to tell"),
    ("close", lambda s: s["tell_complainant"]["text"].pop("en"), "tell_complainant.text.en",
     MISSING_LANGUAGE),
    ("close", lambda s: s["tell_complainant"]["text"].update(id="Sebelum {tanggal}."),
     "tell_complainant.text.id", "may name only {due} in braces"),
    ("close", lambda s: s["tell_complainant"].update(text={"id": "Sebelum {due}.", "en": "By {due}."},
                                                     text_without_due={"id": "Segera.", "en": "Soon."}),
     "tell_complainant.text", "names {due}, but the step starts no clock on the complainant "
     "track (sla.<rule>.track: complainant)"),
    ("request_info", lambda s: s["tell_complainant"].pop("text_without_due"),
     "tell_complainant.text_without_due", "the text names {due}: give the text to send when no "
     "deadline runs, without {due}, in every language (id, en)"),
    ("request_info", lambda s: s["tell_complainant"]["text_without_due"].update(en="By {due}."),
     "tell_complainant.text_without_due.en", "may not contain braces"),
    ("close", lambda s: s["tell_complainant"].update(text_without_due={"id": "a", "en": "a"}),
     "tell_complainant.text_without_due", "only a text naming {due} needs one"),
])
def test_what_the_complainant_is_told_is_checked(trigger, change, key, reason):
    data = definition()
    change(spec(data, trigger))
    assert_refused(data, f"transitions[{pos(trigger)}].{key}", reason)


def test_the_complainants_own_words_after_and_before_her_steps(shipped):
    """Her steps say what happened once she took them; withdrawing is confirmed on a page of
    its own, whose words the file gives."""
    assert {t.trigger for t in shipped.transitions if t.done_message} == {
        "provide_info", "accept", "dispute", "withdraw"}
    assert [t.trigger for t in shipped.transitions if t.confirm] == ["withdraw"]
    words = shipped.transition("withdraw").confirm
    assert words.button["id"] == "Ya, cabut pengaduan" and len(words.means) == 3


@pytest.mark.parametrize("trigger, change, key, reason", [
    ("close", lambda s: s.update(done_message={"id": "a", "en": "a"}), "done_message",
     "only a step the complainant takes tells her it was done"),
    ("accept", lambda s: s.update(done_message={"id": "a"}), "done_message.en", MISSING_LANGUAGE),
    ("close", lambda s: s.update(confirm={"link": {"id": "a", "en": "a"}}), "confirm",
     "only a step the complainant alone takes is confirmed on her page"),
    ("withdraw", lambda s: s["confirm"].pop("button"), "confirm.button", "is required"),
    ("withdraw", lambda s: s["confirm"].update(means="Satu."), "confirm.means",
     "must be a list of texts in every language (id, en)"),
    ("withdraw", lambda s: s["confirm"]["means"].append({"id": "a"}), "confirm.means[3].en",
     MISSING_LANGUAGE),
])
def test_the_complainants_words_are_checked(trigger, change, key, reason):
    data = definition()
    change(spec(data, trigger))
    assert_refused(data, f"transitions[{pos(trigger)}].{key}", reason)


def test_non_terminal_dead_end_state():
    """A complaint parked in on_hold could never move again."""
    data = definition()
    data["states"]["on_hold"] = {"label": {"id": "Ditunda", "en": "On hold"}}
    data["transitions"].append(
        {"trigger": "hold", "source": "verified", "dest": "on_hold", "roles": ["supervisor"]})
    assert_refused(data, "states.on_hold",
                   "a non-terminal state needs at least one outgoing transition")


def test_no_terminal_state():
    """A workflow in which no complaint can ever finish is refused."""
    # Built by hand: unmarking `closed` in perpres76 trips the reopen/closure checks first.
    data = {
        "name": "loop",
        "initial": "open",
        "states": {
            "open": {"label": {"id": "Buka", "en": "Open"}},
            "pending": {"label": {"id": "Tunda", "en": "Pending"}},
        },
        "transitions": [
            {"trigger": "hold", "source": "open", "dest": "pending", "roles": ["officer"]},
            {"trigger": "release", "source": "pending", "dest": "open", "roles": ["officer"]},
        ],
    }
    assert_refused(data, "states", "at least one state must be terminal")


def test_top_level_must_be_a_mapping():
    """An empty file (None) or a list is not a workflow."""
    assert_refused(None, "(top level)", "must be a mapping")
    assert_refused([BASE], "(top level)", "must be a mapping")


def test_yaml_syntax_error(tmp_path):
    """A YAML syntax error names the file and the line, on one line."""
    path = tmp_path / "broken.yaml"
    path.write_text("name: perpres76\nstates: [received\ninitial: received\n", encoding="utf-8")
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    error = info.value
    assert (error.file, error.key) == (str(path), "(syntax)")
    assert "line 3" in error.reason
    assert "\n" not in error.reason


def test_missing_file(tmp_path):
    """A path that does not exist is reported, not raised as FileNotFoundError."""
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    assert (info.value.file, info.value.key, info.value.reason) == (
        str(path), "(file)", "no such file")


def test_load_workflow_names_the_file_of_a_semantic_error(tmp_path):
    """Errors found after parsing YAML carry the path of the file."""
    data = definition()
    data["initial"] = "new"
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    assert (info.value.file, info.value.key, info.value.reason) == (
        str(path), "initial", "unknown state 'new'")


@pytest.mark.parametrize("trigger, flag", [("reassign", "public"), ("reopen", "reopen")])
def test_flag_must_be_a_boolean(trigger, flag):
    """A quoted 'false' must not silently switch a flag on (public would leak internal steps)."""
    data = definition()
    spec(data, trigger)[flag] = "false"
    assert_refused(data, f"transitions[{pos(trigger)}].{flag}", "must be true or false")


@pytest.mark.parametrize("where", ["initial", "dest", "closure_reason"])
def test_a_list_where_one_name_is_expected(where):
    """`dest: [verified]` (written like source) is refused with the key, not a TypeError."""
    data = definition()
    if where == "initial":
        data["initial"] = ["received"]
        key = "initial"
    elif where == "dest":
        spec(data, "verify")["dest"] = ["verified"]
        key = f"transitions[{pos('verify')}].dest"
    else:
        spec(data, "close")["closure_reason"] = ["resolved"]
        key = f"transitions[{pos('close')}].closure_reason"
    assert_refused(data, key, "must be a single name")


@pytest.mark.parametrize("kind", ["directory", "not_utf8"])
def test_unreadable_file(tmp_path, kind):
    """A directory or a non-UTF-8 file is reported as a WorkflowError on the file."""
    path = tmp_path / "workflow.yaml"
    if kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(SHIPPED.read_bytes().replace(b"Selesai", b"S\xe9lesai"))
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    assert (info.value.file, info.value.key) == (str(path), "(file)")


# --- 3. Command line ----------------------------------------------------------------------


def test_cli_check_default_workflow(runner):
    """`workflow check` without a file validates the workflow in force."""
    result = runner.invoke(args=["workflow", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"OK {SHIPPED}: perpres76 v1, 6 states, 16 transitions, 10 SLA rules\n")


def test_cli_check_named_file(runner):
    """`workflow check FILE` validates that file."""
    result = runner.invoke(args=["workflow", "check", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"OK {SHIPPED}: perpres76 v1")


def test_cli_check_refuses_an_unknown_channel_or_date_field(runner, tmp_path):
    """`workflow check` names the clock option at fault, as for any other mistake."""
    for option, value, reason in (("channels", ["lapor"], "unknown channel 'lapor'"),
                                  ("counting_from", "disposed_at", "unknown date field 'disposed_at'")):
        data = definition()
        data["sla"]["lapor_follow_up"][option] = value
        path = tmp_path / f"{option}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        result = runner.invoke(args=["workflow", "check", str(path)])
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: {path}: sla.lapor_follow_up.{option}: {reason}")


def test_cli_check_broken_file(runner, tmp_path):
    """A broken file exits 1 with its path, the key and the reason on stderr."""
    data = definition()
    del spec(data, "close")["closure_reason"]
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(args=["workflow", "check", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {path}: transitions[{pos('close')}]: {TERMINAL_WITHOUT_REASON}\n")


def test_cli_check_missing_file(runner, tmp_path):
    """A missing file exits 1 naming it."""
    path = tmp_path / "nowhere.yaml"
    result = runner.invoke(args=["workflow", "check", str(path)])
    assert result.exit_code == 1
    assert result.stderr == f"error: {path}: (file): no such file\n"


def test_cli_show_mermaid(runner, shipped):
    """`workflow show` prints a Mermaid state diagram with one edge per source of every transition."""
    result = runner.invoke(args=["workflow", "show"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert lines[1].strip() == "[*] --> received"
    assert "    closed --> [*]" in lines
    edges = [line.strip() for line in lines[2:] if "[*]" not in line]
    expected = [
        f"{source} --> {t.dest}: {t.trigger} ({', '.join(t.roles)})"
        for t in shipped.transitions for source in t.sources
    ]
    assert edges == expected
    assert len(edges) == 19
    assert "verified --> verified: reassign (officer, supervisor)" in edges
    assert "awaiting_info --> closed: withdraw (citizen)" in edges


def test_cli_show_broken_file(runner, tmp_path):
    """`workflow show` refuses a broken file like check does."""
    data = definition()
    data["initial"] = "new"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(args=["workflow", "show", str(path)])
    assert result.exit_code == 1
    assert result.stderr == f"error: {path}: initial: unknown state 'new'\n"


# --- 4. The machine -----------------------------------------------------------------------


def test_machine_is_built_once_per_definition():
    """Repeated access returns the same machine; another definition gets its own."""
    first, second = load_workflow(SHIPPED), load_workflow(SHIPPED)
    assert first.machine is first.machine
    assert first.machine is not second.machine


def test_app_workflow_shares_one_machine(ctx):
    """The workflow in force is loaded once at start-up, with one machine."""
    assert current_workflow() is current_workflow()
    assert current_workflow().machine is current_workflow().machine


def test_machine_holds_no_complaints(world):
    """Advancing a complaint dispatches through the machine without adding it as a model."""
    from pengaduan.services import advance

    complaint = world.file().complaint
    advance(complaint, "verify", world.officer_a, unit="UNIT-A", category="GENERAL",
            classification="pengaduan")
    assert complaint.state == "verified"
    assert current_workflow().machine.models == []


def test_machine_has_only_the_defined_triggers(shipped):
    """auto_transitions is off: no to_<state> events, only the file's triggers."""
    machine = shipped.machine
    assert machine.auto_transitions is False
    assert "to_closed" not in machine.events
    assert list(machine.events) == [t.trigger for t in shipped.transitions]
    assert list(machine.states) == list(shipped.states)
    assert machine.initial == "received"


def test_machine_moves_a_model_along_the_definition(shipped):
    """Triggering with a model moves its state and refuses triggers from the wrong state."""

    class Model:
        state = "received"

    item = Model()
    assert shipped.machine.events["verify"].trigger(item) is True
    assert item.state == "verified"
    with pytest.raises(MachineError):
        shipped.machine.events["provide_info"].trigger(item)
    assert item.state == "verified"


@pytest.mark.parametrize("state, role, expected", [
    ("received", "officer", ["verify", "request_info", "reject"]),
    ("received", "citizen", ["withdraw"]),
    ("received", None, ["verify", "request_info", "reject", "withdraw"]),
    ("awaiting_info", "citizen", ["provide_info", "withdraw"]),
    ("awaiting_info", "system", ["expire_info"]),
    ("awaiting_info", "officer", []),
    ("verified", "supervisor", ["reassign", "follow_up", "propose_follow_up"]),
    ("followed_up", "citizen", ["accept", "dispute"]),
    ("followed_up", "system", ["auto_close"]),
    ("closed", "supervisor", ["reopen"]),
    ("closed", "officer", []),
    ("verified", "auditor", []),
])
def test_triggers_from(shipped, state, role, expected):
    """triggers_from lists a state's triggers in file order, filtered by role."""
    assert shipped.triggers_from(state, role) == expected


def test_fixed_and_listed_closure_reasons_together():
    """A transition gives a fixed closure reason or a list to choose from, not both."""
    data = definition()
    spec(data, "reject")["closure_reason"] = "rejected"
    assert_refused(data, f"transitions[{pos('reject')}]",
                   "give either a fixed closure_reason or a list of closure_reasons, not both")


def test_closure_reason_field_on_a_non_terminal_destination():
    """Asking for a closure reason on a step that does not close is a mistake."""
    data = definition()
    spec(data, "follow_up")["accepts"] = ["note", "closure_reason"]
    assert_refused(data, f"transitions[{pos('follow_up')}]",
                   "only transitions into a terminal state carry closure reasons")
