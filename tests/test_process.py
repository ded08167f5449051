"""Through a real process: the installed entry point, exit codes, and a torch-free --help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import load_document, run_in_fresh_python

HELP_PROBE = """
import sys
from typer.testing import CliRunner
from autograd_cli.cli import app
runner = CliRunner()
for args in ([], ["--help"], *([c, "--help"] for c in sys.argv[1:])):
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 2), (args, result.output)
layers = ("autograd_cli.inspection", "autograd_cli.build", "autograd_cli.expr")
print("torch" in sys.modules, sorted(m for m in sys.modules if m.startswith(layers)))
"""


def test_help_does_not_import_torch() -> None:
    from autograd_cli.cli import COMMANDS as commands

    assert {"graph", "grad", "lesson", "modes", "accumulate", "backward", "why", "run"} <= set(
        commands
    )
    out = subprocess.run(
        [sys.executable, "-c", HELP_PROBE, *commands], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False []"  # nor any layer that computes


COMMAND_PROBE = """
import sys
from typer.testing import CliRunner
from autograd_cli.cli import app
result = CliRunner().invoke(app, [sys.argv[1], "--help"])
assert result.exit_code == 0, result.output
print(sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("autograd_cli.cli.")))
"""


def test_a_command_loads_its_own_module_alone() -> None:
    """Start-up: `graph` imports the graph command's module, not the other seven."""
    out = subprocess.run(
        [sys.executable, "-c", COMMAND_PROBE, "graph"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "['app', 'coercion', 'graph', 'options', 'parsing', 'worker']"


def test_help_lists_every_command_with_its_help() -> None:
    import typer
    from typer.testing import CliRunner

    from autograd_cli.cli import COMMANDS, app

    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    group = typer.main.get_command(app)
    for name in COMMANDS:
        command = group.get_command(typer.Context(group), name)  # type: ignore[attr-defined]
        assert command is not None and command.help
        line = next(line for line in result.output.splitlines() if line.startswith(f"│ {name} "))
        assert command.help.split("\n")[0].rstrip(".") in line


@pytest.mark.parametrize("args", [["graph", "--json"], ["lesson", "--json"], ["modes", "--json"]])
def test_module_entry_point_json(args: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "autograd_cli", *args], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert load_document(out.stdout)["command"] == args[0]


def test_usage_error_exit_code_and_no_traceback() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "autograd_cli", "graph", "--root", "nope"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("error: --root nope: the program binds no tensor called 'nope'")
    assert "hint: its tensors: x, y, w, b, z, loss" in out.stderr


def test_shell_completion() -> None:
    # Typer guesses the shell from the parent processes, which a test runner does not control;
    # Typer's own tests switch the guess off so that `--show-completion` takes the shell's name.
    script = subprocess.run(
        [sys.executable, "-m", "autograd_cli", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
    )
    assert script.returncode == 0
    assert "complete -o default -F _autograd_cli_completion autograd-cli" in script.stdout
    env = {
        **os.environ,
        "_AUTOGRAD_CLI_COMPLETE": "complete_bash",
        "COMP_WORDS": "autograd-cli gra",
        "COMP_CWORD": "1",
    }
    words = subprocess.run(
        [sys.executable, "-m", "autograd_cli"], capture_output=True, text=True, env=env
    )
    assert words.stdout.split() == ["grad", "graph"]


def test_long_accumulation_through_a_pipe() -> None:
    """A long run: no progress bar on a piped stderr, a glimpse on stdout, exit 0."""
    out = subprocess.run(
        [sys.executable, "-m", "autograd_cli", "accumulate", "--times", "10000"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and out.stderr == ""
    assert "⋮ calls 4 to 9999 not shown" in out.stdout
    assert "inp.grad after call 10000\n" in out.stdout and "40000.0000" in out.stdout
    assert "inp.grad after call 10001, after zero_()" in out.stdout


def test_help_paragraphs_are_single_lines() -> None:
    """Typer keeps a docstring's line breaks in --help, so a wrapped paragraph breaks
    mid-sentence there: each paragraph of a command's help must be one line."""
    import typer

    from autograd_cli.cli import app

    group = typer.main.get_command(app)
    for name, command in getattr(group, "commands", {}).items():
        for paragraph in (command.help or "").strip().split("\n\n"):
            assert "\n" not in paragraph.strip(), f"{name}: {paragraph!r}"


TUTORIAL = str(Path(__file__).parents[1] / "examples" / "tutorial.py")


@pytest.mark.parametrize(
    "args",
    [
        ["graph", "--format", "dot"],
        *(
            [*command, "--json"]
            for command in (
                ["graph"],
                ["grad"],
                ["why", "w"],
                ["why", "--all"],
                ["backward"],
                ["accumulate"],
                ["accumulate", "--file", TUTORIAL],
                ["modes"],
                ["lesson"],
                ["step", TUTORIAL],
            )
        ),
    ],
    ids=" ".join,
)
def test_exports_load_no_rich(args: list[str]) -> None:
    """A document for a script: no terminal to draw for, so Rich is not even imported, by
    any command's `--json`."""
    out, modules = run_in_fresh_python(*args)
    assert out.stdout.endswith("\n")
    assert not _rich(modules)


GC_PROBE = """
import gc, sys
import torch
full = []
gc.callbacks.append(lambda phase, info: phase == "start" and full.append(info["generation"]))
from autograd_cli.cli import app
sys.argv = ["autograd-cli", *sys.argv[1:]]
try:
    app()
except SystemExit as done:
    assert not done.code, done.code
print(full.count(2), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["graph"], ["grad", "--json"]], ids=" ".join)
def test_no_full_collection_rescans_torch(args: list[str]) -> None:
    """Start-up: what `import torch` made is frozen out of the garbage collector's scans,
    so no full collection (0.1 s of CPU over those objects) runs in a plain command."""
    out = subprocess.run([sys.executable, "-c", GC_PROBE, *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "0"


def test_a_json_batch_loads_no_rich(tmp_path: Path) -> None:
    """`run --json` writes JSON Lines only: its start-up, which no worker shares, loads no
    Rich (nor its summary table, nor the JUnit writer)."""
    jobs = tmp_path / "jobs.toml"
    jobs.write_text(
        '[[job]]\ncommand = "grad"\nexpr = "sum(x * x)"\nvar = ["x=randn(3)"]\ncheck = true\n',
        encoding="utf-8",
    )
    args = ["run", "--json", "--jobs", "1", str(jobs)]
    out, modules = run_in_fresh_python(*args)
    assert '"status":"passed"' in out.stdout
    assert not _rich(modules)


def _rich(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == "rich" or m.startswith("rich."))
