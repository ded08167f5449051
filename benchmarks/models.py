"""Models: the module view against torchviz, GPT-2-XL on meta, and saved bytes meta vs real.

Three measurements (issue 12), each against a baseline measured in the same run:

1. A 12-layer transformer encoder of width 768 (12 heads, feed-forward 3072) on the CPU, its
   loss computed once under the module recorder: `trace + module view`, what `graph
   --by-module` does once the loss is made (a walk of the whole graph, each node's module,
   op and saved bytes, the model record, and the module view rendered as text) against
   torchviz's `make_dot(loss, params).source` on the same loss (goal: at least 5x faster).
   torchview's `draw_graph` is timed too where it installs: it runs its own forward pass
   (it sees the forward only, never the backward graph). The recorder's cost on the forward
   pass itself is the ratio of a recorded forward to a bare one.
2. The GPT-2-XL-sized encoder (48 layers of width 1600, 25 heads, feed-forward 6400, ~1.5
   billion parameters) on the meta device, each in a fresh process: wall time and peak RSS
   of building, recording and rendering the module view, at 12, 24 and 48 layers (goal:
   under 10 s and 1 GiB at 48, time linear in layers, memory flat). The baseline is a
   process that only imports torch; the largest model is also built and run forward in
   plain torch, so what autograd-cli adds shows apart from what torch's meta kernels cost.
3. Saved-for-backward bytes on meta against the real CPU run for small models (goal: equal
   where torch runs the same kernels; LSTM differs, see docs/models.md).

torchviz and torchview are optional benchmark dependencies (`pip install torchviz
torchview`), never runtime ones: without them their rows are skipped.

    python benchmarks/models.py [--repeat N] [--cpu-repeat N] [--layers 12 24 48] [--skip-cpu]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from rich.console import Console
from torch import nn

from autograd_cli.inspection.modules import ModuleRecorder
from autograd_cli.render.module_view import module_view
from autograd_cli.render.modules import module_rows


def encoder(layers: int, width: int, heads: int, feedforward: int) -> nn.Module:
    layer = nn.TransformerEncoderLayer(width, heads, feedforward, dropout=0.0, batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def render_text(renderable: Any) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(renderable)
    out = console.file
    assert isinstance(out, io.StringIO)
    return out.getvalue()


def median_times(functions: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Each function's median over `repeat` rounds, the functions taking turns in each
    round: on a shared machine the load then weighs on all of them alike. Each round starts
    with the next function, so none always runs right after the same other one (whose
    memory traffic would always leave it the same caches)."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    order = list(functions.items())
    for round_ in range(repeat):
        turn = round_ % len(order)
        for name, function in order[turn:] + order[:turn]:
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(found) for name, found in times.items()}


def cpu_encoder(repeat: int) -> None:
    torch.manual_seed(0)
    model = encoder(12, 768, 12, 3072)
    x = torch.randn(1, 64, 768)

    def bare_forward() -> object:
        return model(x).pow(2).mean()

    def recorded_forward() -> object:
        with ModuleRecorder():
            return model(x).pow(2).mean()

    with ModuleRecorder() as modules:
        loss = model(x).pow(2).mean()

    def module_view_text() -> object:  # what `graph --by-module` does once the loss is made
        _, record = modules.model(loss, node_records=False)
        return render_text(module_view(record, module_rows(record)))

    def module_view_with_records() -> object:  # as before the view walked the graph bare
        graph, record = modules.model(loss)
        return render_text(module_view(record, module_rows(record), graph))

    views: dict[str, Callable[[], object]] = {
        "trace + module view": module_view_text,
        "the same, with a record per node": module_view_with_records,
    }
    forwards: dict[str, Callable[[], object]] = {
        "forward, bare": bare_forward,
        "forward, recorded": recorded_forward,
    }
    try:
        from torchviz import make_dot

        params = dict(model.named_parameters())
        views["torchviz make_dot"] = lambda: make_dot(loss, params).source
    except ImportError:
        print("torchviz not installed: make_dot skipped (pip install torchviz)")
    try:
        from torchview import draw_graph

        forwards["torchview draw_graph (forward only)"] = lambda: draw_graph(
            model, input_data=x, depth=2
        )
    except ImportError:
        print("torchview not installed: draw_graph skipped (pip install torchview)")
    print(f"\n12-layer encoder, width 768, input (1, 64, 768), median of {repeat}, interleaved")
    # Two groups, each interleaved within itself: a forward pass streams the model's 340 MB
    # of weights through the caches, which the graph readers would then pay for in turn.
    for title, group in (("graph of the loss", views), ("forward passes", forwards)):
        rows = list(median_times(group, repeat).items())
        baseline = rows[0][1]
        print(f"{title + ' (ratio to the first)':38} {'seconds':>9} {'ratio':>8}")
        for name, seconds in rows:
            print(f"{name:38} {seconds:9.4f} {seconds / baseline:8.2f}")


_META_CHILD = """
import json, sys, time
start = time.perf_counter()

def peak_mib():
    # VmHWM: this process's own peak RSS (ru_maxrss would keep the parent's across exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")

layers = int(sys.argv[1])
plain = sys.argv[2:] == ["plain"]  # the same model and forward in plain torch, nothing else
import torch
from torch import nn
if plain:
    with torch.device("meta"):
        layer = nn.TransformerEncoderLayer(1600, 25, 6400, dropout=0.0, batch_first=True)
        model = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        x = torch.randn(1, 1024, 1600)
        loss = model(x).sum()
    params = sum(p.numel() for p in model.parameters())
    saved = 0
elif layers:
    from autograd_cli.inspection.modules import ModuleRecorder
    from autograd_cli.render.modules import module_rows
    from autograd_cli.render.module_view import module_view
    from rich.console import Console
    import io
    with torch.device("meta"):
        layer = nn.TransformerEncoderLayer(1600, 25, 6400, dropout=0.0, batch_first=True)
        model = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        x = torch.randn(1, 1024, 1600)
    with ModuleRecorder() as modules:
        loss = model(x).sum()
    _, record = modules.model(loss, node_records=False)
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(module_view(record, module_rows(record)))
    params = sum(p.numel for p in record.parameters)
    saved = record.saved_bytes
else:
    params = saved = 0
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "rss_mib": peak_mib(),
    "parameters": params,
    "saved_bytes": saved,
}))
"""


def meta_encoder(layer_counts: list[int], repeat: int) -> None:
    def child(layers: int) -> dict[str, float]:
        plain = ["plain"] if layers < 0 else []  # -n: n layers in plain torch
        out = subprocess.run(
            [sys.executable, "-c", _META_CHILD, str(abs(layers)), *plain],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result: dict[str, float] = json.loads(out)
        return result

    print(
        f"\nGPT-2-XL-sized encoder on meta (width 1600, input (1, 1024, 1600)), median of {repeat}"
    )
    print(
        "each in a fresh process; baseline: a process that imports torch only; 'plain N': "
        "the same N layers built and run forward in plain torch, without autograd-cli"
    )
    top = max(layer_counts)
    results: dict[int, list[dict[str, float]]] = {n: [] for n in [0, -top, *layer_counts]}
    for _ in range(repeat):  # interleaved, so drift on a busy machine hits all alike
        for layers in results:
            results[layers].append(child(layers))
    base = results[0]
    base_s = statistics.median(r["seconds"] for r in base)
    base_rss = statistics.median(r["rss_mib"] for r in base)
    print(
        f"{'layers':>8} {'params':>14} {'saved GiB':>10} {'seconds':>8} {'x base':>7}"
        f" {'RSS MiB':>8} {'x base':>7}"
    )
    for layers, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        rss = statistics.median(r["rss_mib"] for r in runs)
        label = "torch" if layers == 0 else f"plain {-layers}" if layers < 0 else str(layers)
        print(
            f"{label:>8} {int(runs[0]['parameters']):>14,} "
            f"{runs[0]['saved_bytes'] / 2**30:>10.2f} {seconds:>8.2f} {seconds / base_s:>7.2f}"
            f" {rss:>8.0f} {rss / base_rss:>7.2f}"
        )


def saved_meta_vs_real() -> None:
    models: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
        "MLP": (lambda: nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)), (4, 8)),
        "CNN + BatchNorm": (
            lambda: nn.Sequential(
                nn.Conv2d(3, 8, 3),
                nn.BatchNorm2d(8),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(8 * 6 * 6, 10),
            ),
            (2, 3, 8, 8),
        ),
        "TransformerEncoderLayer": (
            lambda: nn.TransformerEncoderLayer(32, 4, 64, batch_first=True),
            (2, 5, 32),
        ),
        "LSTM": (lambda: nn.LSTM(8, 16, batch_first=True), (2, 5, 8)),
        "GRU": (lambda: nn.GRU(8, 16, batch_first=True), (2, 5, 8)),
    }
    print("\nsaved for backward, each storage once: meta vs the real CPU run")
    print(f"{'model':24} {'cpu bytes':>10} {'meta bytes':>10} {'cpu/meta':>9}")
    for name, (build, shape) in models.items():
        found = []
        for device in ("cpu", "meta"):
            torch.manual_seed(0)
            with torch.device(device):
                model = build()
                x = torch.randn(*shape)
            with ModuleRecorder() as modules:
                out = model(x)
                loss = (out[0] if isinstance(out, tuple) else out).sum()
            found.append(modules.model(loss)[1].saved_bytes)
        print(f"{name:24} {found[0]:>10,} {found[1]:>10,} {found[0] / found[1]:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each model on meta")
    parser.add_argument(
        "--cpu-repeat",
        type=int,
        default=21,
        help="rounds of the CPU encoder's methods (a few milliseconds each: a median of 3 "
        "moved by a third between runs on a busy machine)",
    )
    parser.add_argument("--layers", type=int, nargs="+", default=[12, 24, 48])
    parser.add_argument("--skip-cpu", action="store_true", help="skip the 12-layer CPU encoder")
    parser.add_argument("--skip-meta", action="store_true", help="skip the models on meta")
    args = parser.parse_args()
    if not args.skip_cpu:
        cpu_encoder(args.cpu_repeat)
    if not args.skip_meta:
        meta_encoder(args.layers, args.repeat)
        saved_meta_vs_real()


if __name__ == "__main__":
    main()
