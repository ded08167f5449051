"""`xfail` jobs (pytest's convention) and the numbers of a failed check in JUnit XML."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd_cli.batch.engine import xfail
from autograd_cli.batch.jobfile import JobSpec, read_jobs
from autograd_cli.errors import UsageError
from conftest import Invoke, load_lines

#: x.grad = 2x = [[2, 4, 0], [6, 0, 2]] against the formula's [[2, 1, 0], [12, 0, 2]]:
#: 6 off at [1, 0] (6 against 12, half of it), 3 off at [0, 1] (4 against 1, three times).
WRONG = """
command = "grad"
expr = "sum(x**2)"
var = ["x=tensor([[1., 2., 0.], [3., 0., 1.]])"]
expect = ["x=tensor([[2., 1., 0.], [12., 0., 2.]])"]
"""

RIGHT = """
command = "grad"
expr = "sum(x**2)"
var = ["x=randn(3)"]
expect = ["x=2*x"]
"""

JOBS = f"""
[[job]]
name = "known bug"
xfail = "the formula forgets a factor"
{WRONG}
[[job]]
name = "fixed"
xfail = true
{RIGHT}
[[job]]
name = "plain"
{RIGHT}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jobs.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _suite(path: Path) -> ET.Element:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return suite


def test_statuses_and_exit_codes(cli: Invoke, tmp_path: Path) -> None:
    result = cli("run", str(_write(tmp_path, JOBS)), "--json")
    assert result.exit_code == 1  # the xfail job that passed fails the batch (strict)
    docs = load_lines(result.stdout)  # against the schema
    assert [(d["job"], d["status"], d["xfail"]) for d in docs] == [
        ("known bug", "xfailed", "the formula forgets a factor"),
        ("fixed", "xpassed", ""),
        ("plain", "passed", None),
    ]
    assert docs[0]["expect"][0]["passed"] is False and docs[0]["error"] is None
    human = cli("run", str(_write(tmp_path, JOBS)))
    assert human.exit_code == 1
    assert [s for s in ("xfailed", "xpassed", "passed") if f"│ {s} " in human.stdout] == [
        "xfailed",
        "xpassed",
        "passed",
    ]


def test_an_expected_failure_alone_passes_the_batch(cli: Invoke, tmp_path: Path) -> None:
    one = _write(tmp_path, f'[[job]]\nxfail = "known"\n{WRONG}')
    result = cli("run", str(one), "--json")
    assert result.exit_code == 0
    assert "[grad-1] error: --expect failed for x" in result.stderr  # still said


@pytest.mark.parametrize(
    ("job", "status"),
    [
        ('command = "grad"\nexprr = "x"\n', "invalid"),  # a broken job is not the failure
        ('command = "grad"\nexpr = "sum(x)"\nvar = ["x=randn(2)"]\ndtype = "int9"\n', "invalid"),
    ],
)
def test_a_broken_job_is_not_the_expected_failure(
    cli: Invoke, tmp_path: Path, job: str, status: str
) -> None:
    result = cli("run", str(_write(tmp_path, f'[[job]]\nxfail = "x"\n{job}')), "--json")
    assert result.exit_code == 2
    (doc,) = load_lines(result.stdout)
    assert (doc["status"], doc["xfail"]) == (status, "x")


@pytest.mark.parametrize("value", ["3", "[true]", "{ reason = 'x' }", "1.5"])
def test_an_xfail_that_is_not_a_bool_or_a_reason_is_refused(
    cli: Invoke, tmp_path: Path, value: str
) -> None:
    jobs = f"[[job]]\nxfail = {value}\n{RIGHT}\n[[job]]\n{RIGHT}"
    result = cli("run", str(_write(tmp_path, jobs)), "--json")
    assert result.exit_code == 2  # this job is invalid; the next one still ran
    docs = load_lines(result.stdout)
    assert [(d["status"], d["xfail"]) for d in docs] == [("invalid", None), ("passed", None)]
    assert "[grad-1] error: key 'xfail' is " in result.stderr
    assert "it takes true, false or the reason as a string" in docs[0]["error"]


def test_junit_skips_an_expected_failure_and_fails_an_unexpected_pass(
    cli: Invoke, tmp_path: Path
) -> None:
    report = tmp_path / "report.xml"
    cli("run", str(_write(tmp_path, JOBS)), "--junit-xml", str(report))
    suite = _suite(report)
    counts = ("tests", "failures", "errors", "skipped")
    assert [suite.get(count) for count in counts] == ["3", "1", "0", "1"]
    known, fixed, plain = suite.findall("testcase")
    skipped = known.find("skipped")
    assert skipped is not None and known.find("failure") is None
    assert skipped.attrib == {
        "type": "xfail",
        "message": "expected failure: the formula forgets a factor",
    }
    failure = fixed.find("failure")
    assert failure is not None and failure.get("message") == "XPASS (strict)"
    assert list(plain) == []


def test_junit_failure_gives_the_expect_numbers(cli: Invoke, tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    result = cli("run", str(_write(tmp_path, f"[[job]]\n{WRONG}")), "--junit-xml", str(report))
    assert result.exit_code == 1
    failure = _suite(report).find("testcase/failure")
    assert failure is not None and failure.text is not None
    numbers = (
        "x: max abs difference 6 at x[1, 0], max rel difference 3 at x[0, 1], 2 of 6 elements off"
    )
    assert failure.get("message") == (
        f"error: --expect failed for x: autograd's gradient differs from your formula ({numbers})"
    )
    assert failure.text.splitlines()[-1] == numbers
    assert failure.text.startswith("error: --expect failed for x")  # stderr, then the numbers


def test_junit_failure_gives_the_gradcheck_numbers(cli: Invoke, tmp_path: Path) -> None:
    """relu at 0: autograd says 0, central differences 0.5."""
    jobs = '[[job]]\ncommand = "grad"\nexpr = "sum(relu(x))"\nvar = ["x=zeros(2)"]\ncheck = true\n'
    report = tmp_path / "report.xml"
    cli("run", str(_write(tmp_path, jobs)), "--junit-xml", str(report), "--json")
    failure = _suite(report).find("testcase/failure")
    assert failure is not None and failure.text is not None
    assert failure.text.splitlines()[-1] == (
        "x: gradcheck max abs difference 0.5 (eps 1e-06, atol 1e-05, rtol 0.001)"
    )


def test_xfail_through_a_real_process(tmp_path: Path) -> None:
    batch = _write(tmp_path, f'[[job]]\nname = "known"\nxfail = "a known bug"\n{WRONG}')
    report = tmp_path / "report.xml"
    done = subprocess.run(
        [sys.executable, "-m", "autograd_cli", "run", str(batch), "--junit-xml", str(report)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "xfailed" in done.stdout and "[known] error: --expect failed for x" in done.stderr
    suite = _suite(report)
    assert (suite.get("skipped"), suite.get("failures")) == ("1", "0")
    skipped = suite.find("testcase/skipped")
    assert skipped is not None and skipped.get("message") == "expected failure: a known bug"


_toml_values = st.one_of(
    st.booleans(),
    st.text(max_size=20),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(st.booleans(), max_size=2),
)


@given(_toml_values)
def test_xfail_takes_a_bool_or_a_reason(value: object) -> None:
    job = JobSpec(1, "j", "grad", {}, value)
    if isinstance(value, bool):
        assert xfail(job) == ("" if value else None)
    elif isinstance(value, str):
        assert xfail(job) == value
    else:
        with pytest.raises(UsageError, match="key 'xfail' is"):
            xfail(job)


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20))
def test_xfail_is_read_from_the_file_and_is_no_option(
    tmp_path_factory: pytest.TempPathFactory, reason: str
) -> None:
    path = tmp_path_factory.mktemp("xfail") / "jobs.toml"
    quoted = reason.replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(f'[[job]]\ncommand = "grad"\nxfail = "{quoted}"\n', encoding="utf-8")
    (job,) = read_jobs(path)
    assert job.xfail == reason and "xfail" not in job.options


TWICE = """import torch
x = torch.ones(2, requires_grad=True)
y = (x * x).sum()
y.backward()
y.backward()
"""


def test_a_failed_program_is_an_expected_failure_and_a_junit_message(
    cli: Invoke, tmp_path: Path
) -> None:
    """`step` shows a failed program in its view, not on stderr: JUnit still names it."""
    program = tmp_path / "twice.py"
    program.write_text(TWICE, encoding="utf-8")
    step = f'command = "step"\npath = "{program}"\n'
    jobs = f'[[job]]\nname = "known"\nxfail = true\n{step}\n[[job]]\nname = "plain"\n{step}'
    report = tmp_path / "report.xml"
    result = cli("run", str(_write(tmp_path, jobs)), "--json", "--junit-xml", str(report))
    assert result.exit_code == 1 and result.stderr == ""
    assert [d["status"] for d in load_lines(result.stdout)] == ["xfailed", "failed"]
    failure = _suite(report).find("testcase/failure")
    assert failure is not None
    assert (failure.get("message") or "").startswith("error: line 5: ")


def test_workers_give_the_serial_xfail_report(cli: Invoke, tmp_path: Path) -> None:
    """Expected failures and a failure's numbers cross from the worker processes whole."""
    batch = _write(tmp_path, f'{JOBS}\n[[job]]\nname = "off"\n{WRONG}')
    runs = []
    for workers in ("1", "2"):
        report = tmp_path / f"report-{workers}.xml"
        result = cli("run", str(batch), "--json", "--jobs", workers, "--junit-xml", str(report))
        junit = re.sub(r'time="[0-9.]+"', 'time=""', report.read_text(encoding="utf-8"))
        runs.append((result.exit_code, result.stdout, result.stderr, junit))
    assert runs[0] == runs[1]
    assert "x: max abs difference 6 at x[1, 0]" in runs[0][3]
    assert '<skipped type="xfail"' in runs[0][3]
