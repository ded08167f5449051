"""Evaluating expressions and building computations: values, bounds, dtypes, variables,
grad rules and `rebuild`, checked against torch written out by hand."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_cli.build.expression import evaluate_text, expression_computation
from autograd_cli.build.lesson import build_lesson
from autograd_cli.cli.app import option_name
from autograd_cli.errors import UsageError, allocation_error, backward_error
from autograd_cli.expr.evaluate import Evaluator
from autograd_cli.expr.parser import parse


def evaluate(text: str, max_elements: int = 10_000_000, **scope: torch.Tensor) -> object:
    evaluator = Evaluator(
        dtype=torch.float32, generator=torch.Generator().manual_seed(0), max_elements=max_elements
    )
    return evaluator.evaluate(parse(text, list(scope)), scope)


def refusal(text: str, **kwargs: object) -> UsageError:
    with pytest.raises(UsageError) as caught:
        evaluate(text, **kwargs)  # type: ignore[arg-type]
    return caught.value


def grads(expr: str, *variables: str, **kwargs: object) -> dict[str, torch.Tensor]:
    computation = expression_computation(expr, variables, **kwargs)  # type: ignore[arg-type]
    computation.result.backward()
    return {n: t.grad for n, t in computation.tensors.items() if t.grad is not None}


KNOWN: list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = [
    ("sum(x ** 2)", lambda x: 2 * x),
    ("sum(sin(x))", torch.cos),
    ("x.exp().sum()", torch.exp),
    ("sum(log(x.abs() + 1))", lambda x: torch.sign(x) / (x.abs() + 1)),
    ("mean(x)", lambda x: torch.full_like(x, 1 / x.numel())),
    ("sum(tanh(x))", lambda x: 1 - torch.tanh(x) ** 2),
    ("sum(sigmoid(x))", lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x))),
    ("sum(x * x * x) / 3", lambda x: x**2),
    ("x @ x", lambda x: 2 * x),
]


@pytest.mark.parametrize(("expr", "derivative"), KNOWN)
def test_known_gradients(expr: str, derivative: Callable[[torch.Tensor], torch.Tensor]) -> None:
    got = grads(expr, "x=randn(6)", dtype="float64")["x"]
    x = torch.randn(6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(got, derivative(x))


def test_lesson_preload_equals_the_lesson_network_bit_for_bit() -> None:
    for seed in (0, 7):
        got = grads("binary_cross_entropy_with_logits(x@w+b, y)", lesson=True, seed=seed)
        net = build_lesson(seed)
        net.loss.backward()
        assert net.w.grad is not None and net.b.grad is not None
        assert torch.equal(got["w"], net.w.grad) and torch.equal(got["b"], net.b.grad)


def test_variables_in_order_named_intermediates_retain_grad() -> None:
    computation = expression_computation("sum(z ** 2)", ["x=ones(5)", "w=randn(5,3)", "z=x@w"])
    assert list(computation.tensors) == ["x", "w", "z"]
    z = computation.tensors["z"]
    assert z.retains_grad and not z.is_leaf
    assert computation.wrt == ["x", "w"]
    computation.result.backward()
    torch.testing.assert_close(z.grad, 2 * z.detach())
    assert computation.source["z"] == "z = x@w"
    assert computation.source["result"] == "result = sum(z ** 2)"


def test_wrt_picks_and_integer_and_intermediate_refusals() -> None:
    computation = expression_computation("sum(x * w)", ["x=ones(3)", "w=randn(3)"], ["w"])
    assert computation.wrt == ["w"] and not computation.tensors["x"].requires_grad
    lesson = expression_computation("sum(x@w+b)", lesson=True, wrt=["x"])
    assert lesson.wrt == ["x"]
    ints = expression_computation("sum(x * n)", ["x=ones(2)", "n=tensor([1, 2])"])
    assert ints.wrt == ["x"]  # integers are constants by default
    with pytest.raises(UsageError, match="integer tensor"):
        expression_computation("sum(n * 1.)", ["n=tensor([1, 2])"], ["n"])
    with pytest.raises(UsageError, match="not a leaf"):
        expression_computation("sum(z)", ["x=ones(2)", "z=x*2"], ["x", "z"])
    with pytest.raises(UsageError, match="no variable is called 'xx'") as caught:
        expression_computation("sum(x)", ["x=ones(2)"], ["xx"])
    assert caught.value.hint == "did you mean 'x'?"


def test_dtype_and_seed_apply_to_every_constructor() -> None:
    c = expression_computation("sum(x) + sum(r)", ["x=ones(2)", "r=randn(3)"], dtype="float64")
    assert c.tensors["x"].dtype == c.tensors["r"].dtype == torch.float64
    same = expression_computation("sum(r)", ["r=randn(3)"], seed=4).tensors["r"]
    other = expression_computation("sum(r)", ["r=randn(3)"], seed=5).tensors["r"]
    expected = torch.randn(3, generator=torch.Generator().manual_seed(4))
    assert torch.equal(same, expected) and not torch.equal(same, other)
    assert evaluate("arange(3)").dtype == torch.int64  # type: ignore[attr-defined]
    assert evaluate("tensor([1., 2])").dtype == torch.float32  # type: ignore[attr-defined]


def test_rebuild_reuses_draws_and_follows_the_leaves_dtype() -> None:
    c = expression_computation("sum(x * randn(3)) + z.sum()", ["x=ones(3)", "z=x*2"])
    assert torch.equal(c.rebuild({}), c.result)  # the inline randn is not drawn again
    x64 = c.tensors["x"].detach().double().requires_grad_()
    again = c.rebuild({"x": x64})
    assert again.dtype == torch.float64 and again.requires_grad
    torch.testing.assert_close(again.float(), c.result)
    with torch.no_grad():
        assert not c.rebuild({}).requires_grad
    big = expression_computation("sum(x)", ["x=ones(10_000_001)"], max_elements=10_000_001)
    assert big.rebuild({}).item() == 10_000_001  # the raised bound holds in rebuilds too
    assert torch.equal(expression_computation("2").rebuild({}), torch.tensor(2))


def test_bounds_refuse_before_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    real: list[object] = []
    original = torch.ones

    def spy(*args: Any, **kwargs: Any) -> torch.Tensor:
        real.append(args)
        result: torch.Tensor = original(*args, **kwargs)
        return result

    monkeypatch.setattr(torch, "ones", spy)
    assert "1,000,000,000,000 elements" in refusal("ones(10**12)").message
    assert real == []  # refused from the shape alone: torch.ones never ran
    assert "100,000,000 elements" in refusal("ones(10000, 1) * ones(1, 10000)").message
    assert "elements" in refusal("ones(11)", max_elements=10).message
    assert "64 bits" in refusal("9**9**9**9").message
    assert "64 bits" in refusal("2 ** 62 * 4").message
    assert "too large for a float" in refusal("10. ** 400").message
    assert "division by zero" in refusal("1 / 0").message


def test_shape_mismatches_are_explained() -> None:
    error = refusal("x + ones(4)", x=torch.ones(3))
    assert "(3,) + a tensor of shape (4,)" in error.message and "broadcast" in error.message
    assert error.span == (2, 3)
    error = refusal("x @ ones(2, 2)", x=torch.ones(3))
    assert "@" in error.message and "last dim" in (error.hint or "")
    assert "needs a tensor" in refusal("sin(2.)").message
    assert "not on a list" in refusal("x + [1]", x=torch.ones(1)).message
    assert "whole number" in refusal("x[0.5]", x=torch.ones(2)).message


def test_inf_and_nan_are_warned_where_they_appear() -> None:
    c = expression_computation("sum(log(1 / x + 1))", ["x=tensor([0., 1.])"])
    (warning,) = c.warnings
    assert warning.source == "sum(log(1 / x + 1))"
    assert warning.span == (8, 13) and "division by zero" in warning.message  # "1 / x"


def test_max_with_dim_gives_values_and_methods_equal_functions() -> None:
    x = torch.tensor([[1.0, 5.0], [3.0, 2.0]])
    assert torch.equal(evaluate("x.max(dim=0)", x=x), torch.tensor([3.0, 5.0]))  # type: ignore[arg-type]
    assert torch.equal(evaluate("max(x, 1)", x=x), torch.tensor([5.0, 3.0]))  # type: ignore[arg-type]
    assert torch.equal(evaluate("x.T", x=x), x.T)  # type: ignore[arg-type]
    assert torch.equal(evaluate("x[:, 1]", x=x), x[:, 1])  # type: ignore[arg-type]
    assert torch.equal(evaluate("sum(x, 0)", x=x), evaluate("x.sum(0)", x=x))  # type: ignore[arg-type]


def test_extra_expressions_see_the_result_and_do_not_track() -> None:
    c = expression_computation("x * 2", ["x=ones(3)"])
    v = evaluate_text("ones_like(result) * x", {**c.named})
    assert torch.equal(v, torch.ones(3)) and not v.requires_grad
    with pytest.raises(UsageError, match="unknown name 'resutl'") as caught:
        evaluate_text("resutl", {**c.named})
    assert caught.value.hint == "did you mean 'result'?"


def test_var_definitions_are_checked() -> None:
    for raw, message in [
        ("x ones(2)", "NAME=EXPR"),
        ("sin=ones(2)", "reserved"),
        ("2x=ones(2)", "not a valid variable name"),
        ("_x=ones(2)", "may not start with _"),
    ]:
        with pytest.raises(UsageError, match=message) as caught:
            expression_computation("1", [raw])
        assert caught.value.source == raw
    with pytest.raises(UsageError, match="already defined"):
        expression_computation("x", ["x=ones(1)"], lesson=True)
    with pytest.raises(UsageError, match="not a tensor or a number"):
        expression_computation("x", ["x=[1, 2]"])
    with pytest.raises(UsageError) as caught:
        expression_computation("x", ["x=ones(2)+q"])
    assert caught.value.source == "x=ones(2)+q" and caught.value.span == (10, 11)


def test_everything_is_parsed_before_anything_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(Evaluator, "evaluate", lambda *a: calls.append(a))
    with pytest.raises(UsageError, match="unknown function"):
        expression_computation("nope(x)", ["x=randn(3)"])
    assert calls == []


LEAVES = [
    "x",
    "w",
    "1",
    "2.5",
    "0",
    "-1",
    "True",
    "ones(3)",
    "randn(3, 3)",
    "arange(3)",
    "tensor([1., 2., 3.])",
    "eye(3)",
    "zeros(2, 3)",
    "full((3,), 2.)",
    "linspace(0, 1, 3)",
]
CALLS = [
    "sin",
    "exp",
    "log",
    "sqrt",
    "abs",
    "relu",
    "softplus",
    "sum",
    "mean",
    "prod",
    "norm",
    "t",
    "ones_like",
    "randn_like",
]
SUFFIXES = [
    ".sum()",
    ".sum(0)",
    ".mean(dim=-1, keepdim=True)",
    ".T",
    "[0]",
    "[1:]",
    "[:, 0]",
    ".softmax(-1)",
    ".reshape(-1)",
    ".view(3, -1)",
    ".max(0)",
    ".unsqueeze(0)",
    ".squeeze()",
    ".clamp(min=0)",
    ".pow(2)",
    ".transpose(0, 1)",
    ".log_softmax(0)",
]
PAIRS = ["mse_loss", "binary_cross_entropy_with_logits", "cross_entropy", "matmul", "mm",
         "dot", "max", "min", "pow"]  # fmt: skip


def _grow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**", "@"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(st.sampled_from(CALLS), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(children, st.sampled_from(SUFFIXES)).map("".join),
        st.tuples(st.sampled_from(PAIRS), children, children).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
    )


EXPRESSIONS = st.recursive(st.sampled_from(LEAVES), _grow, max_leaves=6)


@settings(max_examples=120, deadline=None)
@given(EXPRESSIONS)
def test_any_whitelisted_expression_builds_and_backpropagates_or_fails_cleanly(
    text: str,
) -> None:
    try:
        computation = expression_computation(
            text, ["x=randn(3)", "w=randn(3, 3)"], max_elements=10_000
        )
    except UsageError as error:
        assert error.source is not None and error.span is not None and error.message
        return
    result = computation.result
    if result.requires_grad and result.dim() == 0:
        result.backward()
        for tensor in computation.tensors.values():
            assert tensor.grad is None or tensor.grad.shape == tensor.shape


class Watched(Evaluator):
    """Records the size of every tensor a torch call makes."""

    made: list[int]

    def run(self, *args: Any, **kwargs: Any) -> Any:
        result = super().run(*args, **kwargs)
        outputs = result if isinstance(result, tuple) else (result,)
        self.made += [t.numel() for t in outputs if isinstance(t, torch.Tensor)]
        return result


@settings(max_examples=150, deadline=None)
@given(EXPRESSIONS)
def test_no_tensor_over_the_bound_is_ever_made(text: str) -> None:
    evaluator = Watched(dtype=torch.float32, generator=torch.Generator(), max_elements=8)
    evaluator.made = []
    scope = {"x": torch.randn(3), "w": torch.randn(2, 4)}
    with contextlib.suppress(UsageError):
        evaluator.evaluate(parse(text, list(scope)), scope)
    assert all(n <= 8 for n in evaluator.made)


def test_no_memory_for_a_tensor_is_said_in_words_not_the_allocators() -> None:
    with pytest.raises(UsageError) as caught:
        expression_computation("sum(ones(10**15))", max_elements=10**16)
    assert caught.value.message == (
        "ones: not enough memory for a tensor of 1,000,000,000,000,000 elements "
        "(4,000,000,000,000,000 bytes)"
    )
    hint = caught.value.spelled(option_name)[1]  # the layer names its parameter, the CLI an option
    assert hint is not None and "--max-elements" in hint
    assert "usage" not in hint and caught.value.span == (4, 16)


def test_allocation_errors_are_told_apart() -> None:
    error = RuntimeError(
        "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
        "memory: you tried to allocate 4000 bytes. Error code 12 (Cannot allocate memory)"
    )
    memory = allocation_error(error, 1000)
    assert memory is not None
    assert memory.message == "not enough memory for a tensor of 1,000 elements (4,000 bytes)"
    assert allocation_error(MemoryError()) is not None
    assert allocation_error(RuntimeError("mat1 and mat2 shapes cannot be multiplied")) is None
    backward = backward_error(error, " at call 2")
    assert (
        backward.message
        == "backward failed at call 2: not enough memory for a tensor of 4,000 bytes"
    )


def test_a_bool_beside_a_tensor_is_the_number_it_means() -> None:
    """`True ** x` once reached torch's backward as a bool Scalar: an internal assert."""
    computation = expression_computation("True ** sum(x)", ["x=tensor([1., 2.])"])
    computation.result.backward()
    assert computation.tensors["x"].grad is not None
    assert computation.tensors["x"].grad.tolist() == [0.0, 0.0]  # d(1 ** s)/ds = 0
