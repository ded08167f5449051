"""`modes`: the same result under each grad mode, checked against torch directly."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import torch
from rich.console import Console

from autograd_cli.build.computation import Computation, lesson_computation
from autograd_cli.cli.modes import BENCH_MAX_SIZE
from autograd_cli.defaults import DEFAULT_MAX_ELEMENTS
from autograd_cli.errors import UsageError
from autograd_cli.inspection.modes import LESSON_MODES, NO_GRAPH, grad_modes, measure_saved
from autograd_cli.records.reports import BenchReport, BenchRow
from autograd_cli.render.modes import bench_view
from conftest import Invoke, run_json


def test_lesson_rows_read_true_false_false() -> None:
    report = grad_modes(lesson_computation(0, "z"), LESSON_MODES)
    assert [row.requires_grad for row in report.rows] == [True, False, False]
    assert [row.code for row in report.rows] == [
        "z = torch.matmul(x, w) + b",
        "with torch.no_grad(): z = ...",
        "z.detach()",
    ]


def test_every_mode_against_torch() -> None:
    report = grad_modes(lesson_computation(0, "z"))
    table = {
        row.mode: (row.requires_grad, row.grad_fn, row.is_leaf, row.backward.works)
        for row in report.rows
    }
    assert table == {
        "plain": (True, "AddBackward0", False, True),
        "no_grad": (False, None, True, False),
        "detach": (False, None, True, False),
        "inference_mode": (False, None, True, False),
        "set_grad_enabled": (False, None, True, False),
        "enable_grad": (True, "AddBackward0", False, True),
        "frozen": (True, "AddBackward0", False, True),
    }
    assert report.freeze == "w" and report.backward_code == "z.backward(torch.ones_like(z))"


def test_detach_shares_storage_and_sees_in_place_changes() -> None:
    rows = {row.mode: row for row in grad_modes(lesson_computation(0, "z")).rows}
    sharing = {mode for mode, row in rows.items() if row.shares_storage}
    assert sharing == {"plain", "detach"}  # plain is the tracked z itself
    effect = rows["detach"].inplace
    assert effect is not None and effect.after == pytest.approx(effect.before + 1)
    net_z = lesson_computation(0, "z").result
    assert effect.before == pytest.approx(float(net_z[0].detach()))
    assert all(row.inplace is None for mode, row in rows.items() if mode != "detach")
    # The fact itself, in torch: detach() is a view of the same storage.
    z = lesson_computation(0, "z").result
    d = z.detach()
    assert d.untyped_storage().data_ptr() == z.untyped_storage().data_ptr()


def test_saved_bytes_zero_without_tracking_positive_with() -> None:
    rows = {row.mode: row for row in grad_modes(lesson_computation(0, "z")).rows}
    for mode in ("no_grad", "inference_mode", "set_grad_enabled"):
        assert rows[mode].saved_bytes == 0, mode
    assert rows["plain"].saved_bytes == 20  # mm saves x (5 float32) to compute w's grad
    assert rows["detach"].saved_bytes == rows["enable_grad"].saved_bytes == 20
    assert rows["frozen"].saved_bytes == 0  # with w frozen nothing needs x


def test_saved_storage_counts_once() -> None:
    a = torch.randn(100, requires_grad=True)
    view = a.view(10, 10)
    # mul saves both operands: two views of one 400-byte storage, counted once.
    _, saved = measure_saved(lambda: view * a.view(10, 10))
    assert saved == 400
    with torch.no_grad():
        assert measure_saved(lambda: view * view)[1] == 0


def test_backward_failures_carry_torchs_message_and_ours() -> None:
    rows = {row.mode: row for row in grad_modes(lesson_computation(0, "z")).rows}
    for mode in ("no_grad", "detach", "inference_mode", "set_grad_enabled"):
        failure = rows[mode].backward.failure
        assert failure is not None and failure.error == "RuntimeError"
        assert failure.message == f"element 0 of tensors {NO_GRAPH}"
        assert failure.explanation and "graph" in failure.explanation
    assert "detach()" in str(rows["detach"].backward.failure)
    assert "inference tensor" in str(rows["inference_mode"].backward.failure)
    assert rows["plain"].backward.filled == ["w", "b"]
    assert rows["frozen"].backward.filled == ["b"]


def test_freeze_picks_the_parameter() -> None:
    report = grad_modes(lesson_computation(0, "z"), freeze="b")
    frozen = report.rows[-1]
    assert frozen.code == "b.requires_grad_(False); z = ..." and frozen.backward.filled == ["w"]
    assert frozen.saved_bytes == 20  # w still needs x


def test_freezing_the_only_parameter_leaves_no_graph() -> None:
    p = torch.tensor([1.0, 2.0], requires_grad=True)
    comp = Computation((p * 3).sum(), "s", {"p": p}, lambda t: (t["p"] * 3).sum())
    rows = {row.mode: row for row in grad_modes(comp).rows}
    frozen = rows["frozen"]
    assert not frozen.requires_grad and frozen.backward.failure is not None
    assert "with p frozen" in frozen.backward.failure.explanation
    assert rows["plain"].backward.filled == ["p"]


def test_a_scalar_expression_and_a_given_vector() -> None:
    a = torch.tensor([1.0, -2.0], requires_grad=True)
    c = torch.tensor([3.0, 4.0])
    comp = Computation(a * c, "r", {"a": a, "c": c}, lambda t: t["a"] * t["c"])
    report = grad_modes(comp, vector=torch.tensor([1.0, 0.5]), vector_code="v")
    assert report.backward_code == "r.backward(v)"
    assert report.rows[0].code == "r = ..."  # no source line given
    with pytest.raises(UsageError, match=r"vector has shape \(3,\), but r has shape \(2,\)"):
        grad_modes(comp, vector=torch.ones(3))
    scalar = Computation((a * c).sum(), "s", {"a": a, "c": c}, lambda t: (t["a"] * t["c"]).sum())
    assert grad_modes(scalar, LESSON_MODES).backward_code == "s.backward()"


def test_view_matches_golden(cli: Invoke, golden: Callable[[str, str], None]) -> None:
    result = cli("modes")
    assert result.exit_code == 0 and result.stderr == ""
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    golden("modes_lesson.txt", result.stdout)


def test_json_schema(cli: Invoke) -> None:
    doc = run_json(cli, "modes")
    assert set(doc) == {
        "schema",
        "command",
        "version",
        "warnings",
        "seed",
        "result",
        "freeze",
        "backward",
        "rows",
        "bench",
    }
    assert doc["command"] == "modes" and doc["bench"] is None
    row = doc["rows"][2]
    assert set(row) == {
        "mode",
        "code",
        "requires_grad",
        "grad_fn",
        "is_leaf",
        "shares_storage",
        "inplace",
        "backward",
        "saved_bytes",
    }
    assert row["mode"] == "detach" and set(row["inplace"]) == {"before", "after"}
    assert set(row["backward"]) == {"works", "filled", "failure"}
    assert set(row["backward"]["failure"]) == {"error", "message", "explanation"}
    assert [r["requires_grad"] for r in doc["rows"][:3]] == [True, False, False]


def test_bench_reports_medians_ratios_and_saved_bytes(cli: Invoke) -> None:
    doc = run_json(cli, "modes", "--bench", "--size", "8", "--repeat", "2")
    bench = doc["bench"]
    assert (bench["size"], bench["repeat"], bench["baseline"]) == (8, 2, "tracked")
    rows = {row["mode"]: row for row in bench["rows"]}
    assert list(rows) == ["tracked", "tracked_forward", "no_grad", "inference_mode"]
    assert rows["tracked"]["ratio"] == 1.0
    assert all(row["median_s"] > 0 for row in rows.values())
    assert rows["no_grad"]["saved_bytes"] == rows["inference_mode"]["saved_bytes"] == 0
    assert rows["tracked"]["saved_bytes"] > 0
    view = cli("modes", "--bench", "--size", "8", "--repeat", "2")
    assert view.exit_code == 0 and "median of 2 runs each, w: (8, 8)" in view.stdout


def test_bench_bytes_in_the_same_units_as_graph() -> None:
    # One format_bytes for every view: gigabytes of a big --bench network say GiB.
    row = BenchRow("plain", "z = ...", 1e-3, 1.0, 3 << 30)
    out = io.StringIO()
    view = bench_view(BenchReport(3162, 3, "plain", [row]))
    Console(file=out, width=80, color_system=None).print(view)
    assert "3.0 GiB" in out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--freeze", "x"], "--freeze x: not a leaf that requires grad"),
        (["--size", "8"], "only apply to --bench"),
        (["--bench", "--repeat", "0"], "--repeat"),
        (["--bench", "--repeat", "9" * 23], "--repeat"),
        (["--bench", "--size", "100000"], "--size 100000: w would have 10,000,000,000 elements"),
        (["--bench", "--size", "9" * 23], "choose N from 1 to 3162"),
    ],
)
def test_usage_errors_exit_2(cli: Invoke, args: list[str], message: str) -> None:
    result = cli("modes", *args)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""
    if args[0] == "--freeze":
        assert "choose one of: w, b" in result.stderr


def test_bench_max_size_is_the_widest_within_max_elements() -> None:
    assert BENCH_MAX_SIZE**2 <= DEFAULT_MAX_ELEMENTS < (BENCH_MAX_SIZE + 1) ** 2


def test_same_seed_same_bytes(cli: Invoke) -> None:
    assert cli("modes", "--json").stdout == cli("modes", "--json").stdout
    assert cli("accumulate", "--json").stdout == cli("accumulate", "--json").stdout


def test_no_memory_outside_an_expression_exits_2(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    import autograd_cli.inspection.bench

    def no_memory(*_: object, **__: object) -> None:
        raise RuntimeError(
            "DefaultCPUAllocator: can't allocate memory: you tried to allocate 8 bytes"
        )

    monkeypatch.setattr(autograd_cli.inspection.bench, "bench_modes", no_memory)
    result = cli("modes", "--bench", "--size", "2")
    assert result.exit_code == 2 and result.stdout == ""
    assert "error: not enough memory for a tensor of 8 bytes" in result.stderr
    assert "internal error" not in result.stderr
