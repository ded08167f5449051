"""The parser's mistakes read like the tool's own: one `error:` line, one `hint:` line, exit 2.

Typer would print them in a box with pydantic's words ("Value error, ..."); and its Rich
help would show flags as taking a value (`--json <bool>`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Invoke

COMMANDS = ["graph", "grad", "modes", "accumulate", "backward", "why", "lesson", "run"]


@pytest.mark.parametrize(
    ("argv", "error", "hint"),
    [
        (
            ["graph", "--format", "svg"],
            "error: --format: 'svg' is not one of 'tree', 'table', 'json', 'dot', 'mermaid'",
            "hint: see autograd-cli graph --help",
        ),
        (
            ["grad", "--dtype", "float16"],
            "error: --dtype: 'float16' is not one of 'float32', 'float64'",
            "hint: see autograd-cli grad --help",
        ),
        (
            ["accumulate", "--times", "0"],
            "error: --times: input should be greater than or equal to 1",
            "hint: see autograd-cli accumulate --help",
        ),
        (
            ["graph", "--seed", "2**70"],
            "error: --seed: input should be a valid integer, unable to parse string as an integer",
            "hint: see autograd-cli graph --help",
        ),
        (
            ["graph", "--seed", str(2**70)],
            "error: --seed: torch takes a seed from -2**63 to 2**64-1",
            "hint: see autograd-cli graph --help",
        ),
        (
            ["graph", "--jsn"],
            "error: no such option: --jsn",
            "hint: did you mean '--json' or '--lesson'?",
        ),
        (
            ["graph", "--json", "true"],
            "error: got unexpected extra argument(s) (true)",
            "hint: a flag takes no value: give it alone to turn it on, leave it out to keep it off",
        ),
        (["run"], "error: missing argument 'file'", "hint: see autograd-cli run --help"),
        (["grap"], "error: no such command 'grap'", "hint: did you mean 'graph' or 'grad'?"),
    ],
)
def test_option_error_is_one_error_line_and_a_hint(
    cli: Invoke, argv: list[str], error: str, hint: str
) -> None:
    result = cli(*argv)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [error, hint]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    option=st.sampled_from(["--format", "--seed", "--depth", "--max-nodes", "--root"]),
    value=st.text(st.characters(codec="ascii", categories=["L", "N", "P"]), max_size=8),
)
def test_any_bad_option_is_said_in_the_tools_words(cli: Invoke, option: str, value: str) -> None:
    result = cli("graph", option, value)  # a value that parses shows the lesson's graph: fast
    if result.exit_code == 0:
        return
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: ")
    assert "Value error" not in result.stderr and "╭" not in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_flags_without_a_value(cli: Invoke, command: str) -> None:
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    assert "--json" in result.stdout


def test_top_level_help_shows_flags_without_a_value(cli: Invoke) -> None:
    result = cli("--help")
    assert "--debug" in result.stdout and "<bool>" not in result.stdout


def test_no_command_prints_the_help_and_exits_2(cli: Invoke) -> None:
    result = cli()
    assert result.exit_code == 2 and "Commands" in result.stdout


def test_batch_job_option_errors_read_the_same(cli: Invoke, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.toml"
    jobs.write_text('[[job]]\nname = "svg"\ncommand = "graph"\nformat = "svg"\n', "utf-8")
    result = cli("run", str(jobs))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "[svg] error: --format: 'svg' is not one of 'tree', 'table', 'json', 'dot', 'mermaid'",
        "[svg] hint: see autograd-cli graph --help",
    ]


def test_through_a_real_process() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "autograd_cli", "graph", "--format", "svg"],
        capture_output=True,
        text=True,
    )
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.startswith("error: --format: 'svg' is not one of")
