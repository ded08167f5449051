"""Models on the meta device: the graph and the saved bytes without values.

Where torch runs the same kernels on meta as on the CPU, the bytes saved for backward
counted on meta equal those of the real run exactly; where the CPU picks another kernel
(LSTM through mkldnn), both figures are shown, and the test pins how they differ.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from autograd_cli.inspection.modules import ModuleRecorder
from autograd_cli.records.modules import ModelRecord, Thresholds, flags
from autograd_cli.render.modules import module_rows

Build = Callable[[], nn.Module]


def recorded(build: Build, shape: tuple[int, ...], device: str) -> tuple[ModelRecord, list[str]]:
    torch.manual_seed(0)
    with torch.device(device):
        model = build()
        x = torch.randn(*shape)
    with ModuleRecorder() as modules:
        out = model(x)
        loss = (out[0] if isinstance(out, tuple) else out).sum()
    graph, record = modules.model(loss)
    assert graph is not None
    return record, [n.name for n in graph.nodes]


SAME_KERNELS: dict[str, tuple[Build, tuple[int, ...]]] = {
    "mlp": (lambda: nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)), (4, 8)),
    "cnn_batchnorm": (
        lambda: nn.Sequential(
            nn.Conv2d(3, 8, 3),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(8 * 3 * 3, 10),
        ),
        (2, 3, 8, 8),
    ),
    "transformer_encoder_layer": (
        lambda: nn.TransformerEncoderLayer(32, 4, 64, batch_first=True),
        (2, 5, 32),
    ),
}


@pytest.mark.parametrize("name", sorted(SAME_KERNELS))
def test_saved_bytes_on_meta_equal_the_real_run(name: str) -> None:
    build, shape = SAME_KERNELS[name]
    real, real_nodes = recorded(build, shape, "cpu")
    meta, meta_nodes = recorded(build, shape, "meta")
    assert meta.saved_bytes == real.saved_bytes > 0
    # the same graph, though a view may be named otherwise (ReshapeAlias on meta)
    assert len(meta_nodes) == len(real_nodes)
    assert [s.saved_bytes for s in meta.stats] == [s.saved_bytes for s in real.stats]
    assert meta.device == "meta" and real.device == "cpu"


def test_lstm_saves_about_four_times_more_on_cpu_than_on_meta() -> None:
    """On the CPU, LSTM runs as one mkldnn kernel that keeps its workspace for backward
    (one MkldnnRnnLayerBackward0 node); on meta, torch decomposes it into per-step ops."""
    build: Build = lambda: nn.LSTM(8, 16, batch_first=True)  # noqa: E731
    real, real_nodes = recorded(build, (2, 5, 8), "cpu")
    meta, meta_nodes = recorded(build, (2, 5, 8), "meta")
    assert "MkldnnRnnLayerBackward0" in real_nodes
    assert "MkldnnRnnLayerBackward0" not in meta_nodes
    assert 3.5 < real.saved_bytes / meta.saved_bytes < 4.5


def test_gru_saves_the_same_bytes_through_other_nodes() -> None:
    build: Build = lambda: nn.GRU(8, 16, batch_first=True)  # noqa: E731
    real, real_nodes = recorded(build, (2, 5, 8), "cpu")
    meta, meta_nodes = recorded(build, (2, 5, 8), "meta")
    assert real.saved_bytes == meta.saved_bytes
    assert real_nodes != meta_nodes


def test_meta_parameters_have_shapes_but_no_health_figures() -> None:
    with torch.device("meta"):
        model = nn.Linear(4, 2)
        x = torch.randn(3, 4)
    with ModuleRecorder() as modules:
        model(x).sum().backward()
    _, record = modules.model()
    weight = record.parameters[0]
    assert weight.shape == (2, 4) and weight.missing == "meta"
    assert weight.grad_norm is None and flags(weight, Thresholds()) == []


def test_a_gpt2_xl_sized_encoder_runs_on_meta() -> None:
    """48 layers of width 1600 (about 1.5 billion parameters): nothing is allocated."""
    with torch.device("meta"):
        layer = nn.TransformerEncoderLayer(1600, 25, 6400, batch_first=True)
        model = nn.TransformerEncoder(layer, 48, enable_nested_tensor=False)
        x = torch.randn(1, 8, 1600)
    with ModuleRecorder() as modules:
        loss = model(x).sum()
    _, record = modules.model(loss)
    parameters = sum(p.numel for p in record.parameters)
    assert 1.4e9 < parameters < 1.6e9
    rows = module_rows(record, depth=1)
    assert [(r.name, r.count) for r in rows] == [("(root)", 1), ("layers.0-47", 48)]
    per_layer = [s.saved_bytes for s in record.stats if s.module.depth == 2]
    assert len(per_layer) == 48 and len(set(per_layer[1:])) == 1
    # x needs no gradient, so layer 0 need not keep the weight that would carry it to x
    assert 0 < per_layer[0] < per_layer[1]
