"""A view made under `no_grad` whose base then changed in place: torch forbids reading its
`grad_fn` (and `is_leaf`), yet a program that never uses the view again is valid Python.
The tool watching the program must not be what touches it: `nn.Embedding(padding_idx=0)`
makes such a view as it zeroes its padding row, and so does hand-written weight surgery.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from conftest import Invoke, run_json

SURGERY = textwrap.dedent(
    """\
    import torch
    w = torch.randn(3, 2, requires_grad=True)
    with torch.no_grad():
        v = w[0]
        v.fill_(0)
    loss = (w * w).sum()
    loss.backward()
    """
)

EMBEDDING = textwrap.dedent(
    """\
    import torch
    import torch.nn as nn
    emb = nn.Embedding(5, 3, padding_idx=0)
    idx = torch.tensor([0, 2, 2])
    loss = emb(idx).pow(2).sum()
    loss.backward()
    """
)


def _plain_grad(code: str, name: str) -> list[object]:
    """The gradient plain PyTorch leaves, for the same code and seed."""
    torch.manual_seed(0)
    scope: dict[str, object] = {}
    exec(code, scope)
    value = scope[name]
    if isinstance(value, torch.nn.Module):
        value = value.weight
    assert isinstance(value, torch.Tensor) and value.grad is not None
    return list(value.grad.tolist())


@pytest.mark.parametrize("trust", [False, True])
def test_surgery_under_no_grad_gives_torch_gradient(
    cli: Invoke, tmp_path: Path, trust: bool
) -> None:
    path = tmp_path / "surgery.py"
    path.write_text(SURGERY, encoding="utf-8")
    doc = run_json(cli, "grad", "-f", str(path), *(["--trust"] if trust else []))
    (w,) = [v for v in doc["variables"] if v["name"] == "w"]
    assert torch.tensor(w["grad"]).tolist() == _plain_grad(SURGERY, "w")
    assert w["grad"][0] == [0.0, 0.0]  # the zeroed row
    assert "v" not in {v["name"] for v in doc["variables"]}  # torch forbids reading it


@pytest.mark.parametrize("command", ["step", "graph", "why w", "backward", "accumulate"])
@pytest.mark.parametrize("trust", [False, True])
def test_every_command_runs_the_surgery(
    cli: Invoke, tmp_path: Path, command: str, trust: bool
) -> None:
    path = tmp_path / "surgery.py"
    path.write_text(SURGERY, encoding="utf-8")
    result = cli(*command.split(), "-f", str(path), *(["--trust"] if trust else []))
    assert result.exit_code == 0, result.stderr


def test_trusted_embedding_with_padding_idx(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "embedding.py"
    path.write_text(EMBEDDING, encoding="utf-8")
    doc = run_json(cli, "grad", "-f", str(path), "--trust")
    (weight,) = [p for p in doc["parameters"] if p["name"] == "weight"]
    expected = torch.tensor(_plain_grad(EMBEDDING, "emb"), dtype=torch.float64)
    assert weight["grad_norm"] == pytest.approx(expected.norm().item())
