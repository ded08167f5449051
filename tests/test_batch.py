"""`run FILE.toml`: jobs through the commands' own code, JSON Lines, JUnit XML, exit codes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograd_cli.batch.engine import job_argv
from autograd_cli.cli.app import write_output
from autograd_cli.errors import UsageError
from conftest import Invoke, demo_command, load_document, load_lines, run_json

JOBS = """
[[job]]
name = "from z"
command = "graph"
root = "z"
seed = 4

[[job]]
name = "typo"
command = "graph"
rooot = "z"

[[job]]
command = "lesson"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jobs.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_json_lines_equal_the_command_lines(cli: Invoke, tmp_path: Path) -> None:
    result = cli("run", str(_write(tmp_path, JOBS)), "--json")
    assert result.exit_code == 2  # one job was invalid; the others still ran
    docs = load_lines(result.stdout)
    assert [(d["job"], d["status"]) for d in docs] == [
        ("from z", "passed"),
        ("typo", "invalid"),
        ("lesson-3", "passed"),
    ]
    job_fields = ("job", "status", "output", "error", "xfail")
    # Every job line has every field: null where it does not apply.
    assert [d["output"] for d in docs] == [None, None, None]
    assert [d["error"] is None for d in docs] == [True, False, True]
    assert [d["xfail"] for d in docs] == [None, None, None]
    first = {k: v for k, v in docs[0].items() if k not in job_fields}
    assert first == run_json(cli, "graph", "--root", "z", "--seed", "4")
    third = {k: v for k, v in docs[2].items() if k not in job_fields}
    assert third == run_json(cli, "lesson")
    assert "unknown key 'rooot'" in docs[1]["error"]
    assert "[typo] error: unknown key 'rooot'" in result.stderr


def test_human_output_sections_and_summary(cli: Invoke, tmp_path: Path) -> None:
    result = cli("run", str(_write(tmp_path, JOBS)))
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0].startswith("1. from z (graph)")
    assert any(line.startswith("#0 AddBackward0") for line in lines)
    assert "Summary" in result.stdout
    assert [s for s in ("passed", "invalid") if s in result.stdout] == ["passed", "invalid"]


def test_junit_report(cli: Invoke, tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    result = cli("run", str(_write(tmp_path, JOBS)), "--junit-xml", str(report))
    assert result.exit_code == 2
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    counts = ("tests", "failures", "errors", "skipped")
    assert [suite.get(count) for count in counts] == ["3", "0", "1", "0"]
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["from z", "typo", "lesson-3"]
    error = cases[1].find("error")
    assert error is not None and "unknown key 'rooot'" in (error.get("message") or "")


def test_junit_failure_message_is_the_error_not_a_warning(cli: Invoke, tmp_path: Path) -> None:
    jobs = """
[[job]]
name = "nan"
command = "backward"
expr = "sum(log(x) * 0)"
var = ["x=zeros(2)"]
detect_anomaly = true
"""
    report = tmp_path / "report.xml"
    result = cli("run", str(_write(tmp_path, jobs)), "--junit-xml", str(report))
    assert result.exit_code == 1
    failure = ET.parse(report).getroot().find("testsuite/testcase/failure")
    assert failure is not None and failure.text is not None
    assert failure.text.startswith("warning: this gives inf or nan")  # the whole stderr
    assert failure.get("message") == (
        "error: NaN or inf in backward at step 3: #2 LogBackward0, made by the part of the "
        "code marked below"
    )


def test_all_passing_exits_zero(cli: Invoke, tmp_path: Path) -> None:
    result = cli("run", str(_write(tmp_path, '[[job]]\ncommand = "graph"\n')), "--json")
    assert result.exit_code == 0
    assert load_document(result.stdout)["status"] == "passed"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[job]\n", "is not valid TOML"),
        ("title = 'x'\n", "unknown top-level key 'title'"),
        ("", "holds no jobs"),
        ("job = [1, 2]\n", "job 1 is 1, not a table"),
        ('job = ["grad"]\n', "job 1 is 'grad', not a table"),
        ('[job]\ncommand = "grad"\n', "not a list of [[job]] tables"),
    ],
)
def test_unusable_files(cli: Invoke, tmp_path: Path, text: str, message: str) -> None:
    result = cli("run", str(_write(tmp_path, text)))
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_missing_file(cli: Invoke, tmp_path: Path) -> None:
    result = cli("run", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2 and "no such batch file" in result.stderr


def test_job_cannot_run_run(cli: Invoke, tmp_path: Path) -> None:
    result = cli("run", str(_write(tmp_path, '[[job]]\ncommand = "run"\nfile = "x"\n')))
    assert result.exit_code == 2 and "job needs a command" in result.stderr


def test_keys_become_the_same_command_line() -> None:
    options = {
        "target": "x",
        "var": ["x=randn(3)", "y=x*2"],
        "times": 3,
        "check": True,
        "zero_after": 2,
    }
    assert job_argv(options, "go", demo_command()) == [
        *("--var", "x=randn(3)", "--var", "y=x*2"),
        *("--times", "3", "--check", "--zero-after", "2"),
        *("--", "x"),
    ]
    assert job_argv({"check": False}, "go", demo_command()) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"nope": 1}, "unknown key 'nope'"),
        ({"json": True}, "unknown key 'json'"),
        ({"check": "yes"}, "is a flag"),
        ({"times": [1, 2]}, "takes one value"),
    ],
)
def test_bad_keys(options: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        job_argv(options, "go", demo_command())


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old", encoding="utf-8")
    write_output(target, "new")
    assert target.read_text(encoding="utf-8") == "new"
    with pytest.raises(UsageError, match="cannot write"):
        write_output(tmp_path / "missing-dir" / "out.txt", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


@pytest.mark.parametrize("fmt", ["dot", "mermaid", "table", "tree"])
def test_json_lines_keep_a_text_format_job(cli: Invoke, tmp_path: Path, fmt: str) -> None:
    jobs = f'[[job]]\ncommand = "graph"\nformat = "{fmt}"\n'
    result = cli("run", str(_write(tmp_path, jobs)), "--json")
    assert result.exit_code == 0, result.stderr
    (line,) = result.stdout.splitlines()
    doc = load_document(line)
    assert doc["status"] == "passed" and doc["error"] is None
    assert doc["output"] == cli("graph", "--format", fmt).stdout


def test_passed_job_with_output_has_no_error(cli: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "grad.json"
    jobs = f'[[job]]\ncommand = "grad"\noutput = "{target}"\n'
    result = cli("run", str(_write(tmp_path, jobs)), "--json")
    assert result.exit_code == 0
    doc = load_document(result.stdout)
    assert doc["status"] == "passed" and doc["error"] is None
    assert load_document(target.read_text())["command"] == "grad"
