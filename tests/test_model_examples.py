"""The example programs in examples/: plain PyTorch files, recorded as they run."""

from __future__ import annotations

import contextlib
import io
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from autograd_cli.inspection.modules import ModuleRecorder
from autograd_cli.records.modules import ModelRecord
from autograd_cli.render.modules import module_rows

EXAMPLES = Path(__file__).parent.parent / "examples"


def recorded(name: str, folder: Path = EXAMPLES) -> tuple[dict[str, object], ModelRecord]:
    """Run an example as `python FILE` would (its own globals), under the recorder."""
    with ModuleRecorder() as modules, contextlib.redirect_stdout(io.StringIO()):
        scope = runpy.run_path(str(folder / name), run_name="__main__")
    loss = scope["loss"]
    assert isinstance(loss, torch.Tensor)
    return scope, modules.model(loss)[1]


def test_an_example_runs_with_plain_python() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "mlp.py")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("tensor(") and "MseLossBackward0" in done.stdout


@pytest.mark.parametrize(
    ("name", "classes"),
    [
        ("mlp.py", ["Sequential", "Linear", "ReLU", "Linear", "MSELoss"]),
        (
            "cnn.py",
            [
                "Sequential",
                "Conv2d",
                "BatchNorm2d",
                "ReLU",
                "Conv2d",
                "ReLU",
                "Flatten",
                "Linear",
                "CrossEntropyLoss",
            ],
        ),
    ],
)
def test_small_models_are_seen_module_by_module(name: str, classes: list[str]) -> None:
    _, record = recorded(name)
    assert [m.cls for m in record.modules] == classes
    # every parameter got its gradient from the one backward call
    assert all(p.grad_norm is not None and p.grad_norm > 0 for p in record.parameters)
    assert record.parameters[0].name == "0.weight"


def test_the_transformer_example_folds_its_four_layers() -> None:
    _, record = recorded("transformer.py")
    rows = module_rows(record, depth=1)
    assert [(r.name, r.cls, r.count) for r in rows] == [
        ("(root)", "TransformerEncoder", 1),
        ("layers.0-3", "TransformerEncoderLayer", 4),
        ("(root)", "MSELoss", 1),
    ]


def test_forgetting_zero_grad_shows_in_the_gradients(tmp_path: Path) -> None:
    """30 steps without zero_grad(): each .grad holds the sum of 30 gradients. Against the
    same loop with `optimizer.zero_grad()` put back, the gradients are over ten times larger
    and the loss ends far higher."""
    _, buggy = recorded("forgot_zero_grad.py")
    code = (EXAMPLES / "forgot_zero_grad.py").read_text()
    bug = "    loss.backward()  # the bug"
    assert bug in code
    (tmp_path / "forgot_zero_grad.py").write_text(
        code.replace(bug, "    optimizer.zero_grad()\n" + bug)
    )
    _, fixed = recorded("forgot_zero_grad.py", tmp_path)
    assert buggy.optimizer_steps == fixed.optimizer_steps == 30
    for bad, good in zip(buggy.parameters, fixed.parameters, strict=True):
        assert bad.name == good.name
        assert bad.grad_norm is not None and good.grad_norm is not None
        assert bad.grad_norm > 10 * good.grad_norm
        assert bad.update is not None and bad.update.steps == 30
