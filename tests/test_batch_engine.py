"""The batch engine on its own (`batch.engine`), with a stand-in for the command line, and
through the real one: documents handed over as data, never parsed back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from autograd_cli.batch.engine import Commands, Invoked, job_argv, run_job, run_jobs
from autograd_cli.batch.jobfile import JobSpec
from autograd_cli.cli import app
from autograd_cli.errors import CliError, UsageError
from autograd_cli.render.batch import job_line, junit_xml
from conftest import demo_command, load_lines


class StandIn:
    """A command line that records what the engine asked of it and answers as told."""

    def __init__(self, answer: Invoked) -> None:
        self.answer = answer
        self.calls: list[tuple[str, object]] = []

    def commands(self) -> Commands:
        return Commands(self.names, self.command, self.invoke, self.said, self.writable)

    def names(self) -> Sequence[str]:
        return ["go"]

    def command(self, name: str) -> Any:
        return demo_command()

    def invoke(self, argv: list[str], capture: bool, documents: bool) -> Invoked:
        self.calls.append(("invoke", (argv, capture, documents)))
        return self.answer

    def said(self, error: CliError) -> str:
        return f"error: {error}\nhint: {error.hint}"

    def writable(self, path: str) -> object:
        if path.startswith("/nowhere"):
            raise UsageError(f"cannot write {path}")
        return path


def _job(index: int = 1, **options: object) -> JobSpec:
    return JobSpec(index, f"job-{index}", "go", {"target": "x", **options})


def test_the_document_is_the_object_the_command_handed_over() -> None:
    doc = {"schema": "autograd-cli/2", "command": "go", "version": "0", "warnings": []}
    stand_in = StandIn(Invoked(0, "", "", doc=doc))
    ran = run_job(_job(times=2), True, stand_in.commands())
    assert ran.result.doc is doc  # handed over, not written and read back
    assert stand_in.calls == [("invoke", (["go", "--times", "2", "--json", "--", "x"], True, True))]
    fields = {"job": "job-1", "status": "passed", "output": None, "error": None, "xfail": None}
    assert job_line(ran.result) == json.dumps({**doc, **fields}, separators=(",", ":")) + "\n"


def test_a_streamed_document_gets_the_job_fields_appended() -> None:
    streamed = '{"schema":"autograd-cli/2","command":"go","nodes":[1,2]}\n'
    ran = run_job(_job(), True, StandIn(Invoked(1, "", "boom\n", streamed=streamed)).commands())
    assert ran.result.doc is None and ran.result.status == "failed"
    assert job_line(ran.result) == (
        '{"schema":"autograd-cli/2","command":"go","nodes":[1,2],'
        '"job":"job-1","status":"failed","output":null,"error":null,"xfail":null}\n'
    )


def test_the_junit_message_is_the_reported_error_not_stderr_read_back() -> None:
    stderr = "warning: inf\nerror: the words on stderr\n"
    invoked = Invoked(1, "", stderr, error="error: the error itself\nhint: fix it")
    ran = run_job(_job(), False, StandIn(invoked).commands())
    assert ran.stderr == "[job-1] warning: inf\n[job-1] error: the words on stderr\n"
    failure = junit_xml([ran.result], "suite").split("<failure ", 1)[1]
    assert failure.startswith('message="error: the error itself"')


def test_a_bad_job_is_said_in_the_command_lines_words() -> None:
    stand_in = StandIn(Invoked(0, "", ""))
    ran = run_job(_job(nope=1), False, stand_in.commands())
    assert stand_in.calls == []  # never run
    assert ran.result.exit_code == 2 and ran.result.headline == (
        "error: unknown key 'nope' for command 'go'"
    )
    assert (
        ran.stderr.splitlines()[1]
        == "[job-1] hint: valid keys: check, target, times, var, zero-after"
    )
    nameless = run_job(JobSpec(2, "x", None, {}), False, stand_in.commands())
    assert nameless.result.headline == "error: job needs a command, one of: go"


def test_serial_jobs_are_announced_before_they_run() -> None:
    stand_in = StandIn(Invoked(0, "out\n", ""))
    events: list[object] = []
    commands = stand_in.commands()
    jobs = [_job(1), _job(2)]
    for ran in run_jobs(jobs, False, commands, 1, lambda job: events.append(job.index)):
        events.append(ran.stdout)
    assert events == [1, "out\n", 2, "out\n"]


def test_extra_keys_are_the_engines_not_the_jobs() -> None:
    assert job_argv({"check": True}, "go", demo_command(), {"json": True}) == ["--check", "--json"]
    with pytest.raises(UsageError, match="unknown key 'json'"):
        job_argv({"json": True}, "go", demo_command())
    with pytest.raises(UsageError, match="cannot be trusted") as refused:
        job_argv({"trust": True}, "go", demo_command())
    assert refused.value.spelled(lambda name: f"--{name}")[1] == (
        "run your own file with `autograd-cli step --trust FILE`, outside the batch"
    )


_words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)


@given(
    target=_words,
    var=st.lists(_words, max_size=3),
    times=st.integers(-(10**6), 10**6),
    check=st.booleans(),
)
def test_job_argv_parses_back_to_the_job(
    target: str, var: list[str], times: int, check: bool
) -> None:
    """What the parser reads from a job's command line is the job's options, whatever the
    values hold (dashes, `=`, spaces)."""
    command = demo_command()
    options = {"target": target, "var": var, "times": times, "check": check}
    argv = job_argv(options, "go", command, {"json": True})
    parsed = command.make_context("go", argv).params
    assert {**parsed, "var": list(parsed["var"] or [])} == {
        **options,
        "json": True,
        "zero_after": 0,
    }


BATCH = """
[[job]]
command = "graph"
root = "z"

[[job]]
command = "grad"
expr = "sum(x**2)"
var = ["x=randn(3)"]
expect = ["x=3*x"]

[[job]]
command = "graph"
format = "dot"

[[job]]
command = "lesson"
"""


def test_no_json_is_parsed_in_the_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = tmp_path / "jobs.toml"
    batch.write_text(BATCH, encoding="utf-8")
    monkeypatch.setenv("COLUMNS", "80")

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("json.loads in the batch path")

    with monkeypatch.context() as patched:
        patched.setattr(json, "loads", refuse)
        patched.setattr(json.decoder.JSONDecoder, "decode", refuse)
        result = CliRunner().invoke(app, ["run", str(batch), "--json", "--jobs", "1"])
    assert result.exit_code == 1, result.stderr  # the --expect job failed, as it should
    docs = load_lines(result.stdout)
    assert [d["status"] for d in docs] == ["passed", "failed", "passed", "passed"]
    assert docs[1]["expect"][0]["passed"] is False
