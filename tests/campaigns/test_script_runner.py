"""Running a script: answers steer the path, back and restart, notes, placeholders for unknown values, the
sandbox, and the condition language."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from agentdesk.base.fields import PROFILE_FIELDS
from agentdesk.campaigns.conditions import ConditionError, parse_condition
from agentdesk.campaigns.context import script_context
from agentdesk.campaigns.loader import SHIPPED_FOLDER, load_catalog, parse_campaign_text
from agentdesk.campaigns.model import CampaignFile
from agentdesk.campaigns.runner import AnswerInvalid, CompiledScript, ScriptRun
from agentdesk.campaigns.templates import TemplateCache, unknown_variable
from agentdesk.desk.caller_facts import caller_facts
from agentdesk.records.merge import merge_records
from agentdesk.records.model import SourceRecord
from tests.campaign_fixtures import DISPOSITIONS, SMALL

ANA = {"given_name": "Ana", "family_name": "Diaz", "birth_date": "1968-04-02", "age": 58, "mrn": "E123"}


def shipped(code: str) -> CampaignFile:
    (found,) = [c for c in load_catalog([SHIPPED_FOLDER], DISPOSITIONS).campaigns if c.campaign.code == code]
    return found


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=5)
        return self.now


def run_of(parsed: CampaignFile, caller: dict[str, object] | None = ANA, agent: str = "Sam Rivera") -> ScriptRun:
    return ScriptRun(CompiledScript(parsed), script_context(caller, {}, parsed.campaign, agent), clock=Clock())


def test_heart_screening_known_caller_books_a_screening() -> None:
    run = run_of(shipped("HEART-TV"))
    assert run.text() == (
        "Thank you for calling about our heart health screening, Ana. My name is Sam, and I can help you book a "
        "screening today."
    )
    run.advance()
    assert run.step.id == "confirm_identity"  # a known caller: the branch step passed on by itself
    assert "Ana Diaz" in run.text() and "1968-04-02" in run.note_text()
    run.answer("yes")
    run.answer("no")  # no chest pain
    run.answer("saw the tv spot")  # choices match without regard to case
    run.answer("None of these")
    assert run.step.id == "offer_screening"  # 58 years old: the screening fits although no risk factor
    run.answer(True)
    assert run.step.id == "book" and run.step.action is not None and run.step.action.value == "booking"
    run.advance()
    assert run.finished and run.suggested_disposition == "appointment_booked"
    assert run.path == [
        "greet",
        "who",
        "confirm_identity",
        "emergency_check",
        "reason",
        "risk_factors",
        "fit",
        "offer_screening",
        "book",
        "end_booked",
    ]
    assert run.answers["reason"] == "Saw the TV spot"
    assert [e.kind for e in run.events].count("answered") == 5


def test_heart_screening_young_caller_without_risk_gets_information() -> None:
    run = run_of(shipped("HEART-TV"), {**ANA, "age": 30})
    run.advance()
    for answer in ("yes", "no", "Family history", "None of these"):
        run.answer(answer)
    assert run.step.id == "info_only"
    run.advance()
    assert run.suggested_disposition == "information_provided"


def test_chest_pain_goes_to_the_nurse_at_once() -> None:
    run = run_of(shipped("HEART-TV"), None)
    run.advance()
    assert run.step.id == "new_caller"  # unknown caller: asked for name and birth date
    run.answer("Jo Smith 1970-01-01")
    run.answer("yes")
    assert run.step.id == "nurse_transfer" and run.step.transfer_to == "nurse-triage"


def test_unknown_values_show_placeholders_never_errors() -> None:
    run = run_of(shipped("FLU-REMIND"), None, agent="")
    assert run.text() == "Hello, may I speak with [first name]?"
    run.answer("Speaking")
    assert run.text().startswith("Hi [first name], this is [first name] calling from your care team.")


def test_back_takes_the_answer_back_and_restart_begins_again() -> None:
    run = run_of(shipped("HEART-TV"))
    run.advance()
    run.answer("yes")
    assert run.step.id == "emergency_check"
    run.back()
    assert run.step.id == "confirm_identity" and "confirm_identity" not in run.answers
    run.back()
    assert run.step.id == "greet"  # the branch step in between is not a place to go back to
    run.back()
    assert run.step.id == "greet"
    run.advance()
    run.answer("no")
    assert run.step.id == "new_caller"  # a different answer, a different path
    run.restart()
    assert run.path == ["greet"] and run.answers == {}
    assert [e.kind for e in run.events].count("back") == 2 and [e.kind for e in run.events][-2:] == [
        "restart",
        "reached",
    ]


def test_answers_are_checked_against_the_question() -> None:
    run = run_of(shipped("FLU-REMIND"))
    with pytest.raises(AnswerInvalid, match="choose one of Speaking, Not available, Wrong number"):
        run.answer("Maybe")
    with pytest.raises(AnswerInvalid, match="an answer is required"):
        run.skip()
    run.answer("Speaking")
    with pytest.raises(AnswerInvalid, match="asks nothing"):
        run.answer("x")
    run.advance()
    run.answer("yes")
    assert run.step.id == "record_elsewhere"
    with pytest.raises(AnswerInvalid, match="a date is expected"):
        run.answer("last tuesday")
    run.skip()  # optional: the agent may go on without it
    assert run.suggested_disposition == "information_provided"
    with pytest.raises(AnswerInvalid, match="ended"):
        run.skip()


def test_numbers_compare_as_numbers() -> None:
    text = SMALL.replace('answer = "yes_no"', 'answer = "number"').replace("answer == 'yes'", "answer >= 40")
    run = ScriptRun(CompiledScript(parse_campaign_text(text, DISPOSITIONS)), script_context(ANA))
    run.advance()
    run.answer("41")
    assert run.step.id == "book"
    run.back()
    run.answer("7.5")
    assert run.step.id == "end_info" and run.answers["want"] == "7.5"


def test_off_script_notes_are_kept_with_their_step() -> None:
    run = run_of(shipped("NEW-PATIENT"))
    run.add_note("Asked whether parking is free")
    run.advance()
    note = run.add_note("  Wants a   Spanish-speaking  doctor ")
    assert note.value == "Wants a Spanish-speaking doctor" and note.step_id == "existing_patient"
    assert [n.step_id for n in run.notes] == ["greet", "existing_patient"]
    with pytest.raises(AnswerInvalid):
        run.add_note("   ")


def test_the_profile_arriving_later_updates_the_text() -> None:
    parsed = shipped("HEART-TV")
    run = run_of(parsed, None)
    assert "[first name]" not in run.text() and "screening." in run.text()  # the template leaves the name out
    run.update_context(caller=script_context(ANA)["caller"])
    assert "screening, Ana." in run.text()


def test_a_sandbox_escape_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    cache = TemplateCache()
    context = script_context(ANA)
    attempts = [
        "{{ caller.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ caller.items.__self__.__class__ }}",
        "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    ]
    with caplog.at_level(logging.WARNING, "agentdesk.campaigns"):
        for source in attempts:
            rendered = cache.render(source, context)
            assert rendered.startswith("[this text"), (source, rendered)
            assert "class" not in rendered and "object" not in rendered
    assert "Ana" not in caplog.text  # no patient data in the log


def test_a_render_error_shows_a_marker_instead_of_raising() -> None:
    cache = TemplateCache()
    assert cache.render("{{ caller.age + 'x' }}", script_context(ANA)).startswith("[this text could not be filled in")
    assert cache.render("{{ caller.first_name|title }}", script_context(None)) == "[First Name]"


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ("answer == 'yes'", {"answer": "yes"}, True),
        ("caller.age >= 40 and not caller.known", {"caller": {"age": 41, "known": False}}, True),
        ("caller.age >= 40", {"caller": {}}, False),  # unknown age is neither over nor under
        ("caller.age < 40", {"caller": {}}, False),
        ("caller.coverage == none", {"caller": {}}, True),
        ("answers.reason in ['A', 'B']", {"answers": {"reason": "B"}}, True),
        ("answers.reason not in ('A', 'B')", {"answers": {"reason": "C"}}, True),
        ("caller.age > 'x'", {"caller": {"age": 3}}, False),  # unlike types: false, not an exception
        ("-1 < caller.age", {"caller": {"age": 0}}, True),
        ("caller.known == true or false", {"caller": {"known": True}}, True),
    ],
)
def test_conditions(condition: str, context: dict[str, object], expected: bool) -> None:
    assert parse_condition(condition).evaluate(context) is expected


@pytest.mark.parametrize(
    "bad",
    [
        "__import__('os').system('id')",
        "caller.age.__class__",
        "open('x')",
        "[c for c in caller]",
        "lambda: 1",
        "caller['age']",
        "answer == 'yes' if True else False",
        "a + b",
        "answer ==",
        "",
        "x" * 600,
    ],
)
def test_conditions_that_are_refused(bad: str) -> None:
    with pytest.raises(ConditionError):
        parse_condition(bad)


def test_the_profile_fields_reach_scripts_under_the_panel_names() -> None:
    """One list of profile fields: every one is a caller variable of the same name, and the practitioner an EHR
    names (shown on the panel as 'Primary care') fills the shipped campaigns' caller.primary_care."""
    for name in PROFILE_FIELDS:
        assert unknown_variable(f"caller.{name}", set()) is None
    ehr = SourceRecord("EHR", "1", {"given_name": "Ana", "primary_care": "Dr. Jo Familydoc"}, priority=1)
    (patient,) = merge_records([ehr])
    caller = script_context(caller_facts(patient, dt.date(2026, 12, 1)))["caller"]
    (introduce,) = [step for step in shipped("FLU-REMIND").steps if step.id == "introduce"]
    text = TemplateCache().render(introduce.text, {"caller": caller, "agent": {"first_name": "Sam"}})
    assert text.startswith("Hi Ana, this is Sam calling from your care team at Dr. Jo Familydoc's office.")
