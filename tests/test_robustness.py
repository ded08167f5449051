"""Any command line, valid or not, ends in exit 0, 1 or 2: never a traceback, never exit 3.

Command lines are drawn from every command the app has (read from the app itself, so new
commands are covered without touching this file) with valid, invalid and hostile values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from autograd_cli.cli import app
from autograd_cli.records.schema import SCHEMA
from conftest import Invoke, load_document, load_lines

EXPRESSIONS = [
    "sum(x**2)",
    "x @ w + b",
    "mean(sin(x) * 2)",
    "relu(x).sum()",
    "x * 2",
    "log(x) * 0",
    "x / 0",
    "ones(5) @ ones(3)",
    "__import__('os').system('true')",
    "().__class__.__bases__",
    "9**9**9**9",
    "ones(10**12)",
    "(" * 300 + "x" + ")" * 300,
    "",
    "x[",
    "lambda: 1",
    "ünïcödé",
    "binary_cross_entropy_with_logits(x@w+b, y)",
]
VARIABLES = [
    "x=randn(3)",
    "w=randn(3,3)",
    "b=zeros(3)",
    "x=ones(5)",
    "n=arange(3)",
    "z=x*2",
    "x=",
    "=x",
    "x=randn(-1)",
    "x=ones(10**9)",
]
NAMES = ["x", "w", "b", "z", "y", "loss", "inp", "result", "nope", "", "__class__"]
WORDS = ["", "abc", "-1", "1e309", "nan", "0", "3", "--", "'", "[b]red[/b]"]

#: Values per option; options not named here draw from small numbers and odd words.
#: `--bench`, `--size` and `--repeat` are left out: they run timing loops, not checks.
SKIPPED = {"bench", "size", "repeat", "help"}
VALUES: dict[str, st.SearchStrategy[str]] = {
    "expr": st.sampled_from(EXPRESSIONS),
    "vector": st.sampled_from(["ones_like(result)", "ones(3)", "ones(2)", *EXPRESSIONS[:6]]),
    "var": st.sampled_from(VARIABLES),
    "freeze": st.sampled_from(["w", "b", "x", "inp", "nope"]),
    "leaf": st.sampled_from(["w", "b", "x", "inp", "nope"]),
    "root": st.sampled_from(["loss", "z", "x", "nope"]),
    "expect": st.sampled_from(["x=2*x", "x=x", "b=ones(3)", "nope=1", "x", "x=2*q"]),
    "times": st.integers(-2, 12).map(str),
    "every": st.integers(-1, 5).map(str),
    "zero-after": st.integers(-1, 5).map(str),
    "max-elements": st.sampled_from(["1", "10", "10000000", "0", "-5"]),
    "dtype": st.sampled_from(["float32", "float64", "int8", "half"]),
    "format": st.sampled_from(["tree", "table", "json", "dot", "mermaid", "png"]),
    "depth": st.integers(-1, 4).map(str),
    "max-nodes": st.integers(-1, 6).map(str),
    "seed": st.integers(-1, 3).map(str),
    "rtol": st.sampled_from(["1e-5", "0", "-1", "x"]),
    "atol": st.sampled_from(["1e-8", "0.5", "-1", "x"]),
}
DEFAULT_VALUE = st.one_of(st.sampled_from(NAMES + WORDS), st.integers(-3, 9).map(str))


def _command_lines(tmp: Path) -> st.SearchStrategy[list[str]]:
    group: Any = typer.main.get_command(app)
    per_command = []
    for name, command in sorted(group.commands.items()):
        if name == "run":
            continue  # covered below with batch files
        pieces = []
        for param in command.params:
            long = next((o[2:] for o in param.opts if o.startswith("--")), param.name)
            if long in SKIPPED:
                continue
            if param.param_type_name == "argument":
                pieces.append(st.sampled_from(NAMES).map(lambda v: [v]))
            elif param.is_flag:
                pieces.append(st.just([f"--{long}"]))
            elif long == "output":
                target = st.sampled_from([str(tmp / "out.txt"), str(tmp / "missing" / "o.txt")])
                pieces.append(target.map(lambda v: ["-o", v]))
            else:
                pieces.append(_option(f"--{long}", VALUES.get(long, DEFAULT_VALUE)))
        per_command.append(_line(name, pieces))
    return st.one_of(per_command)


def _option(option: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return values.map(lambda value: [option, value])


def _line(command: str, pieces: list[st.SearchStrategy[list[str]]]) -> st.SearchStrategy[list[str]]:
    """The command, then up to five of its options in any order (repeats allowed)."""

    def flatten(parts: tuple[list[str], ...]) -> list[str]:
        return [command, *(arg for part in parts for arg in part)]

    bogus = st.sampled_from([[]] * 9 + [["--bogus-option"]])  # one line in ten
    chosen = st.lists(st.sampled_from(pieces), max_size=5) if pieces else st.just([])
    return st.tuples(chosen.flatmap(lambda ps: st.tuples(*ps)), bogus).map(
        lambda drawn: flatten((*drawn[0], drawn[1]))
    )


def _check(result: Any, argv: list[str]) -> None:
    event(f"{argv[0]} exit {result.exit_code}")  # see --hypothesis-show-statistics
    assert result.exit_code in (0, 1, 2), (argv, result.exit_code, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), argv
    assert "Traceback" not in result.stdout + result.stderr, argv
    if result.exit_code == 2:
        assert result.stdout == "", (argv, "a usage error must not leave half an output")
    elif "--json" in argv and "-o" not in argv:
        load_document(result.stdout)  # exactly one document


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_command_line_ends_cleanly(cli: Invoke, tmp_path: Path, data: st.DataObject) -> None:
    argv = data.draw(_command_lines(tmp_path))
    _check(cli(*argv), argv)


JOB_VALUES = st.one_of(
    st.sampled_from(EXPRESSIONS + VARIABLES + NAMES),
    st.integers(-2, 5),
    st.booleans(),
    st.lists(st.sampled_from(VARIABLES), max_size=2),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    jobs=st.lists(
        st.dictionaries(
            st.sampled_from(["command", "name", "expr", "var", "times", "root", "json", "x"]),
            JOB_VALUES,
            max_size=4,
        ),
        max_size=3,
    ),
    as_json=st.booleans(),
)
def test_any_batch_file_ends_cleanly(
    cli: Invoke, tmp_path: Path, jobs: list[dict[str, Any]], as_json: bool
) -> None:
    lines = []
    for job in jobs:
        lines.append("[[job]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in job.items()]
    path = tmp_path / "jobs.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = ["run", str(path), *(["--json"] if as_json else [])]
    result = cli(*argv)
    assert result.exit_code in (0, 1, 2), (lines, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    if as_json and jobs:
        docs = load_lines(result.stdout)
        assert len(docs) == len(jobs)
        assert all(doc["schema"] == SCHEMA and "status" in doc for doc in docs)
