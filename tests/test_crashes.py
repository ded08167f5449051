"""Inputs that used to crash the process, each run in a real subprocess: a crash there is a
signal or a traceback, which an in-process runner could hide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograd_cli.build.expression import MAX_VARIABLES
from autograd_cli.cli.app import MAX_COLUMNS, MIN_COLUMNS
from autograd_cli.expr.parser import MAX_DEPTH
from autograd_cli.program.source import MAX_DEPTH as MAX_PROGRAM_DEPTH
from autograd_cli.program.source import MAX_PROGRAM_CHARS

#: The longest chain `a * 1 * ... * 1` one definition can hold within the depth bound.
CHAIN = MAX_DEPTH - 2


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autograd_cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80", **(env or {})},
        check=False,
    )


def _deepest_vars() -> list[str]:
    """MAX_VARIABLES definitions, each a chain as long as the bounds allow on the last: the
    deepest graph of plain ops the bounds let a command line build."""
    defs = ["a0=randn(1)"]
    defs += [f"a{i}=a{i - 1}" + "*1" * CHAIN for i in range(1, MAX_VARIABLES)]
    return defs


def _deepest_argv() -> list[str]:
    argv = ["--expr", f"sum(a{MAX_VARIABLES - 1}" + "*1" * (CHAIN - 1) + ")"]
    for definition in _deepest_vars():
        argv += ["--var", definition]
    return argv


def test_the_deepest_graph_the_bounds_allow_is_freed(tmp_path: Path) -> None:
    """`graph` walks every node from Python, the case torch then frees recursively (a
    segfault at about 4x10^4 nodes, before the bound on variables); in a batch, the jobs
    after it run and the report is written."""
    batch = tmp_path / "jobs.toml"
    batch.write_text(
        "[[job]]\n"
        'command = "graph"\n'
        f"expr = {_deepest_argv()[1]!r}\n"
        f"var = {_deepest_vars()!r}\n\n"
        '[[job]]\ncommand = "lesson"\n',
        encoding="utf-8",
    )
    junit = tmp_path / "report.xml"
    result = _run("run", str(batch), "--json", "--junit-xml", str(junit))
    assert result.returncode == 0, result.stderr[-2000:]
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["status"] for d in docs] == ["passed", "passed"]
    assert len(docs[0]["nodes"]) > (MAX_VARIABLES - 1) * CHAIN
    assert 'tests="2"' in junit.read_text(encoding="utf-8")


def test_more_variables_than_the_bound_are_refused() -> None:
    argv = ["grad", "--expr", "sum(a0)"]
    for i in range(MAX_VARIABLES + 1):
        argv += ["--var", f"a{i}=randn(1)"]
    result = _run(*argv)
    assert result.returncode == 2
    assert f"the limit is {MAX_VARIABLES}" in result.stderr


@pytest.mark.parametrize("nested", ["var = " + "[" * 100_000, "a = " + "{a=" * 100_000])
def test_a_toml_file_nested_too_deep_is_refused(tmp_path: Path, nested: str) -> None:
    batch = tmp_path / "jobs.toml"
    batch.write_text(nested, encoding="utf-8")
    result = _run("run", str(batch))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "nested too deeply" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("columns", ["0", "1", "100000000"])
def test_any_columns_value_gives_a_readable_view(tmp_path: Path, columns: str) -> None:
    target = tmp_path / "lesson.txt"
    result = _run("lesson", "-o", str(target), env={"COLUMNS": columns})
    assert result.returncode == 0
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines and max(len(line) for line in lines) <= MAX_COLUMNS
    assert max(len(line) for line in lines) >= MIN_COLUMNS // 2


@pytest.mark.parametrize("columns", ["0", "1"])
def test_any_columns_value_shows_errors(columns: str) -> None:
    result = _run("grad", "--expr", "sum(", env={"COLUMNS": columns})
    assert result.returncode == 2
    assert "error" in result.stderr.lower()
    assert len(result.stderr.splitlines()) <= 8, result.stderr


def _deep_program(chars: int) -> str:
    """A program of about `chars` characters, each line a chain within the depth bound and
    every intermediate held by a variable: the deepest graph a program that long can keep
    alive."""
    lines = ["import torch", "a0 = torch.ones(1, requires_grad=True)"]
    chain = "*1" * (MAX_PROGRAM_DEPTH - 10)
    size = sum(len(line) + 1 for line in lines)
    while True:
        line = f"a{len(lines) - 1} = a{len(lines) - 2}{chain}"
        if size + len(line) + 1 + 40 > chars:
            break
        lines.append(line)
        size += len(line) + 1
    lines.append(f"a{len(lines) - 2}.sum().backward()")
    return "\n".join(lines) + "\n"


def test_a_deep_program_is_freed(tmp_path: Path) -> None:
    """A program's variables hold a chain of about 2.4x10^4 nodes at its end: `graph` walks
    them all from Python, and the process frees them without a crash. (A quarter of the
    program bound, to keep the suite fast: the longest program, 9.7x10^4 nodes, took 23 s
    of CPU and was freed too, even on the main thread's 8 MiB stack.)"""
    program = tmp_path / "deep.py"
    program.write_text(_deep_program(MAX_PROGRAM_CHARS // 4), encoding="utf-8")
    result = _run("graph", "-f", str(program), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(json.loads(result.stdout)["nodes"]) > 20_000


def test_a_closed_pipe_stops_the_command_quietly() -> None:
    """`autograd-cli graph --json | head -c 100`: the reader goes away long before the
    document (hundreds of KB, more than a pipe holds) ends; the command stops with 141
    (128 + SIGPIPE, as a shell reports it) and says nothing on stderr."""
    chains = [f"a{i}=a{i - 1}" + "*1" * 60 for i in range(1, 20)]
    argv = ["graph", "--json", "--expr", "sum(a19)", "--var", "a0=randn(3)"]
    for chain in chains:
        argv += ["--var", chain]
    process = subprocess.Popen(
        [sys.executable, "-m", "autograd_cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(100)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait() == 141, stderr
    assert stderr == ""
