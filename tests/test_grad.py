"""`grad` (and `graph --expr`): views, JSON, v^T J, gradcheck and Hessians, against torch."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import pytest
import torch

from autograd_cli.build.computation import Computation
from autograd_cli.defaults import GRADCHECK_ATOL, GRADCHECK_EPS, GRADCHECK_RTOL
from autograd_cli.inspection.grads import inspect_grads
from autograd_cli.records.schema import SCHEMA
from conftest import Invoke, load_document, run_json

Golden = Callable[[str, str], None]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("grad_lesson.txt", ["--seed", "0"]),
        (
            "grad_vector_jacobian.txt",
            ["--expr", "x ** 2 * w", "--var", "x=randn(3)", "--var", "w=tensor([1., 2., 3.])",
             "--wrt", "x", "--vector", "ones_like(result)", "--jacobian"],
        ),
        (
            "grad_check_hessian.txt",
            ["--expr", "sum(sin(x) * w)", "--var", "x=randn(2)", "--var", "w=randn(2)",
             "--check", "--hessian"],
        ),
        ("grad_summary.txt", ["--expr", "sum(x ** 2)", "--var", "x=randn(3, 4, 5)"]),
    ],
)  # fmt: skip
def test_views_match_golden(cli: Invoke, golden: Golden, name: str, args: list[str]) -> None:
    result = cli("grad", *args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    golden(name, result.stdout)


def test_error_points_at_the_column(cli: Invoke, golden: Golden) -> None:
    result = cli("grad", "--expr", "sum(sinn(x)) * 2", "--var", "x=ones(3)")
    assert result.exit_code == 2 and result.stdout == ""
    golden("grad_error_caret.txt", result.stderr)
    lines = result.stderr.splitlines()
    assert lines[2].index("^") == lines[1].index("sinn")


def test_json_document(cli: Invoke) -> None:
    doc = run_json(cli, "grad", "--expr", "sum(z)", "--var", "x=ones(2)", "--var", "z=x * 3")
    assert doc["schema"] == SCHEMA and doc["command"] == "grad"
    assert doc["value"] == 6.0 and doc["result"]["grad_fn"] == "SumBackward0"
    assert doc["vector"] is None and doc["jacobian"] is None and doc["check"] is None
    assert doc["warnings"] == []
    x, z = doc["variables"]
    assert set(x) >= {"name", "shape", "dtype", "requires_grad", "is_leaf", "grad"}
    assert (x["name"], x["shape"], x["dtype"]) == ("x", [2], "float32")
    assert (x["requires_grad"], x["is_leaf"], x["grad"]) == (True, True, [3.0, 3.0])
    assert (z["is_leaf"], z["grad_fn"], z["grad"]) == (False, "MulBackward0", [1.0, 1.0])


def test_lesson_gradients_equal_torch_written_out(cli: Invoke) -> None:
    g = torch.Generator().manual_seed(3)
    x, y = torch.ones(5), torch.zeros(3)
    w = torch.randn(5, 3, generator=g, requires_grad=True)
    b = torch.randn(3, generator=g, requires_grad=True)
    torch.nn.functional.binary_cross_entropy_with_logits(torch.matmul(x, w) + b, y).backward()
    assert w.grad is not None and b.grad is not None
    expr = ["--lesson", "--expr", "binary_cross_entropy_with_logits(x@w+b, y)"]
    for args in ([], expr):
        doc = run_json(cli, "grad", "--seed", "3", *args)
        got = {v["name"]: v["grad"] for v in doc["variables"]}
        assert torch.equal(torch.tensor(got["w"]), w.grad)
        assert torch.equal(torch.tensor(got["b"]), b.grad)


@pytest.mark.parametrize(
    ("expr", "variables"),
    [
        ("x ** 2", ["x=randn(4)"]),
        ("w @ x + b", ["w=randn(3, 4)", "x=randn(4)", "b=randn(3)"]),
        ("softmax(a, dim=-1)", ["a=randn(2, 3)"]),
        ("a.T @ a", ["a=randn(3, 2)"]),
    ],
)
def test_vjp_equals_gradient(cli: Invoke, expr: str, variables: list[str]) -> None:
    options = [arg for v in variables for arg in ("--var", v)]
    doc = run_json(
        cli, "grad", "--expr", expr, *options, "--vector", "randn_like(result)", "--jacobian"
    )
    v = torch.tensor(doc["vector"]).reshape(-1)
    grads = {d["name"]: torch.tensor(d["grad"]) for d in doc["variables"] if d["is_leaf"]}
    assert [j["name"] for j in doc["jacobian"]] == list(grads)
    for j in doc["jacobian"]:
        jacobian = torch.tensor(j["jacobian"])
        assert list(jacobian.shape) == j["shape"] == [v.numel(), grads[j["name"]].numel()]
        vjp = (v @ jacobian).reshape(grads[j["name"]].shape)
        torch.testing.assert_close(vjp, grads[j["name"]], rtol=1e-5, atol=1e-5)
        assert j["matches_grad"] is True


def test_hessian_of_a_cubic(cli: Invoke) -> None:
    doc = run_json(cli, "grad", "--expr", "sum(x ** 3) + sum(x * y)", "--var", "x=randn(3)",
                   "--var", "y=randn(3)", "--hessian")  # fmt: skip
    x = torch.randn(3, generator=torch.Generator().manual_seed(0))  # as --seed 0 drew it
    blocks = {tuple(h["of"]): torch.tensor(h["values"]) for h in doc["hessian"]}
    torch.testing.assert_close(blocks[("x", "x")], torch.diag(6 * x))
    torch.testing.assert_close(blocks[("x", "y")], torch.eye(3))
    torch.testing.assert_close(blocks[("y", "y")], torch.zeros(3, 3))


class Square(torch.autograd.Function):
    """x ** 2 with a backward that is right or (wrong=True) off by a third."""

    wrong = False

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        x: torch.Tensor = ctx.saved_tensors[0]
        return grad * (3 if Square.wrong else 2) * x


square = cast(Callable[[torch.Tensor], torch.Tensor], Square.apply)


def square_computation() -> Computation:
    x = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)

    def rebuild(leaves: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return square(leaves.get("x", x)).sum()

    return Computation(rebuild({}), "result", {"x": x}, rebuild, {"result": "sum(square(x))"})


@pytest.mark.parametrize("wrong", [False, True])
def test_check_catches_a_wrong_backward(monkeypatch: pytest.MonkeyPatch, wrong: bool) -> None:
    monkeypatch.setattr(Square, "wrong", wrong)
    report = inspect_grads(square_computation(), check=True)
    assert report.check is not None
    (row,) = report.check
    assert row.passed is not wrong
    # the analytical Jacobian is 3x instead of 2x: off by |x| at most, 2.0 at x = -2
    assert row.max_difference == pytest.approx(2.0 if wrong else 0.0, abs=1e-6)


def test_check_exits_1_on_a_mismatch(cli: Invoke) -> None:
    """relu at 0: autograd says 0, central differences (h - 0) / 2h = 0.5: a real mismatch."""
    args = ("grad", "--expr", "sum(relu(x))", "--var", "x=zeros(2)", "--check")
    result = cli(*args)
    assert result.exit_code == 1
    assert "│ x        │ 5.00e-01           │ ✗ FAIL    │" in result.stdout
    assert "gradcheck failed for x" in result.stderr and "Traceback" not in result.stderr
    json_result = cli(*args, "--json")
    assert json_result.exit_code == 1
    (check,) = load_document(json_result.stdout)["check"]
    assert check == {
        "name": "x",
        "passed": False,
        "max_difference": 0.5,
        "eps": GRADCHECK_EPS,  # the step and tolerances it was judged with
        "atol": GRADCHECK_ATOL,
        "rtol": GRADCHECK_RTOL,
    }


def test_check_passes_on_the_lesson_and_expressions(cli: Invoke) -> None:
    for args in (
        [],
        ["--expr", "mse_loss(tanh(w @ x), y)", "--var", "w=randn(2, 3)", "--var", "x=randn(3)",
         "--var", "y=randn(2)"],
    ):  # fmt: skip
        doc = run_json(cli, "grad", "--check", *args)
        assert doc["check"] and all(c["passed"] for c in doc["check"])
        assert all(c["max_difference"] < 1e-6 for c in doc["check"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--expr", "x * 2", "--var", "x=ones(3)"], "needs a vector v of that shape"),
        (["--expr", "x * 2", "--var", "x=ones(3)", "--vector", "ones(2)"], "--vector has shape"),
        (["--expr", "sum(n)", "--var", "n=tensor([1, 2])"], "n is an integer tensor (int64)"),
        (["--expr", "sum(x)", "--var", "x=tensor([1, 2])", "--wrt", "x"], "integer tensor"),
        (
            ["--expr", "sum(x)", "--var", "x=inference_mode(randn(3))", "--wrt", "x"],
            "x was made under inference_mode",
        ),
        (["--expr", "sum(x) + y", "--var", "x=ones(2)"], "unknown name 'y'"),
        (["--expr", "x", "--var", "x=ones(2)", "--vector", "ones(2)", "--hessian"], "scalar"),
        (["--var", "x=ones(2)"], "--var needs --expr"),
        (["--dtype", "float64"], "--dtype applies to --expr"),
        (["--rtol", "0.1"], "--rtol tunes --expect only, and no --expect is given"),
        (["--atol", "0"], "--atol tunes --expect only"),
        (["--expr", "ones(3) @ ones(4)"], "@"),
    ],
)
def test_user_errors_exit_2_in_plain_words(cli: Invoke, args: list[str], message: str) -> None:
    result = cli("grad", *args)
    assert result.exit_code == 2
    assert message in result.stderr and result.stdout == ""
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command", [["graph"], ["modes"], ["accumulate"], ["backward"], ["why", "x"]]
)
def test_wrt_an_inference_tensor_is_refused_by_every_command(
    cli: Invoke, command: list[str]
) -> None:
    result = cli(*command, "--expr", "sum(x)", "--var", "x=inference_mode(randn(3))",
                 "--wrt", "x")  # fmt: skip
    assert result.exit_code == 2 and result.stdout == ""
    assert "x was made under inference_mode" in result.stderr
    assert "it can never require grad" in result.stderr


def test_misspelt_variable_suggests_the_closest(cli: Invoke) -> None:
    result = cli("grad", "--expr", "sum(weight * x)", "--var", "weights=ones(2)", "--var",
                 "x=ones(2)")  # fmt: skip
    assert "hint: did you mean 'weights'?" in result.stderr


def test_inf_is_warned_where_it_appears(cli: Invoke) -> None:
    result = cli("grad", "--expr", "sum(1 / x)", "--var", "x=tensor([0., 2.])")
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines[0] == "warning: this gives inf or nan (a division by zero)"
    assert lines[1:3] == ["  sum(1 / x)", "      ^^^^^"]
    assert "warning: x.grad holds inf or nan" in result.stderr


def test_float64_and_same_seed_same_bytes(cli: Invoke) -> None:
    args = ["grad", "--expr", "sum(x ** 2)", "--var", "x=randn(3)", "--dtype", "float64"]
    first, second = cli(*args, "--json"), cli(*args, "--json")
    assert first.stdout == second.stdout
    assert load_document(first.stdout)["variables"][0]["dtype"] == "float64"


def test_graph_names_variables_and_intermediates(cli: Invoke) -> None:
    doc = run_json(cli, "graph", "--expr", "sum(z ** 2)", "--var", "x=ones(5)", "--var",
                   "w=randn(5, 3)", "--var", "z=x @ w")  # fmt: skip
    leaves = {n["leaf"] for n in doc["nodes"] if n["leaf"]}
    tensors = {n["tensor"] for n in doc["nodes"] if n["tensor"]}
    assert leaves == {"x", "w"} and tensors == {"z", "result"}
    assert doc["nodes"][doc["root"]]["tensor"] == "result"
    assert cli("graph", "--expr", "x", "--var", "x=ones(1)", "--root", "z").exit_code == 2


@pytest.mark.parametrize("command", [["graph"], ["backward"], ["why", "x"]])
@pytest.mark.parametrize("root", ["loss", "z"])
def test_root_is_refused_with_expr_even_as_the_default(
    cli: Invoke, command: list[str], root: str
) -> None:
    result = cli(*command, "--expr", "sum(x)", "--var", "x=randn(3)", "--root", root)
    assert result.exit_code == 2 and result.stdout == ""
    assert f"--root {root} picks a tensor of the lesson network" in result.stderr


def test_docs_list_every_whitelisted_function() -> None:
    from autograd_cli.expr.whitelist import FUNCTIONS

    docs = (Path(__file__).parent.parent / "docs" / "expressions.md").read_text(encoding="utf-8")
    assert [name for name in FUNCTIONS if f"`{name}" not in docs] == []


def test_subprocess_grad_json() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "autograd_cli", "grad", "--expr", "sum(sin(x))", "--var",
         "x=tensor([0., 1.])", "--json"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    grad = load_document(out.stdout)["variables"][0]["grad"]
    torch.testing.assert_close(torch.tensor(grad), torch.cos(torch.tensor([0.0, 1.0])))


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--check", "--check: x has no elements; finite differences need at least one"),
        ("--hessian", "--hessian: x has no elements"),
    ],
)
def test_checks_refuse_an_empty_variable(cli: Invoke, option: str, message: str) -> None:
    result = cli(
        "grad", "--expr", "sum(x) + sum(y)", "--var", "x=randn(0)", "--var", "y=randn(2)", option
    )
    assert result.exit_code == 2 and message in result.stderr


@pytest.mark.parametrize("seed", [str(2**64), str(-(2**63) - 1), "99999999999999999999"])
def test_seed_out_of_torch_range_is_a_usage_error(cli: Invoke, seed: str) -> None:
    result = cli("grad", "--seed", seed)
    assert result.exit_code == 2 and "--seed" in result.stderr


@pytest.mark.parametrize("seed", [str(2**64 - 1), str(-(2**63))])
def test_seed_at_torch_bounds_runs(cli: Invoke, seed: str) -> None:
    assert (
        cli("grad", "--expr", "sum(randn(3) * x)", "--var", "x=randn(3)", "--seed", seed).exit_code
        == 0
    )


@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (
            ["--var", "x=-4", "--expr", "x*x"],
            "error: the result does not depend on any variable that requires grad: x is an "
            "integer tensor (int64), and integer tensors never require grad",
            "hint: write x=-4.0: a float tensor can require grad",
        ),
        (
            ["--var", "x=-4", "--expr", "x*x", "--wrt", "x"],
            "error: --wrt x: x is an integer tensor (int64); only floating-point tensors can "
            "require grad",
            "hint: write x=-4.0: a float tensor can require grad",
        ),
        (
            ["--var", "n=tensor([1, 2])", "--expr", "sum(n*n)"],
            "error: the result does not depend on any variable that requires grad: n is an "
            "integer tensor (int64), and integer tensors never require grad",
            "hint: write its numbers as floats, e.g. tensor([1., 2.])",
        ),
    ],
)
def test_an_integer_variable_is_named_with_its_float_spelling(
    cli: Invoke, args: list[str], error: str, hint: str
) -> None:
    result = cli("grad", *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [error, hint]


def test_the_report_is_the_same_whatever_it_is_shown_as(cli: Invoke) -> None:
    """Inspection keeps every value of a tensor too large to show: the view shows its
    summary, the document the values, from one report."""
    from autograd_cli.build.expression import expression_computation
    from autograd_cli.records.tensors import Summary

    report = inspect_grads(expression_computation("sum(x ** 2)", ["x=ones(3, 4, 5)"]))
    (variable,) = report.variables
    assert isinstance(variable.grad, Summary) and variable.grad.values == [[[2.0] * 5] * 4] * 3
    args = ["grad", "--expr", "sum(x ** 2)", "--var", "x=ones(3, 4, 5)"]
    doc = run_json(cli, *args)
    assert doc["variables"][0]["grad"] == variable.grad.values
    assert "min" in cli(*args).stdout  # the view: the summary's statistics, not 60 numbers
