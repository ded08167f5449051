"""`why`: one test per reason, on computations built directly in Python, then the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import torch

from autograd_cli.batch.engine import job_argv
from autograd_cli.build.computation import Computation
from autograd_cli.build.sources import SourceMap
from autograd_cli.cli.app import app
from autograd_cli.errors import UsageError
from autograd_cli.inspection.graph import trace
from autograd_cli.inspection.why import INPLACE_ERROR, explain
from autograd_cli.records.schema import SCHEMA
from autograd_cli.records.source import Source
from autograd_cli.records.why import Reason, WhyRecord
from conftest import Invoke, load_document, run_json


def _computation(
    result: torch.Tensor, sources: SourceMap | None = None, **tensors: torch.Tensor
) -> Computation:
    return Computation(result, "result", tensors, lambda leaves: result, sources=sources)


def _why(computation: Computation, name: str) -> WhyRecord:
    (record,) = explain(computation, [name])
    return record


def test_leaf_that_reaches_the_result_has_its_gradient() -> None:
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    sources = SourceMap()
    sources.define_leaf(a, Source("a = tensor([1., 2.])"))
    result = (a * a).sum()
    record = _why(_computation(result, sources, a=a), "a")
    assert (record.reason, record.has_grad) == (Reason.HAS_GRAD, True)
    assert record.grad is not None and record.grad.values == [2.0, 4.0]  # d(a.a)/da = 2a
    assert record.source == Source("a = tensor([1., 2.])")
    graph = trace(result, {"a": a})
    assert record.node is not None and graph.nodes[record.node].leaf == "a"


def test_constant_and_integer_tensors() -> None:
    a = torch.ones(2, requires_grad=True)
    c = torch.full((2,), 3.0)
    i = torch.tensor([1, 2])
    computation = _computation((a * c * i).sum(), a=a, c=c, i=i)
    constant, integer = explain(computation, ["c", "i"])
    assert (constant.reason, constant.has_grad) == (Reason.CONSTANT, False)
    assert integer.reason is Reason.INTEGER and "int64" in integer.explanation


def test_detach_output_points_at_the_cut() -> None:
    code = "h = detach(a) * a"
    a = torch.ones(2, requires_grad=True)
    h = a.detach()
    sources = SourceMap()
    sources.cut("detach", h, Source(code, 4, 13), (a,))
    record = _why(_computation((h * a).sum(), sources, a=a, h=h), "h")
    assert record.reason is Reason.DETACH and not record.has_grad
    assert record.source is not None and record.source.text == "detach(a)"


def test_leaf_whose_only_path_is_cut_names_the_cut() -> None:
    code = "sum(detach(a * 3)) + sum(b)"
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    inner = a * 3
    cut = inner.detach()
    sources = SourceMap()
    sources.cut("detach", cut, Source(code, 4, 17), (inner,))  # a reaches it through a * 3
    computation = _computation(cut.sum() + b.sum(), sources, a=a, b=b)
    a_why, b_why = explain(computation, ["a", "b"])
    assert a_why.reason is Reason.DETACH and a_why.source == Source(code, 4, 17)
    assert a.grad is None
    assert b_why.reason is Reason.HAS_GRAD


def test_no_grad_output_and_input() -> None:
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    with torch.no_grad():
        n = a * 2
    sources = SourceMap()
    sources.cut("no_grad", n, Source("n = no_grad(a * 2)", 4, 18), (a,))
    computation = _computation((n * b).sum(), sources, a=a, b=b, n=n)
    a_why, n_why = explain(computation, ["a", "n"])
    assert a_why.reason is Reason.NO_GRAD and "cut by no_grad" in a_why.explanation
    assert n_why.reason is Reason.NO_GRAD and "made by no_grad" in n_why.explanation


def test_a_constant_computed_through_a_cut() -> None:
    code = "k = detach(a) * 2"
    a = torch.ones(2, requires_grad=True)
    k = a.detach() * 2
    sources = SourceMap()
    sources.define_leaf(k, Source(code))
    sources.cut("detach", a.detach(), Source(code, 4, 13), (a,))
    record = _why(_computation((k * a).sum(), sources, a=a, k=k), "k")
    assert record.reason is Reason.DETACH and "computed through detach()" in record.explanation


def test_inference_tensor_without_a_recorded_cut() -> None:
    a = torch.ones(2, requires_grad=True)
    with torch.inference_mode():
        m = torch.ones(2) * 2
    record = _why(_computation(a.sum() * 2, a=a, m=m), "m")
    assert record.reason is Reason.INFERENCE_MODE


def test_non_leaf_with_and_without_retain_grad() -> None:
    a = torch.tensor([1.0, -1.0], requires_grad=True)
    h = a * 3
    kept = a * 2
    kept.retain_grad()
    computation = _computation((h + kept).pow(2).sum(), a=a, h=h, kept=kept)
    h_why, kept_why = explain(computation, ["h", "kept"])
    assert (h_why.reason, h_why.has_grad, h_why.grad) == (Reason.NON_LEAF, False, None)
    assert "retain_grad()" in h_why.explanation and "MulBackward0" in h_why.explanation
    assert (kept_why.reason, kept_why.has_grad) == (Reason.RETAINED, True)
    assert "retain_grad() was called before backward" in kept_why.explanation
    assert kept_why.grad is not None and kept_why.grad.values == [10.0, -10.0]  # 2(5a)
    # the same gradient, kept by the tool (as --expr does for named intermediates): said so
    kept = a * 2
    kept.retain_grad()
    again = _computation((kept * 1).sum(), a=a, kept=kept)
    again.retained.add("kept")
    (by_tool,) = explain(again, ["kept"])
    assert "retained by autograd-cli; None in plain PyTorch" in by_tool.explanation


def test_variable_the_result_does_not_use() -> None:
    a = torch.ones(2, requires_grad=True)
    u = torch.ones(2, requires_grad=True)
    record = _why(_computation(a.sum(), a=a, u=u), "u")
    assert (record.reason, record.has_grad) == (Reason.UNUSED, False)


def test_the_result_itself() -> None:
    a = torch.ones(2, requires_grad=True)
    record = _why(_computation((a * 2).sum(), a=a), "result")
    assert record.reason is Reason.RESULT and record.node == 0


def _stale_computation(record_change: bool) -> tuple[Computation, torch.Tensor]:
    code = "y.add_(1)"
    a = torch.tensor([0.5, 1.5], requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    sources = SourceMap()
    y = a * 2
    s = y.sin()  # SinBackward0 saves y (version 0)
    sources.record(s, Source("s = sin(y)"))
    y.add_(1)
    if record_change:
        sources.changed(y, Source(code, 0, 9))
    return _computation(s.sum() + b.sum(), sources, a=a, b=b, y=y, s=s), a


def test_saved_tensor_changed_in_place_is_predicted_before_backward() -> None:
    computation, a = _stale_computation(record_change=True)
    a_why, y_why, b_why = explain(computation, ["a", "y", "b"])
    assert a.grad is None  # predicted: backward was not run
    for record in (a_why, y_why, b_why):
        assert (record.reason, record.has_grad) == (Reason.MODIFIED_INPLACE, False)
        assert record.source == Source("y.add_(1)", 0, 9)
        assert "#2 SinBackward0 (from `s = sin(y)`)" in record.explanation
        assert "saved y for backward (its `self`, at version 0)" in record.explanation
        assert "`y.add_(1)` changed it afterwards (now at version 1)" in record.explanation
    assert y_why.explanation.startswith("y was changed in place")
    assert a_why.explanation.startswith("a's gradient must pass through #2 SinBackward0")
    assert b_why.explanation.startswith("b gets no gradient either")
    assert _why(computation, "s").explanation.startswith("s is made by #2 SinBackward0")
    # The ground truth: torch's own backward fails with the predicted words.
    with pytest.raises(RuntimeError, match=INPLACE_ERROR):
        computation.result.backward()


def test_in_place_change_without_a_source_map_still_names_the_tensor() -> None:
    computation, _ = _stale_computation(record_change=False)
    record = _why(computation, "a")
    assert record.reason is Reason.MODIFIED_INPLACE
    assert "saved y" in record.explanation and "an in-place operation" in record.explanation


def test_unknown_name_suggests_the_closest() -> None:
    a = torch.ones(2, requires_grad=True)
    with pytest.raises(UsageError) as error:
        explain(_computation(a.sum(), a=a), ["aa"])
    assert error.value.hint == "did you mean 'a'?"


def test_lesson_every_variable(cli: Invoke) -> None:
    doc = run_json(cli, "why", "--all")
    assert doc["command"] == "why"
    reasons = {v["name"]: (v["reason"], v["has_grad"]) for v in doc["variables"]}
    assert reasons == {
        "x": ("constant", False),
        "y": ("constant", False),
        "w": ("has_grad", True),
        "b": ("has_grad", True),
        "z": ("non_leaf", False),
        "loss": ("result", False),  # every name `why NAME` accepts, the result last
    }
    assert doc["variables"][-1]["name"] == "loss"
    w = doc["variables"][2]
    assert w["source"]["text"] == "torch.randn(5,3,requires_grad=True)"  # the seed's code
    assert w["source"]["line"] == 7
    net_w = torch.tensor(w["grad"]["values"])
    assert net_w.shape == (5, 3)


def test_lesson_one_variable(cli: Invoke, golden: Callable[[str, str], None]) -> None:
    doc = run_json(cli, "why", "z")
    assert {"name", "has_grad", "reason", "source"} <= doc.keys()
    assert doc["node"] == 1  # AddBackward0, as `graph` numbers it
    result = cli("why", "w")
    assert result.exit_code == 0
    golden("why_lesson_w.txt", result.stdout)


@pytest.mark.parametrize("args", [(), ("w", "--all")])
def test_one_variable_or_all(cli: Invoke, args: tuple[str, ...]) -> None:
    result = cli("why", *args)
    assert result.exit_code == 2 and "--all" in result.stderr


def test_unknown_variable_is_a_usage_error(cli: Invoke) -> None:
    result = cli("why", "ww")
    assert result.exit_code == 2 and "did you mean 'w'" in result.stderr


def test_batch_key_is_variable() -> None:
    import typer

    command = typer.main.get_command(app).commands["why"]  # type: ignore[attr-defined]
    assert job_argv({"variable": "w"}, "why", command) == ["--", "w"]
    assert json.dumps(job_argv({"all": True}, "why", command)) == '["--all"]'


def _reasons(cli: Invoke, expr: str, *variables: str) -> dict[str, tuple[str, bool, object]]:
    args = [a for v in variables for a in ("--var", v)]
    doc = run_json(cli, "why", "--all", "--expr", expr, *args)
    return {
        v["name"]: (v["reason"], v["has_grad"], v["source"] and v["source"]["text"])
        for v in doc["variables"]
    }


def test_expression_cuts_and_dtypes(cli: Invoke) -> None:
    reasons = _reasons(
        cli,
        "sum(h * n + i + c * w)",
        "w=randn(3)",
        "u=randn(3)",
        "v=randn(3)",
        "h=detach(w) * 2",
        "n=no_grad(u * 3)",
        "i=tensor([1, 2, 3])",
        "c=ones(3)",
    )
    assert reasons == {
        "w": ("has_grad", True, "w=randn(3)"),  # through c * w; h is cut from it
        "u": ("no_grad", False, "no_grad(u * 3)"),
        "v": ("unused", False, "v=randn(3)"),
        "h": ("detach", False, "detach(w)"),  # cut values are not tracked by default
        "n": ("no_grad", False, "no_grad(u * 3)"),
        "i": ("integer", False, "i=tensor([1, 2, 3])"),
        "c": ("has_grad", True, "c=ones(3)"),  # a float leaf: it requires grad by default
        "result": ("result", False, "sum(h * n + i + c * w)"),
    }


def test_expression_in_place_change_is_named(cli: Invoke) -> None:
    reasons = _reasons(cli, "sum(s)", "a=randn(3)", "y=a * 2", "s=sin(y)", "k=y.add_(1)")
    assert {name: r[:2] for name, r in reasons.items()} == dict.fromkeys(
        ("a", "y", "s", "k", "result"), ("modified_inplace", False)
    )
    assert {r[2] for r in reasons.values()} == {"y.add_(1)"}
    # The prediction is torch's own verdict: backward fails on the same computation.
    result = cli("backward", "--expr", "sum(s)", "--var", "a=randn(3)", "--var", "y=a * 2",
                 "--var", "s=sin(y)", "--var", "k=y.add_(1)")  # fmt: skip
    assert result.exit_code == 2 and INPLACE_ERROR in result.stderr


def test_retained_intermediate_of_an_expression(cli: Invoke) -> None:
    doc = run_json(cli, "why", "h", "--expr", "sum(h ** 2)", "--var", "x=tensor([1., 2.])",
                   "--var", "h=x * 3")  # fmt: skip
    assert (doc["reason"], doc["has_grad"]) == ("retained", True)
    assert doc["grad"]["values"] == [6.0, 12.0]  # 2h
    assert doc["source"]["text"] == "x * 3"


def test_why_in_a_subprocess() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "autograd_cli", "why", "b", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    doc = load_document(out.stdout)
    assert (doc["schema"], doc["command"], doc["name"]) == (SCHEMA, "why", "b")
    assert doc["reason"] == "has_grad" and len(doc["grad"]["values"]) == 3


def test_inference_tensor_saved_for_backward_is_explained(cli: Invoke) -> None:
    result = cli("why", "u", "--expr", "sum(x * u)", "--var", "x=randn(3)",
                 "--var", "u=inference_mode(x * 2)")  # fmt: skip
    assert result.exit_code == 2 and result.stdout == ""
    assert "Inference tensors cannot be saved for backward" in result.stderr
    assert "made under inference_mode" in result.stderr
    assert "no_grad(...)" in result.stderr
    # The same variable made under no_grad, as the hint says, is explained.
    doc = run_json(cli, "why", "u", "--expr", "sum(x * u)", "--var", "x=randn(3)",
                   "--var", "u=no_grad(x * 2)")  # fmt: skip
    assert doc["reason"] == "no_grad"
