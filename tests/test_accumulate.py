"""`accumulate`: .grad adds up over backward calls, k times the first call's since zero_()."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_cli.build.accumulation import accumulation_computation
from autograd_cli.build.computation import Computation
from autograd_cli.defaults import MAX_CALLS
from autograd_cli.errors import UsageError
from autograd_cli.inspection.accumulate import (
    accumulate,
    check_plan,
    kept_every,
    thinned,
)
from autograd_cli.records.reports import AccumulationPlan
from autograd_cli.records.schema import SCHEMA
from conftest import Invoke, run_json

EYE = torch.eye(5)
FIRST = 2 + 2 * EYE  # d/d(inp) of (inp + 1)^2 at eye(5) is 2 (inp + 1): 4 and 2


def computation(
    rebuild: Callable[[Mapping[str, torch.Tensor]], torch.Tensor], **leaves: Any
) -> Computation:
    tensors = dict(leaves)
    return Computation(rebuild(tensors), "out", tensors, rebuild)


def test_default_matches_golden(cli: Invoke, golden: Callable[[str, str], None]) -> None:
    result = cli("accumulate")
    assert result.exit_code == 0
    assert result.stderr == ""
    golden("accumulate_default.txt", result.stdout)


def test_default_json_is_the_lessons_three_matrices(cli: Invoke) -> None:
    doc = run_json(cli, "accumulate")
    assert doc["schema"] == SCHEMA and doc["command"] == "accumulate"
    grads = [torch.tensor(c["grad"]) for c in doc["calls"]]
    assert len(grads) == 3
    assert torch.equal(grads[0], FIRST)  # 4 on the diagonal, 2 elsewhere
    assert torch.equal(grads[1], 2 * FIRST)  # 8 and 4
    assert torch.equal(grads[2], FIRST)  # after zero_(): 4 and 2 again
    assert [c["zeroed_before"] for c in doc["calls"]] == [False, False, True]
    assert [c["since_zero"] for c in doc["calls"]] == [1, 2, 1]
    assert doc["law_holds"] is True and doc["law_failure"] is None


def test_json_schema(cli: Invoke) -> None:
    doc = run_json(cli, "accumulate", "--times", "4", "--zero-after", "1")
    assert set(doc) == {
        "schema",
        "command",
        "warnings",
        "version",
        "every",
        "result",
        "leaf",
        "shape",
        "plan",
        "code",
        "calls_made",
        "calls",
        "law_holds",
        "law_failure",
        "failed_call",
        "failure",
    }
    assert (doc["result"], doc["leaf"], doc["shape"]) == ("out", "inp", [5, 5])
    plan = doc["plan"]
    assert (plan["times"], plan["zero_after"], plan["total"], doc["calls_made"]) == (4, 1, 5, 5)
    assert doc["every"] == 1 and plan["retain_graph"] is True and doc["failure"] is None
    assert doc["code"][-1].startswith("    out.backward(torch.ones_like(out)")
    for call in doc["calls"]:
        assert set(call) == {"call", "zeroed_before", "since_zero", "grad"}
    assert [c["since_zero"] for c in doc["calls"]] == [1, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("args", "calls", "zeroed"),
    [
        ([], 3, [3]),  # the lesson: 2 calls, zero_(), 1 call
        (["--times", "5"], 6, [6]),
        (["--times", "5", "--zero-after", "2"], 6, [3]),
        (["--times", "5", "--no-zero"], 5, []),
    ],
)
def test_call_count_semantics(cli: Invoke, args: list[str], calls: int, zeroed: list[int]) -> None:
    doc = run_json(cli, "accumulate", *args)
    assert [c["call"] for c in doc["calls"]] == list(range(1, calls + 1))
    assert [c["call"] for c in doc["calls"] if c["zeroed_before"]] == zeroed


@settings(max_examples=25, deadline=None)
@given(times=st.integers(1, 40), data=st.data())
def test_k_times_law_for_random_plans(times: int, data: st.DataObject) -> None:
    zero_after = data.draw(st.none() | st.integers(1, times))
    record = accumulate(accumulation_computation(), AccumulationPlan(times, zero_after))
    assert record.law_holds and record.calls_made == times + (zero_after is not None)
    for call in record.calls:
        assert torch.equal(torch.tensor(call.grad), call.since_zero * FIRST)
        assert call.zeroed_before == (zero_after is not None and call.call == zero_after + 1)


@settings(max_examples=15, deadline=None)
@given(times=st.integers(1, 300), seed=st.integers(0, 2**16))
def test_k_times_law_with_rounding(times: int, seed: int) -> None:
    """Random values do not add up exactly in float32; the law holds within k * eps."""
    g = torch.Generator().manual_seed(seed)
    a, c = torch.randn(3, 4, generator=g, requires_grad=True), torch.randn(4, generator=g)
    comp = computation(lambda t: (t["a"] * t["c"]).sin(), a=a, c=c)
    vector = torch.randn(3, 4, generator=g)
    record = accumulate(comp, AccumulationPlan(times, None), vector=vector, vector_code="v")
    assert record.law_holds
    (expected,) = torch.autograd.grad((a * c).sin(), a, vector)
    last = torch.tensor(record.calls[-1].grad)
    assert torch.allclose(last, times * expected, rtol=times * 1.2e-7, atol=1e-6)


def test_law_over_a_scalar_result_and_a_chosen_leaf() -> None:
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    comp = computation(lambda t: (t["x"] * t["y"]).sum(), x=x, y=y)
    record = accumulate(comp, AccumulationPlan(3, zero_after=3), leaf="y")
    assert record.leaf == "y" and record.law_holds
    assert [c.grad for c in record.calls] == [
        [1.0, 2.0, 3.0],
        [2.0, 4.0, 6.0],
        [3.0, 6.0, 9.0],
        [1.0, 2.0, 3.0],
    ]
    assert record.code[-1] == "    out.backward(retain_graph=True)"  # as modes shows it


def drifting() -> Computation:
    """A gradient that grows with every backward call (a hook scales it): the law must fail."""
    calls = itertools.count(1)

    def rebuild(t: Mapping[str, torch.Tensor]) -> torch.Tensor:
        out = t["inp"] * 1
        out.register_hook(lambda grad: grad * next(calls))
        return out

    return computation(rebuild, inp=torch.ones(2, requires_grad=True))


def test_law_failure_is_found_and_located() -> None:
    record = accumulate(drifting(), AccumulationPlan(3, None))
    assert not record.law_holds and record.law_failure == 2


def test_law_failure_exits_1(cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("autograd_cli.build.accumulation.accumulation_computation", drifting)
    result = cli("accumulate", "--times", "3")
    assert result.exit_code == 1
    assert "✗ after k calls" in result.stdout and "(fails at call 2)" in result.stdout
    assert "k-times law failed at call 2" in result.stderr


def test_no_retain_shows_the_real_error(cli: Invoke) -> None:
    result = cli("accumulate", "--no-retain")
    assert result.exit_code == 0
    assert "RuntimeError: Trying to backward through the graph a second time" in result.stdout
    assert "retain_graph=True, or rebuild the graph" in result.stdout
    doc = run_json(cli, "accumulate", "--no-retain")
    assert doc["calls_made"] == 1 and len(doc["calls"]) == 1
    assert doc["plan"]["retain_graph"] is False
    failure = doc["failure"]
    assert doc["failed_call"] == 2 and failure["error"] == "RuntimeError"
    with pytest.raises(RuntimeError) as real:  # the message is torch's own, unchanged
        out = (torch.eye(5, requires_grad=True) + 1).pow(2)
        out.backward(torch.ones_like(out))
        out.backward(torch.ones_like(out))
    assert failure["message"] == str(real.value)


def test_no_retain_on_a_graph_that_saves_nothing() -> None:
    comp = computation(lambda t: t["inp"] + 1, inp=torch.zeros(2, requires_grad=True))
    record = accumulate(comp, AccumulationPlan(3, None, retain_graph=False))
    assert record.failure is None and record.calls_made == 3 and record.law_holds


def test_long_run_view_shows_a_glimpse_of_the_same_record(cli: Invoke) -> None:
    """Inspection keeps the same calls for the view and for JSON; the view shows a few."""
    plan = AccumulationPlan(50, zero_after=20)
    record = accumulate(accumulation_computation(), plan)
    assert [c.call for c in record.calls] == list(range(1, 52)) and record.every == 1
    assert record.calls_made == 51 and record.law_holds
    assert kept_every(plan, 10**5) == 6  # 51 calls of 10^5 numbers: every 6th within 10^6
    result = cli("accumulate", "--times", "50", "--zero-after", "20")
    assert result.exit_code == 0
    assert "⋮ calls 4 to 19 not shown" in result.stdout
    assert "⋮ calls 22 to 50 not shown" in result.stdout
    assert "inp.grad after call 51" in result.stdout
    assert "the first call's times 31 (31 calls since" in result.stdout
    assert "shown           6 of 51 calls" in result.stdout.splitlines()


def test_json_lists_every_call_unless_thinned(cli: Invoke) -> None:
    assert len(run_json(cli, "accumulate", "--times", "50")["calls"]) == 51
    doc = run_json(cli, "accumulate", "--times", "50", "--every", "10")
    assert [c["call"] for c in doc["calls"]] == [1, 10, 20, 30, 40, 50, 51]
    assert doc["every"] == 10 and doc["calls_made"] == 51
    last = doc["calls"][-1]
    assert last["zeroed_before"] and torch.equal(torch.tensor(last["grad"]), FIRST)
    assert [c for c in range(1, 20) if thinned(AccumulationPlan(18, 3), 7)(c)] == [1, 4, 7, 14, 19]


def test_progress_bar_only_on_a_terminal(cli: Invoke) -> None:
    args = ("accumulate", "--times", "1000", "--no-zero")
    assert cli(*args).stderr == ""  # not a terminal
    assert cli(*args, "--json").stderr == ""
    on_terminal = cli(*args, env={"FORCE_COLOR": "1"})
    assert on_terminal.exit_code == 0 and "backward calls" in on_terminal.stderr
    assert "backward calls" not in on_terminal.stdout.split("✓")[0]  # the bar is not stdout
    with_json = cli(*args, "--json", env={"FORCE_COLOR": "1"})
    assert "backward calls" in with_json.stderr  # stdout stays one JSON document
    assert json.loads(with_json.stdout)["calls_made"] == 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--times", "2", "--zero-after", "3"], "--zero-after 3: outside the 2 calls"),
        (["--zero-after", "1", "--no-zero"], "contradict"),
        (["--times", "0"], "--times"),
        (["--every", "0"], "--every"),
        (["--times", "9" * 23], "more than the 100,000 backward calls"),
        (["--leaf", "out"], "--leaf out: not a leaf that requires grad"),
    ],
)
def test_usage_errors_exit_2(cli: Invoke, args: list[str], message: str) -> None:
    result = cli("accumulate", *args)
    assert result.exit_code == 2
    assert message in result.stderr and result.stdout == ""


def test_times_is_bounded_before_any_call() -> None:
    assert AccumulationPlan(MAX_CALLS, None).total == MAX_CALLS
    with pytest.raises(UsageError, match="more than the 100,000 backward calls") as caught:
        check_plan(AccumulationPlan(MAX_CALLS + 1))
    assert (
        caught.value.hint is not None and f"choose N from 1 to {MAX_CALLS:,}" in caught.value.hint
    )


def test_vector_of_the_wrong_shape_and_a_leaf_not_used() -> None:
    with pytest.raises(UsageError, match=r"vector has shape \(3,\), but out has shape \(5, 5\)"):
        accumulate(accumulation_computation(), AccumulationPlan(), vector=torch.ones(3))
    unused = torch.ones(2, requires_grad=True)
    comp = computation(lambda t: t["inp"] * 2, inp=torch.ones(2, requires_grad=True), u=unused)
    with pytest.raises(UsageError, match="does not depend on u"):
        accumulate(comp, AccumulationPlan(), leaf="u")


def test_no_retain_summary_says_what_did_not_happen(cli: Invoke) -> None:
    """Call 2 fails: no zero_() ran and one call cannot show the k-times rule holding."""
    result = cli("accumulate", "--no-retain")
    assert result.exit_code == 0, result.stderr
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert "zero_()         not reached (planned after call 2)" in lines
    assert "backward calls  1 of 3 (call 2 failed)" in lines
    assert not any(line.startswith(("✓", "last inp.grad")) for line in lines)
    assert "not tested, with only 1 call: after k calls since the last zero_()" in result.stdout


def test_no_retain_on_a_graph_that_saves_nothing_keeps_the_rule(cli: Invoke) -> None:
    result = cli("accumulate", "--no-retain", "--expr", "sum(x + 1)", "--var", "x=ones(2)")
    assert result.exit_code == 0, result.stderr
    assert "✓ after k calls since the last zero_()" in result.stdout
    assert "zero_()         after call 2" in result.stdout
