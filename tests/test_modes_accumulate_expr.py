"""`modes` and `accumulate` over `--expr`: the same facts as for the lesson, `--vector`, `-o`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from autograd_cli.build.expression import expression_computation
from autograd_cli.cli import app
from conftest import Invoke, load_document, run_json

XW = ["--var", "x=randn(3)", "--var", "w=randn(3)"]
NOT_SCALAR = "not a single number, so backward() needs a vector"


@pytest.mark.parametrize(
    ("expr", "extra", "wrt"),
    [
        ("sum(sin(x) * w)", ["--wrt", "w"], ["w"]),
        ("x * w", ["--vector", "ones_like(result)"], ["x", "w"]),
        ("binary_cross_entropy_with_logits(x@w+b, y)", ["--lesson"], ["w", "b"]),
    ],
)
def test_modes_over_expressions(cli: Invoke, expr: str, extra: list[str], wrt: list[str]) -> None:
    args = ["--expr", expr, *extra, *([] if "--lesson" in extra else XW)]
    doc = run_json(cli, "modes", *args)
    rows = {row["mode"]: row for row in doc["rows"]}
    assert doc["result"] == "result" and doc["freeze"] == wrt[0]
    assert rows["plain"]["backward"]["filled"] == wrt
    assert rows["plain"]["saved_bytes"] > 0  # each of these saves an operand for backward
    for mode in ("no_grad", "inference_mode", "set_grad_enabled"):
        row = rows[mode]
        assert row["saved_bytes"] == 0 and not row["requires_grad"]
        backward = row["backward"]
        assert backward["works"] is False and backward["failure"]["error"] == "RuntimeError"
    assert rows["detach"]["shares_storage"] and rows["detach"]["inplace"] is not None
    assert rows["enable_grad"]["backward"]["filled"] == wrt
    assert rows["frozen"]["backward"]["filled"] == wrt[1:]
    # The plain row is the expression itself: the same grad_fn as built directly.
    lesson = "--lesson" in extra
    built = expression_computation(expr, [] if lesson else XW[1::2], lesson=lesson)
    assert rows["plain"]["grad_fn"] == type(built.result.grad_fn).__name__


def test_modes_backward_uses_the_vector(cli: Invoke) -> None:
    doc = run_json(cli, "modes", "--expr", "x * w", *XW, "--vector", "2 * ones_like(result)")
    assert doc["backward"] == "result.backward(2 * ones_like(result))"


def test_modes_bench_times_the_expression(cli: Invoke) -> None:
    doc = run_json(cli, "modes", "--expr", "sum(tanh(x @ w))", *XW, "--bench", "--repeat", "1")
    bench = doc["bench"]
    assert bench["size"] is None and bench["repeat"] == 1
    rows = {row["mode"]: row for row in bench["rows"]}
    assert rows["tracked"]["saved_bytes"] > 0 and rows["no_grad"]["saved_bytes"] == 0
    assert rows["tracked"]["code"] == "result = ...; result.backward()"
    vector = ["--vector", "ones_like(result)", "--bench", "--repeat", "1"]
    tracked = run_json(cli, "modes", "--expr", "x * w", *XW, *vector)["bench"]["rows"][0]
    assert tracked["code"] == "result = ...; result.backward(torch.ones_like(result))"


# --- accumulate ---------------------------------------------------------------------------

UNARY = ("sin", "cos", "tanh", "sigmoid")  # bounded, so no inf or nan spoils the law
LEAVES = ("x", "w")


def _leaf(name: str) -> tuple[str, frozenset[str]]:
    return name, frozenset({name})


def _extend(
    children: st.SearchStrategy[tuple[str, frozenset[str]]],
) -> st.SearchStrategy[tuple[str, frozenset[str]]]:
    unary = st.tuples(st.sampled_from(UNARY), children).map(
        lambda t: (f"{t[0]}({t[1][0]})", t[1][1])
    )
    binary = st.tuples(children, st.sampled_from("+-*"), children).map(
        lambda t: (f"({t[0][0]} {t[1]} {t[2][0]})", t[0][1] | t[2][1])
    )
    return unary | binary


#: (expression text, the leaves it uses).
EXPRESSIONS = st.recursive(st.sampled_from(LEAVES).map(_leaf), _extend, max_leaves=6)


@settings(max_examples=12, deadline=None)
@given(
    expression=EXPRESSIONS,
    scalar=st.booleans(),
    times=st.integers(1, 30),
    data=st.data(),
)
def test_k_times_law_for_random_expressions(
    expression: tuple[str, frozenset[str]], scalar: bool, times: int, data: st.DataObject
) -> None:
    text, used = expression
    expr = f"sum({text})" if scalar else text
    leaf = data.draw(st.sampled_from(sorted(used)))
    vector = [] if scalar else ["--vector", "ones_like(result)"]
    args = ["--expr", expr, *XW, *vector, "--leaf", leaf, "--times", str(times), "--json"]
    result = CliRunner().invoke(app, ["accumulate", *args])
    assert result.exit_code == 0, result.stderr
    doc = load_document(result.stdout)
    assert doc["law_holds"] and doc["leaf"] == leaf and doc["calls_made"] == times + 1
    # The first call's gradient, from torch directly on the same tensors.
    built = expression_computation(expr, XW[1::2])
    tensor = built.tensors[leaf]
    (first,) = torch.autograd.grad(built.result, tensor, torch.ones_like(built.result))
    for call in doc["calls"]:
        k = call["since_zero"]
        assert torch.allclose(torch.tensor(call["grad"]), k * first, rtol=k * 1e-6, atol=1e-6)


def test_accumulate_watches_the_first_wrt_leaf_by_default(cli: Invoke) -> None:
    args = ["accumulate", "--expr", "sum(x * w)", *XW]
    assert run_json(cli, *args)["leaf"] == "x"
    assert run_json(cli, *args, "--wrt", "w")["leaf"] == "w"
    assert run_json(cli, *args, "--leaf", "w")["leaf"] == "w"
    refused = cli(*args, "--wrt", "w", "--leaf", "x")
    assert refused.exit_code == 2 and "--leaf x: not a leaf that requires grad" in refused.stderr


# --- --vector, --size: usage errors ---------------------------------------------------------


@pytest.mark.parametrize("command", ["modes", "accumulate"])
def test_a_non_scalar_result_needs_vector(cli: Invoke, command: str) -> None:
    """The words `grad` uses, in every command that runs backward from --expr."""
    args = ["--expr", "x * w", *XW]
    result = cli(command, *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert f"the result has shape (3,), {NOT_SCALAR}" in result.stderr
    assert "add --vector 'ones_like(result)'" in result.stderr
    assert cli("grad", *args).stderr == result.stderr
    wrong = cli(command, *args, "--vector", "ones(2)")
    assert wrong.exit_code == 2
    assert "--vector has shape (2,), but the result has shape (3,)" in wrong.stderr


def test_size_with_expr_is_refused(cli: Invoke) -> None:
    result = cli("modes", "--expr", "sum(x * w)", *XW, "--bench", "--size", "8")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--size scales the lesson network" in result.stderr


@pytest.mark.parametrize("command", ["modes", "accumulate"])
def test_expression_options_need_expr(cli: Invoke, command: str) -> None:
    result = cli(command, "--var", "x=randn(3)")
    assert result.exit_code == 2 and "--var needs --expr" in result.stderr


@pytest.mark.parametrize("command", ["graph", "grad", "modes", "accumulate", "backward", "why"])
@pytest.mark.parametrize(
    ("option", "message"),
    [(["--lesson"], "--lesson needs --expr"), (["--max-elements", "5"], "--max-elements needs")],
)
def test_lesson_and_max_elements_need_expr(
    cli: Invoke, command: str, option: list[str], message: str
) -> None:
    args = [command, "w"] if command == "why" else [command]
    result = cli(*args, *option)
    assert result.exit_code == 2 and message in result.stderr


def test_accumulate_scalar_result_shows_a_bare_backward(cli: Invoke) -> None:
    scalar = cli("accumulate", "--expr", "sum(x * w)", *XW)
    assert "    result.backward(retain_graph=True)\n" in scalar.stdout
    vector = cli("accumulate", "--expr", "x * w", *XW, "--vector", "ones_like(x)")
    assert "    result.backward(ones_like(x), retain_graph=True)\n" in vector.stdout


# --- -o/--output ----------------------------------------------------------------------------

COMMANDS = [
    ["modes"],
    ["accumulate"],
    ["accumulate", "--expr", "sum(sin(x) * w)", *XW, "--times", "4"],
]


@pytest.mark.parametrize("args", COMMANDS)
def test_output_holds_the_bytes_stdout_would(cli: Invoke, tmp_path: Path, args: list[str]) -> None:
    for view in (["--json"], []):
        target = tmp_path / "out.txt"
        to_stdout = cli(*args, *view)
        to_file = cli(*args, *view, "-o", str(target))
        assert to_stdout.exit_code == to_file.exit_code == 0
        assert to_file.stdout == "" and f"wrote {target}" in to_file.stderr
        assert target.read_bytes() == to_stdout.stdout.encode()


@pytest.mark.parametrize("command", ["modes", "accumulate"])
def test_failed_run_leaves_the_old_file(cli: Invoke, tmp_path: Path, command: str) -> None:
    target = tmp_path / "out.json"
    target.write_text("old\n")
    result = cli(command, "--expr", "x * w", *XW, "--json", "-o", str(target))
    assert result.exit_code == 2 and NOT_SCALAR in result.stderr
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left


X_SQUARED = ["--expr", "sum(x * x)", "--var", "x=tensor([1., 2.])"]


def test_accumulate_expr_through_a_process() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "autograd_cli", "accumulate", "--json", "--times", "3", *X_SQUARED],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and out.stderr == ""
    doc = load_document(out.stdout)
    assert [c["grad"] for c in doc["calls"]] == [[2, 4], [4, 8], [6, 12], [2, 4]]
    assert doc["leaf"] == "x" and doc["law_holds"] is True


def test_output_dash_is_stdout_and_an_empty_name_is_refused(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    to_dash = cli("modes", "-o", "-")
    assert to_dash.exit_code == 0 and to_dash.stdout == cli("modes").stdout
    assert "wrote" not in to_dash.stderr and list(tmp_path.iterdir()) == []
    empty = cli("modes", "-o", "")
    assert empty.exit_code == 2 and "empty file name" in empty.stderr
    folder = cli("modes", "-o", ".")
    assert folder.exit_code == 2 and "'.' is a directory" in folder.stderr
