"""What running a program through autograd-cli costs over plain Python + torch.

Three programs, each timed in this process both ways, as the median of several runs:
- the seed lesson (`lessons/lesson5.py`): tiny tensors, so per-statement overhead;
- a training-style loop of N iterations (default 10^4): per-op overhead in a loop;
- the same loop as a trusted file: the recorder and line tracer over bare `exec`.
`grad` needs the run and the final `.grad` only, so it runs the program as the `grad`
command does, keeping no timeline entries (`steps=False`); `step` runs it keeping them,
then builds the timeline's document. The baseline is the same text compiled and run by
Python after `torch.manual_seed(0)`, compiled on every run as `python FILE` compiles its
main script (Python caches no .pyc for it), as autograd-cli parses and checks it on every
run. The baseline, `grad` and `step` of a program are timed round by round, interleaved,
so that drift on a shared machine hits them alike.

Run: python benchmarks/programs.py [--iterations N] [--repeat R]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import torch

from autograd_cli.program.run import run_program
from autograd_cli.program.source import Program, from_text, read_program
from autograd_cli.render.json import data

LOOP = """\
import torch
w = torch.randn(4, 3, requires_grad=True)
x = torch.randn(8, 4)
for i in range({n}):
    loss = ((x @ w).relu() ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= 0.01 * w.grad
    w.grad.zero_()
print(loss.item())
"""


def medians_s(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Each run's median seconds, the runs interleaved round by round, so that drift on a
    shared machine hits the baseline and the cases alike."""
    for run in runs.values():
        run()  # warm up: torch initialises lazily
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(samples) for name, samples in times.items()}


def bare(text: str) -> Callable[[], object]:
    """The program as `python FILE` runs it: this benchmark's own fixed texts, not user
    input."""

    def run() -> object:
        torch.manual_seed(0)
        namespace: dict[str, object] = {"print": lambda *a, **k: None}
        exec(compile(text, "<bench>", "exec"), namespace)
        return namespace

    return run


def timeline_doc(program: Program, trusted: bool) -> object:
    """What `step --json` computes: the run, then its document."""
    return data(run_program(program, seed=0, trusted=trusted).timeline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)  # thread wake-ups on a busy 2-core machine swamp the medians

    lesson_text = files("autograd_cli").joinpath("lessons/lesson5.py").read_text("utf-8")
    loop_text = LOOP.format(n=args.iterations)
    rows = []
    for name, text, repeat in (
        ("seed lesson", lesson_text, args.repeat * 20),
        (f"loop x{args.iterations:,}", loop_text, args.repeat),
    ):
        program = from_text(text, name)
        found = medians_s(
            {
                "base": bare(text),
                "grad": functools.partial(run_program, program, seed=0, steps=False),
                "step": functools.partial(timeline_doc, program, False),
            },
            repeat,
        )
        rows.append((name, "interpreted", found["base"], found["grad"], found["step"]))

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "loop.py"
        path.write_text(loop_text.replace("print(loss.item())", ""), "utf-8")
        program = read_program(str(path), None)
        found = medians_s(
            {
                "base": bare(program.text),
                "grad": functools.partial(run_program, program, seed=0, trusted=True, steps=False),
                "step": functools.partial(timeline_doc, program, True),
            },
            args.repeat,
        )
        rows.append(
            (f"loop x{args.iterations:,}", "trusted", found["base"], found["grad"], found["step"])
        )

    print(f"{'program':<16}{'mode':<13}{'plain s':>9}{'run s':>9}{'x':>7}{'+step s':>9}{'x':>7}")
    for name, mode, base, grad, step in rows:
        print(
            f"{name:<16}{mode:<13}{base:9.4f}{grad:9.4f}{grad / base:7.2f}"
            f"{step:9.4f}{step / base:7.2f}"
        )


if __name__ == "__main__":
    main()
