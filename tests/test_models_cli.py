"""The model options of the CLI: graph --by-module, --module-depth, --expand, --device."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from conftest import Invoke, load_document

EXAMPLES = Path(__file__).parent.parent / "examples"
FORWARD_ONLY = """\
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                      nn.Linear(8 * 6 * 6, 10))
x = torch.randn(2, 3, 8, 8)
loss = model(x).sum()
"""


def test_by_module_folds_the_transformer_example(cli: Invoke) -> None:
    done = cli("graph", "-f", str(EXAMPLES / "transformer.py"), "--trust", "--by-module")
    assert done.exit_code == 0, done.stderr
    assert "layers.0-3" in done.stdout and "TransformerEncoderLayer x4" in done.stdout
    assert "MSELoss" in done.stdout


def test_by_module_json_and_expand(cli: Invoke) -> None:
    args = ["graph", "-f", str(EXAMPLES / "transformer.py"), "--trust", "--by-module"]
    done = cli(*args, "--expand", "layers.1.linear2", "--json")
    assert done.exit_code == 0, done.stderr
    doc = load_document(done.stdout)
    assert doc["view"] == "modules" and doc["root"] == "loss"
    names = [row["name"] for row in doc["rows"]]
    assert "0" in names and "1" in names and "2-3" in names and "linear2" in names
    assert [p["name"] for p in doc["parameters"]][:2] == [
        "layers.0.self_attn.in_proj_weight",
        "layers.0.self_attn.in_proj_bias",
    ]
    text = cli(*args, "--expand", "layers.1.linear2")
    assert "nodes of layers.1.linear2 (Linear)" in text.stdout
    shallow = load_document(cli(*args, "--module-depth", "0", "--json").stdout)
    assert [r["depth"] for r in shallow["rows"]] == [0, 0]


def test_saved_bytes_on_meta_equal_the_cpu_run(cli: Invoke, tmp_path: Path) -> None:
    program = tmp_path / "cnn.py"
    program.write_text(FORWARD_ONLY)
    figures = {}
    for device in ("cpu", "meta"):
        args = ["graph", "-f", str(program), "--trust", "--by-module", "--json"]
        done = cli(*args, "--device", device)
        assert done.exit_code == 0, done.stderr
        doc = load_document(done.stdout)
        assert doc["device"] == device
        figures[device] = [m["saved_bytes"] for m in doc["stats"]]
    assert figures["cpu"] == figures["meta"] and figures["cpu"][0] > 0


def test_modules_label_the_node_graph_of_a_program(cli: Invoke) -> None:
    done = cli("graph", "-f", str(EXAMPLES / "mlp.py"), "--trust", "--format", "mermaid")
    assert done.exit_code == 0, done.stderr
    assert 'subgraph m1["0 (Linear)"]' in done.stdout
    assert "0.weight" in done.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_device_cuda_without_a_gpu_exits_2(cli: Invoke) -> None:
    done = cli("graph", "-f", str(EXAMPLES / "mlp.py"), "--trust", "--device", "cuda")
    assert done.exit_code == 2
    assert done.stderr.startswith("error: --device cuda: no CUDA GPU")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["graph", "--by-module"], "only a program has one"),
        (["graph", "--module-depth", "1"], "add --by-module"),
        (["graph", "--expand", "0"], "add --by-module"),
        (["graph", "--by-module", "--format", "dot"], "not --format dot"),
        (["graph", "--by-module", "--saved"], "--saved is for the graph of nodes"),
    ],
)
def test_model_options_refused_in_plain_words(cli: Invoke, args: list[str], message: str) -> None:
    done = cli(*args)
    assert done.exit_code == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_unknown_module_to_expand(cli: Invoke) -> None:
    args = ["graph", "-f", str(EXAMPLES / "mlp.py"), "--trust", "--by-module"]
    done = cli(*args, "--expand", "encoder")
    assert done.exit_code == 2
    assert "no module 'encoder'" in done.stderr


def test_meta_refuses_gradients(cli: Invoke) -> None:
    args = ["graph", "-f", str(EXAMPLES / "mlp.py"), "--trust", "--device", "meta", "--grads"]
    done = cli(*args)
    assert done.exit_code == 2
    assert "--device meta keeps shapes only" in done.stderr


DEAD = """\
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 1))
with torch.no_grad():
    model[0].bias.fill_(-100.0)
model[2].requires_grad_(False)
loss = model(torch.randn(8, 4)).sum()
loss.backward()
"""


def test_grad_shows_parameter_health_with_flags(cli: Invoke, tmp_path: Path) -> None:
    program = tmp_path / "dead.py"
    program.write_text(DEAD)
    done = cli("grad", "-f", str(program))
    assert done.exit_code == 0, done.stderr
    assert "gradient health, per parameter" in done.stdout
    assert "dead units: 6 of 6 rows" in done.stdout
    assert "no grad (frozen)" in done.stdout
    doc = json.loads(cli("grad", "-f", str(program), "--json").stdout)
    rows = {p["name"]: p for p in doc["parameters"]}
    assert rows["0.weight"]["flags"] == ["vanishing", "dead_units"]
    assert rows["2.weight"]["flags"] == ["no_grad"] and rows["2.weight"]["missing"] == "frozen"
    assert doc["thresholds"] == {"vanishing": 1e-7, "exploding": 1e3, "dead": 0.1}
    args = ["grad", "-f", str(program), "--json", "--vanishing", "0", "--dead", "1"]
    strict = json.loads(cli(*args).stdout)
    assert strict["thresholds"] == {"vanishing": 0.0, "exploding": 1e3, "dead": 1.0}
    # an exact zero is at or below any vanishing threshold; 6 of 6 dead rows reach 1.0
    assert {p["name"]: p["flags"] for p in strict["parameters"]}["0.weight"] == [
        "vanishing",
        "dead_units",
    ]


def test_grad_update_ratio_after_optimizer_steps(cli: Invoke) -> None:
    done = cli("grad", "-f", str(EXAMPLES / "forgot_zero_grad.py"), "--json")
    assert done.exit_code == 0, done.stderr
    doc = load_document(done.stdout)
    assert doc["optimizer_steps"] == 30
    update = doc["parameters"][0]["update"]
    assert update["steps"] == 30 and 0 < update["ratio"] < 1


def test_grad_on_meta_is_refused(cli: Invoke) -> None:
    done = cli("grad", "-f", str(EXAMPLES / "mlp.py"), "--device", "meta")
    assert done.exit_code == 2 and "keeps shapes only" in done.stderr


def test_saved_bytes_are_counted_before_backward_frees_them(cli: Invoke, tmp_path: Path) -> None:
    figures = {}
    for name, code in (("forward", FORWARD_ONLY), ("backward", FORWARD_ONLY + "loss.backward()\n")):
        program = tmp_path / f"{name}.py"
        program.write_text(code)
        args = ["graph", "-f", str(program), "--by-module", "--json"]
        doc = json.loads(cli(*args).stdout)
        figures[name] = ([m["saved_bytes"] for m in doc["stats"]], doc["at_backward"])
    assert figures["forward"][1] is False and figures["backward"][1] is True
    assert figures["forward"][0] == figures["backward"][0] and figures["forward"][0][0] > 0


TRAINING_STEP = """\
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(4, 2)
loss = model(x).sum()
loss.backward()
opt.step()
opt.zero_grad()
"""


@pytest.mark.parametrize("trust", [False, True])
def test_step_names_parameters(
    cli: Invoke,
    golden: Callable[[str, str], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    trust: bool,
) -> None:
    monkeypatch.chdir(tmp_path)  # the view's first line names the file as given
    Path("train.py").write_text(TRAINING_STEP)
    args = ["step", "-f", "train.py", *(["--trust"] if trust else [])]
    done = cli(*args)
    assert done.exit_code == 0, done.stderr
    golden("step_model_trusted.txt" if trust else "step_model.txt", done.stdout)
    events = load_document(cli(*args, "--json").stdout)["events"]
    nodes = [n for e in events for n in e["nodes"] if "AccumulateGrad" in n]
    assert sorted(n.partition(" (")[2] for n in nodes) == [
        "0.bias)",
        "0.weight)",
        "2.bias)",
        "2.weight)",
    ]
    backward = next(e for e in events if e["code"] == "loss.backward()")["backward"][0]
    assert {c["tensor"] for c in backward["grads"]} == {"0.weight", "0.bias", "2.weight", "2.bias"}
    step = next(e for e in events if e["code"] == "opt.step()")
    assert [v["tensor"] for v in step["versions"]] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    cleared = next(e for e in events if e["code"] == "opt.zero_grad()")["grads"]
    assert [(c["tensor"], c["how"], c["after"]) for c in cleared] == [
        (name, "set to None", None) for name in ("0.weight", "0.bias", "2.weight", "2.bias")
    ]
