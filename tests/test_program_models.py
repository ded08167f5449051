"""Models in interpreted programs: nn layers, module calls and methods, optimizers, bounds."""

from __future__ import annotations

import contextlib
import io
import json
import runpy
from pathlib import Path

import pytest
import torch

from autograd_cli.errors import UsageError
from autograd_cli.program.run import run_program
from autograd_cli.program.source import from_text, read_program
from conftest import Invoke

EXAMPLES = Path(__file__).parent.parent / "examples"


def interpreted(code: str, seed: int = 0) -> dict[str, object]:
    run = run_program(from_text(code, "<test>"), seed=seed)
    assert run.error is None, run.error and run.error.message
    return run.scope


@pytest.mark.parametrize("name", ["mlp.py", "cnn.py", "transformer.py", "forgot_zero_grad.py"])
def test_examples_run_interpreted_bit_for_bit_as_python(name: str) -> None:
    code = (EXAMPLES / name).read_text()
    scope = interpreted(code)
    torch.manual_seed(0)
    with contextlib.redirect_stdout(io.StringIO()):
        plain = runpy.run_path(str(EXAMPLES / name))
    loss, expected = scope["loss"], plain["loss"]
    assert isinstance(loss, torch.Tensor) and isinstance(expected, torch.Tensor)
    assert torch.equal(loss, expected)
    model, reference = scope["model"], plain["model"]
    assert isinstance(model, torch.nn.Module) and isinstance(reference, torch.nn.Module)
    for (n, p), (m, q) in zip(model.named_parameters(), reference.named_parameters(), strict=True):
        assert n == m and torch.equal(p, q)
        assert p.grad is not None and q.grad is not None and torch.equal(p.grad, q.grad)


def test_module_methods_and_attributes() -> None:
    scope = interpreted(
        "import torch\n"
        "from torch import nn\n"
        "model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))\n"
        "model[0].requires_grad_(False)\n"
        "names = ''\n"
        "for name, p in model.named_parameters():\n"
        "    names = names + name + ' '\n"
        "count = 0\n"
        "for p in model.parameters():\n"
        "    count = count + 1\n"
        "model.eval()\n"
        "mode = model.training\n"
        "model.train()\n"
        "loss = model(torch.ones(2, 3)).sum()\n"
        "loss.backward()\n"
        "first = model[0].weight.grad\n"
        "last = model[2].weight.grad\n"
        "model.zero_grad()\n"
        "after = model[2].weight.grad\n"
    )
    assert scope["names"] == "0.weight 0.bias 2.weight 2.bias "
    assert scope["count"] == 4 and scope["mode"] is False
    assert scope["first"] is None and isinstance(scope["last"], torch.Tensor)
    assert scope["after"] is None  # zero_grad() sets to None, as torch does by default


def test_adam_steps_like_torch() -> None:
    code = (
        "import torch\n"
        "from torch import nn\n"
        "torch.manual_seed(1)\n"
        "model = nn.Linear(3, 1)\n"
        "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
        "x = torch.randn(8, 3)\n"
        "for step in range(3):\n"
        "    optimizer.zero_grad()\n"
        "    loss = (model(x) ** 2).mean()\n"
        "    loss.backward()\n"
        "    optimizer.step()\n"
    )
    scope = interpreted(code)
    torch.manual_seed(1)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x = torch.randn(8, 3)
    for _ in range(3):
        optimizer.zero_grad()
        (model(x) ** 2).mean().backward()
        optimizer.step()
    ours = scope["model"]
    assert isinstance(ours, torch.nn.Linear)
    assert torch.equal(ours.weight, model.weight) and torch.equal(ours.bias, model.bias)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("from torch import nn\nm = nn.Linear(100000, 1000)\n", "elements"),
        (
            "import torch\nfrom torch import nn\nm = nn.Linear(10, 100000)\n"
            "y = m(torch.ones(1000, 10))\n",
            "line 4: this would make a tensor of 100,000,000 elements",
        ),
        ("from torch import nn\nm = nn.Linear(2, 2)\nf = m.forward\n", "unknown attribute"),
        ("from torch import nn\nm = nn.Linear(2, 2)\ns = m.state_dict()\n", "unknown attribute"),
        ("from torch import nn\nm = nn.Linear(2, 2)\nc = m.__class__\n", "is not allowed"),
        ("from torch import nn\nm = nn.Module()\n", "not in the whitelist"),
        ("from torch import nn\nm = nn.Linear(2, 2)\nm.weight = None\n", "cannot be assigned"),
        (
            "import torch\nfrom torch import nn\nm = nn.Linear(2, 2)\n"
            "o = torch.optim.SGD(m.parameters(), lr=0.1)\no.step(print)\n",
            "step() takes no closure",
        ),
    ],
)
def test_refused_and_bounded(code: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        run_program(from_text(code, "<test>"), seed=0)
    assert message in caught.value.message


def test_interpreted_model_in_the_module_view(cli: Invoke) -> None:
    done = cli("graph", "-f", str(EXAMPLES / "cnn.py"), "--by-module")
    assert done.exit_code == 0, done.stderr
    for word in ("Conv2d", "BatchNorm2d", "CrossEntropyLoss"):
        assert word in done.stdout


def test_interpreted_transformer_on_meta(cli: Invoke) -> None:
    args = ["graph", "-f", str(EXAMPLES / "transformer.py"), "--by-module", "--device", "meta"]
    done = cli(*args)
    assert done.exit_code == 0, done.stderr
    assert "TransformerEncoderLayer x4" in done.stdout


#: No `torch.manual_seed` of its own: initialisation and dropout draw what `--seed` gives.
_RANDOM_MODEL = """\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.5), nn.Linear(6, 1))
x = torch.ones(3, 4)
out = model(x)
print(model[0].weight)
print(out)
"""


def _plain(path: Path, seed: int) -> tuple[dict[str, object], str]:
    """`python FILE` after `torch.manual_seed(seed)`: its names and what it printed."""
    printed = io.StringIO()
    torch.manual_seed(seed)
    with contextlib.redirect_stdout(printed):
        scope = runpy.run_path(str(path))
    return scope, printed.getvalue()


@pytest.mark.parametrize("trust", [False, True])
def test_seed_drives_initialisation_and_dropout_as_manual_seed(
    cli: Invoke, tmp_path: Path, trust: bool
) -> None:
    path = tmp_path / "random_model.py"
    path.write_text(_RANDOM_MODEL)
    outputs: dict[int, torch.Tensor] = {}
    for seed in (7, 8):
        trusted = ["--trust"] if trust else []
        done = cli("step", "-f", str(path), "--seed", str(seed), "--json", *trusted)
        assert done.exit_code == 0, done.stderr
        events = json.loads(done.stdout)["events"]
        printed = "".join(line + "\n" for event in events for line in event.get("printed", []))
        plain_scope, plain_printed = _plain(path, seed)
        assert printed == plain_printed  # the weights and the dropped-out output, as printed
        run = run_program(read_program(str(path), None), seed=seed, trusted=trust)
        assert run.error is None
        for name in ("x", "out"):
            ours, theirs = run.scope[name], plain_scope[name]
            assert isinstance(ours, torch.Tensor) and isinstance(theirs, torch.Tensor)
            assert torch.equal(ours, theirs)
            outputs[seed] = ours  # the last: out
    # another seed: other weights and another dropout mask
    assert not torch.equal(outputs[7], outputs[8])
