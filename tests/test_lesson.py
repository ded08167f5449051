"""`lesson`: the whole walk-through reproduces the lesson's fixed points."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from conftest import Invoke, run_json


def test_lesson_matches_golden(cli: Invoke, golden: Callable[[str, str], None]) -> None:
    result = cli("lesson", "--seed", "0")
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout  # piped: no ANSI codes
    golden("lesson_seed0.txt", result.stdout)


def test_lesson_json_fixed_points(cli: Invoke) -> None:
    doc = run_json(cli, "lesson")
    assert doc["command"] == "lesson"
    assert doc["grad_fns"] == {"z": "AddBackward0", "loss": "BinaryCrossEntropyWithLogitsBackward0"}
    assert [m["requires_grad"] for m in doc["modes"]] == [True, False, False]
    eye = torch.eye(5)
    first, second, third = (torch.tensor(c["grad"]) for c in doc["accumulation"]["calls"])
    assert torch.equal(first, 2 + 2 * eye)  # 2(inp + 1): 4 on the diagonal, 2 elsewhere
    assert torch.equal(second, 4 + 4 * eye)
    assert torch.equal(third, first)
    assert [c["zeroed_before"] for c in doc["accumulation"]["calls"]] == [False, False, True]
    assert doc["accumulation"]["law_holds"] is True


def test_lesson_gradients_equal_torch_written_out(cli: Invoke) -> None:
    doc = run_json(cli, "lesson", "--seed", "7")
    g = torch.Generator().manual_seed(7)
    x, y = torch.ones(5), torch.zeros(3)
    w = torch.randn(5, 3, generator=g, requires_grad=True)
    b = torch.randn(3, generator=g, requires_grad=True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(torch.matmul(x, w) + b, y)
    loss.backward()
    grads = {t["name"]: torch.tensor(t["grad"]) for t in doc["gradients"]}
    assert w.grad is not None and b.grad is not None
    assert torch.equal(grads["w"], w.grad) and torch.equal(grads["b"], b.grad)
    assert doc["rows_equal_b"] is True


def test_no_color_and_narrow_terminal(cli: Invoke) -> None:
    result = cli("lesson", env={"NO_COLOR": "1", "COLUMNS": "40", "FORCE_COLOR": ""})
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 40


def test_colour_when_forced(cli: Invoke) -> None:
    result = cli("graph", env={"FORCE_COLOR": "1"})
    assert "\x1b[" in result.stdout


def test_output_file(cli: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "lesson.txt"
    result = cli("lesson", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text(encoding="utf-8") == cli("lesson").stdout
    result = cli("lesson", "-o", str(tmp_path / "no-such-dir" / "lesson.txt"))
    assert result.exit_code == 2 and "cannot write" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lesson.txt"]
