"""Programs use what torch's reductions hand back (`x.max(1).values`), `permute` and
`nansum` as plain PyTorch does: the same gradients, and a clear refusal elsewhere."""

from __future__ import annotations

from pathlib import Path

import torch

from conftest import Invoke, run_json

PROGRAM = """\
import torch
x = torch.randn(3, 4, requires_grad=True)
m = x.max(1)
i = m.indices
p = x.permute(1, 0)
s = m.values.sum() + p.nansum() + torch.nansum(torch.permute(x, (1, 0)))
s = s + x.min(dim=0).values.sum()
s.backward()
"""


def test_reduction_fields_permute_and_nansum_give_torchs_gradients(
    cli: Invoke, tmp_path: Path
) -> None:
    path = tmp_path / "prog.py"
    path.write_text(PROGRAM, encoding="utf-8")
    doc = run_json(cli, "grad", "--file", str(path), "--seed", "0")
    grads = {v["name"]: v["grad"] for v in doc["variables"]}
    torch.manual_seed(0)
    x = torch.randn(3, 4, requires_grad=True)
    m = x.max(1)
    s = m.values.sum() + x.permute(1, 0).nansum() + torch.nansum(torch.permute(x, (1, 0)))
    (s + x.min(dim=0).values.sum()).backward()
    assert x.grad is not None
    assert grads["x"] == x.grad.tolist()


def test_a_tensor_has_no_values_field(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "prog.py"
    path.write_text("import torch\nx = torch.ones(3)\ny = x.values\n", encoding="utf-8")
    result = cli("grad", "--file", str(path))
    assert result.exit_code == 2  # refused, as anything outside the whitelist is
    assert result.stderr.startswith(
        "error: line 3: a tensor has no attribute 'values' a program may use"
    )
