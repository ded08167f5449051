"""Shared test helpers: a CLI runner and golden files.

Golden files hold the exact output of rendered views; regenerate them with
`python -m pytest --update-golden` and review the diff like code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from typer.testing import CliRunner, Result

from autograd_cli.cli import app

GOLDEN = Path(__file__).parent / "golden"

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

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(app, list(args), env=env)

    return invoke


def run_json(cli: Invoke, *args: str) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)
