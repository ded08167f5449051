"""Shared test helpers: a CLI runner, golden files and the JSON schema.

Golden files hold the exact output of rendered views; regenerate them with
`python -m pytest --update-golden` and review the diff like code. Every JSON document a
test reads (through `cli`, `run_json` or `load_document`) is checked against the published
schema, schema/autograd-cli-N.schema.json, so the schema cannot drift from the output.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from hypothesis import settings
from jsonschema import Draft202012Validator
from typer.testing import CliRunner, Result

from autograd_cli.cli import app
from autograd_cli.records.schema import SCHEMA

GOLDEN = Path(__file__).parent / "golden"
#: The published schema of the documents this version writes (`autograd-cli/2` -> ...-2).
SCHEMA_FILE = Path(__file__).parent.parent / "schema" / f"{SCHEMA.replace('/', '-')}.schema.json"

# CI must pass or fail on the commit alone: there the property tests draw the same examples
# every run (HYPOTHESIS_PROFILE=ci, set by .ci/run); elsewhere they explore anew each run.
# No deadline: an example's time says how busy the machine is (on 2 shared cores, 200 ms
# examples took 350), not whether the code is right; speed lives in benchmarks/.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files")


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, actual: str) -> None:
        path = GOLDEN / name
        if update:
            path.write_text(actual, encoding="utf-8")
        assert path.exists(), f"missing golden file {path}; run pytest --update-golden"
        assert actual == path.read_text(encoding="utf-8")

    return check


Invoke = Callable[..., Result]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run the app in-process, as a pipe sees it: 80 columns, no colour, whatever the
    caller's environment says (`NO_COLOR`, `FORCE_COLOR`, `TERM`)."""
    monkeypatch.setenv("COLUMNS", "80")
    for name in ("FORCE_COLOR", "NO_COLOR", "TERM", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None, validate: bool = True) -> Result:
        """`validate=False` for documents of 10^5 numbers and more, which jsonschema takes
        minutes over; their forms are validated on smaller documents."""
        result = runner.invoke(app, list(args), env=env)
        if validate and result.stdout.startswith('{"schema":'):  # --json, --format json, run
            load_lines(result.stdout)
        return result

    return invoke


def run_json(cli: Invoke, *args: str) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return load_document(result.stdout)


@functools.cache
def schema_validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_document(doc: Any) -> None:
    """Fail with every place where `doc` breaks the published schema."""
    errors = sorted(schema_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(document)'}: {e.message[:300]}" for e in errors
    )


def load_document(text: str) -> Any:
    """One JSON document, checked against the schema."""
    doc = json.loads(text)
    validate_document(doc)
    return doc


def load_lines(text: str) -> list[Any]:
    """JSON Lines (`run --json`), each checked against the schema."""
    return [load_document(line) for line in text.splitlines() if line.strip()]


#: The command line run on the probe's arguments, then the names of every module it
#: imported, as one JSON list on the last line of stderr.
_MODULES_PROBE = """
import json, sys
from autograd_cli.cli import app
sys.argv = ["autograd-cli", *sys.argv[1:]]
try:
    app()
except SystemExit as done:
    assert not done.code, done.code
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def run_in_fresh_python(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """`autograd-cli ARGS` in a Python of its own (this one has imported everything
    already), and the modules it imported. It must succeed and write nothing else to
    stderr."""
    out = subprocess.run(
        [sys.executable, "-c", _MODULES_PROBE, *args], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    (line,) = out.stderr.splitlines()
    return out, set(json.loads(line))


def demo_command() -> Any:
    """A Typer command `go` of every kind of parameter a batch job's keys map to (an
    argument, a repeated option, a value, flags, a dashed name), beside a second command,
    as the parser holds it: what the batch engine reads a job's keys against."""
    demo = typer.Typer()

    @demo.command()
    def go(
        target: Annotated[str, typer.Argument()],
        var: Annotated[list[str] | None, typer.Option("--var")] = None,
        times: Annotated[int, typer.Option("--times")] = 1,
        check: Annotated[bool, typer.Option("--check")] = False,
        zero_after: Annotated[int, typer.Option("--zero-after")] = 0,
        json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        pass

    @demo.command()
    def other() -> None:
        pass

    return typer.main.get_command(demo).commands["go"]  # type: ignore[attr-defined]
