"""Campaign files: loading, every kind of mistake reported with file, line and key, the shipped campaigns, and
`agentdesk scripts check`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agentdesk.campaigns.loader import SHIPPED_FOLDER, load_campaign_file, load_catalog
from agentdesk.campaigns.model import StepKind
from agentdesk.cli import main
from tests.campaign_fixtures import DISPOSITIONS, SMALL, line_of, write_campaign


def problems_of(tmp_path: Path, text: str) -> list[str]:
    loaded = load_campaign_file(write_campaign(tmp_path, text), DISPOSITIONS)
    assert loaded.campaign_file is None, "a broken file must not load"
    return [str(p) for p in loaded.problems]


def test_the_small_file_loads(tmp_path: Path) -> None:
    loaded = load_campaign_file(write_campaign(tmp_path), DISPOSITIONS)
    assert loaded.problems == ()
    assert loaded.campaign_file is not None
    assert [s.kind for s in loaded.campaign_file.steps][-1] is StepKind.END


@pytest.mark.parametrize(
    ("change", "needle", "expected"),
    [
        (('next = "end_info"', 'next = "end_inf"'), 'next = "end_inf"', "steps[1].next: unknown step 'end_inf'"),
        (('goto = "book"', 'goto = "bok"'), 'goto = "bok"', "steps[1].branches[0].goto: unknown step 'bok'"),
        (('id = "book"', 'id = "greet"'), 'id = "greet"\nkind = "action"', "duplicate step id 'greet'"),
        (("{{ caller.first_name }}", "{{ caller.firstname }}"), "caller.firstname", "not a field of caller"),
        (("{{ caller.first_name }}", "{{ patient.name }}"), "patient.name", "'patient.name' is not in the script"),
        (("{{ caller.first_name }}", "{{ caller.__class__ }}"), "__class__", "outside the sandbox"),
        (("{{ caller.first_name }}", "{% if caller.known %}"), "{% if caller.known %}", "template syntax error"),
        (("answer == 'yes'", "answer = 'yes'"), "answer = 'yes'", "condition: does not parse"),
        (("answer == 'yes'", "answer == 'yess'"), "answer == 'yess'", "'yess' is never an answer of 'want'"),
        (("answer == 'yes'", "__import__('os')"), "__import__", "is not allowed in a condition"),
        (
            ('disposition = "information_provided"', 'disposition = "referral_made"'),
            'disposition = "referral_made"',
            "'referral_made' is not allowed for this campaign",
        ),
        (('answer = "yes_no"', 'answer = "maybe"'), 'answer = "maybe"', "steps[1].answer: Input should be"),
        (('kind = "say"', 'knd = "say"'), 'knd = "say"', "steps[0].knd: unknown key"),
        (("version = 2", 'version = "two"'), 'version = "two"', "script.version: Input should be a valid integer"),
        (
            ('dispositions = ["appointment_booked", "information_provided"]', 'dispositions = ["appointment_bookd"]'),
            "appointment_bookd",
            "unknown disposition 'appointment_bookd'",
        ),
    ],
)
def test_each_mistake_is_reported_with_file_line_and_key(
    tmp_path: Path, change: tuple[str, str], needle: str, expected: str
) -> None:
    old, new = change
    assert old in SMALL
    text = SMALL.replace(old, new, 1)
    problems = problems_of(tmp_path, text)
    match = [p for p in problems if expected in p]
    assert match, problems
    assert match[0].startswith(f"{tmp_path / 'test-line.toml'}:{line_of(text, needle)}: "), match[0]


def test_graph_problems_unreachable_no_end_and_cycles(tmp_path: Path) -> None:
    text = (
        SMALL.replace('next = "end_booked"', 'next = "loop_a"')
        + """
[[steps]]
id = "loop_a"
kind = "say"
text = "a"
next = "loop_b"

[[steps]]
id = "loop_b"
kind = "say"
text = "b"
next = "loop_a"

[[steps]]
id = "orphan"
kind = "end"
text = "never said"
disposition = "information_provided"
"""
    )
    problems = "\n".join(problems_of(tmp_path, text))
    assert "cycle without an exit: loop_a -> loop_b -> loop_a" in problems
    assert "step 'book' has no path to an end step" in problems
    assert "step 'end_booked' is unreachable" in problems
    assert "step 'orphan' is unreachable" in problems
    orphan_line = line_of(text, 'id = "orphan"')
    assert f":{orphan_line}: steps[7].id" in problems


def test_a_cycle_with_an_exit_is_fine(tmp_path: Path) -> None:
    text = SMALL.replace(
        'branches = [{ when = "answer == \'yes\'", goto = "book" }]',
        'branches = [{ when = "answer == \'yes\'", goto = "book" }, '
        '{ when = "answers.want == \'no\'", goto = "greet" }]',
    )
    loaded = load_campaign_file(write_campaign(tmp_path, text), DISPOSITIONS)
    assert loaded.problems == ()


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = SMALL.replace('name = "Test line"', 'name = "Test line')
    problems = problems_of(tmp_path, text)
    assert problems[0].startswith(f"{tmp_path / 'test-line.toml'}:{line_of(text, 'Test line')}: (file): TOML syntax")


def test_a_bad_file_is_skipped_and_the_others_load(tmp_path: Path) -> None:
    write_campaign(tmp_path, SMALL.replace('goto = "book"', 'goto = "nowhere"'), "broken.toml")
    write_campaign(tmp_path, SMALL.replace("TEST-LINE", "OTHER").replace('id = "test-line"', 'id = "other"'), "ok.toml")
    write_campaign(tmp_path, SMALL, "same-code.toml")
    (tmp_path / "agentdesk.toml").write_text('[agent]\nteam = "x"\n', encoding="utf-8")  # a config: not a campaign
    catalog = load_catalog([tmp_path], DISPOSITIONS)
    assert [c.campaign.code for c in catalog.campaigns] == ["OTHER", "TEST-LINE"]
    assert [f.path.name for f in catalog.unavailable] == ["broken.toml"]
    assert all("agentdesk.toml" not in str(p) for p in catalog.problems)


def test_two_files_with_one_code_the_second_is_unavailable(tmp_path: Path) -> None:
    write_campaign(tmp_path, SMALL, "a.toml")
    write_campaign(tmp_path, SMALL.replace('id = "test-line"', 'id = "other"'), "b.toml")
    catalog = load_catalog([tmp_path], DISPOSITIONS)
    assert [f.path.name for f in catalog.unavailable] == ["b.toml"]
    assert "'TEST-LINE' is already the code of a.toml" in str(catalog.problems[0])


def test_the_shipped_campaigns_are_valid_and_cover_the_outcomes() -> None:
    catalog = load_catalog([SHIPPED_FOLDER], DISPOSITIONS)
    assert catalog.problems == []
    codes = {c.campaign.code for c in catalog.campaigns}
    assert {"HEART-TV", "FLU-REMIND", "NEW-PATIENT", "REFERRAL-LINE"} <= codes
    ends = {s.disposition for c in catalog.campaigns for s in c.steps if s.kind is StepKind.END}
    assert {"appointment_booked", "referral_made", "callback_scheduled", "information_provided"} <= ends
    assert [c.campaign.code for c in catalog.campaigns if c.campaign.default] == ["GENERAL"]
    for parsed in catalog.campaigns:
        text = " ".join(s.text for s in parsed.steps)
        assert "caller." in text, f"{parsed.campaign.code} does not use what the profile says"
        assert any(s.branches for s in parsed.steps), f"{parsed.campaign.code} never branches"


def test_scripts_check_exit_codes_and_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--basedir", str(tmp_path / "base"), "scripts", "check", str(SHIPPED_FOLDER)]) == 0
    assert "OK: 5 campaign(s)" in capsys.readouterr().out
    broken = write_campaign(
        tmp_path / "c", SMALL.replace('goto = "book"', 'goto = "bok"').replace("{{ caller.first_name }}", "{{ x }}")
    )
    assert main(["--basedir", str(tmp_path / "base"), "scripts", "check", str(broken), str(SHIPPED_FOLDER)]) == 1
    captured = capsys.readouterr()
    assert "unknown step 'bok'" in captured.out and "'x' is not in the script context" in captured.out
    assert "step 'book' is unreachable" in captured.out  # every problem, not only the first
    assert "4 problem(s) in 1 file(s)" in captured.err
    assert main(["--basedir", str(tmp_path / "base"), "scripts", "check", str(tmp_path / "missing")]) == 1
    assert "no such file or folder" in capsys.readouterr().out


def test_scripts_check_runs_without_qt(tmp_path: Path) -> None:
    code = (
        "import sys; from agentdesk.cli import main;"
        "rc = main(['--basedir', sys.argv[1], 'scripts', 'check', sys.argv[2]]);"
        "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt imported'; sys.exit(rc)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), str(SHIPPED_FOLDER)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


KEYS = st.sampled_from(["id", "kind", "text", "next", "answer", "choices", "branches", "when", "goto", "disposition"])
FRAGMENTS = st.sampled_from(
    ['"', "'''", "[[steps]]", "[", "]", "{", "}", "=", "\n", "{{", "}}", "{%", "%}", "\x00", "é", "#", ",", "\\"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cut=st.integers(min_value=0, max_value=len(SMALL)),
    insert=st.lists(st.one_of(FRAGMENTS, KEYS, st.text(max_size=8)), max_size=4).map("".join),
    drop=st.integers(min_value=0, max_value=40),
)
@example(cut=116, insert="\x85\x85", drop=0)  # NEL inside a string: problem lines were counted one per NEL too
def test_fuzz_broken_files_never_crash_the_loader(tmp_path: Path, cut: int, insert: str, drop: int) -> None:
    text = SMALL[:cut] + insert + SMALL[cut + drop :]
    path = tmp_path / "fuzz.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    loaded = load_campaign_file(path, DISPOSITIONS)
    assert (loaded.campaign_file is None) == bool(loaded.problems) or not loaded.is_campaign
    for problem in loaded.problems:
        assert problem.file == path and problem.message
        assert problem.line is None or 1 <= problem.line <= text.count("\n") + 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_fuzz_random_bytes_are_rejected_cleanly(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "noise.toml"
    path.write_bytes(data)
    loaded = load_campaign_file(path, DISPOSITIONS)
    assert loaded.campaign_file is None
