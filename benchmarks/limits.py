"""The worst case of each documented bound: wall time and peak RSS at the maximum.

Each case runs one command as a fresh process at the largest input its bounds allow
(docs/guarantees.md), next to a baseline measured in the same run (`autograd-cli lesson`:
start-up and a small view), and prints the median wall time, its ratio to the baseline and
the peak resident memory of the process (from `resource.getrusage` of the child). Goal:
every case within 30 s and 2 GiB on a 2-core machine, else the bound is too high.

    python benchmarks/limits.py [--repeat N] [--only NAME ...] [--list]

The cases are interleaved round by round, so drift on a shared machine hits all alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from autograd_cli.batch.jobfile import MAX_JOBS
from autograd_cli.build.accumulation import accumulation_computation
from autograd_cli.build.computation import lesson_computation
from autograd_cli.build.expression import MAX_VARIABLES
from autograd_cli.cli.modes import BENCH_MAX_SIZE
from autograd_cli.defaults import DEFAULT_MAX_ELEMENTS, MAX_CALLS, TOTAL_ELEMENTS_FACTOR
from autograd_cli.expr.parser import MAX_DEPTH
from autograd_cli.inspection.cost import MAX_WORK
from autograd_cli.inspection.grads import (
    MAX_CHECK_INPUTS,
    MAX_HESSIAN_INPUTS,
    MAX_JACOBIAN_ENTRIES,
)

GOAL_SECONDS = 30.0
GOAL_BYTES = 2 * 1024**3


def _cli() -> list[str]:
    script = shutil.which("autograd-cli")
    return [script] if script else [sys.executable, "-m", "autograd_cli"]


def _deepest() -> list[str]:
    """MAX_VARIABLES definitions, each the longest chain the depth bound allows."""
    chain = MAX_DEPTH - 2
    argv = ["--expr", f"sum(a{MAX_VARIABLES - 1}" + "*1" * (chain - 1) + ")"]
    argv += ["--var", "a0=randn(1)"]
    for i in range(1, MAX_VARIABLES):
        argv += ["--var", f"a{i}=a{i - 1}" + "*1" * chain]
    return argv


def _most_elements(dtype: str) -> list[str]:
    """Variables of --max-elements each, up to the total bound (less the result's)."""
    count = TOTAL_ELEMENTS_FACTOR - 1
    argv = ["--expr", "sum(a0)", "--dtype", dtype]
    for i in range(count):
        argv += ["--var", f"a{i}=randn({DEFAULT_MAX_ELEMENTS})"]
    return argv


def _batch(directory: Path, valid: bool) -> str:
    path = directory / ("valid.toml" if valid else "invalid.toml")
    job = '[[job]]\ncommand = "grad"\n' if valid else '[[job]]\ncommand = "nope"\n'
    path.write_text(job * MAX_JOBS, encoding="utf-8")
    return str(path)


def cases(directory: Path) -> dict[str, list[str]]:
    """Each case's command line (after `autograd-cli`), at its documented maximum."""
    side = int(MAX_JACOBIAN_ENTRIES**0.5)
    # the bench's rounds at its widest network: as many as the work bound allows
    width = BENCH_MAX_SIZE
    network = lesson_computation(0, "loss", size=width).cost
    rounds = int(MAX_WORK // (9 * network))
    # accumulate's calls: --times's own bound, unless the work bound is reached first
    per_call = accumulation_computation().cost
    times = min(MAX_CALLS, int(MAX_WORK // per_call) - 1)
    return {
        "baseline: lesson": ["lesson"],
        f"jacobian forward, 1 x {MAX_JACOBIAN_ENTRIES:,}": [
            *("grad", "--expr", f"x * ones({MAX_JACOBIAN_ENTRIES})", "--var", "x=randn(1)"),
            *("--vector", "ones_like(result)", "--jacobian", "--json"),
        ],
        f"jacobian reverse, {side} x {side}": [
            *("grad", "--expr", "sin(w @ x)", "--var", f"x=randn({side})"),
            *("--var", f"w=randn({side}, {side})", "--wrt", "x"),
            *("--vector", "ones_like(result)", "--jacobian", "--json"),
        ],
        f"check, {MAX_CHECK_INPUTS:,} inputs": [
            *("grad", "--expr", "sum(sin(x) * x)", "--var", f"x=randn({MAX_CHECK_INPUTS})"),
            "--check",
        ],
        f"hessian, {MAX_HESSIAN_INPUTS:,} inputs": [
            *("grad", "--expr", "sum(sin(x) * x)", "--var", f"x=randn({MAX_HESSIAN_INPUTS})"),
            *("--hessian", "--json"),
        ],
        f"accumulate --times {times:,} --json": [
            *("accumulate", "--times", str(times), "--json"),
        ],
        f"modes --bench --size {width} --repeat {rounds}": [
            *("modes", "--bench", "--size", str(width), "--repeat", str(rounds)),
        ],
        f"{MAX_VARIABLES} variables, deepest graph, --json": ["graph", *_deepest(), "--json"],
        f"total elements, float32 ({TOTAL_ELEMENTS_FACTOR - 1} x 10^7)": [
            "grad",
            *_most_elements("float32"),
        ],
        f"total elements, float64 ({TOTAL_ELEMENTS_FACTOR - 1} x 10^7)": [
            "grad",
            *_most_elements("float64"),
        ],
        f"run, {MAX_JOBS:,} valid jobs": ["run", _batch(directory, True)],
        f"run, {MAX_JOBS:,} invalid jobs": ["run", _batch(directory, False)],
        "lesson at COLUMNS=100000000": ["lesson"],
    }


def _measure(argv: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in bytes and the exit code of one fresh process.

    Each run goes through a small Python parent whose only child is the command, so
    `RUSAGE_CHILDREN`'s ru_maxrss is that command's peak alone.
    """
    probe = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,"
        " stderr=subprocess.DEVNULL).returncode;"
        "t = time.perf_counter() - t;"
        "print(t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, code)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="rounds (median of them)")
    parser.add_argument("--only", nargs="*", help="cases whose name holds one of these words")
    parser.add_argument("--list", action="store_true", help="list the cases and stop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        chosen = cases(Path(directory))
        if args.list:
            print("\n".join(chosen))
            return
        if args.only:
            chosen = {
                name: argv
                for name, argv in chosen.items()
                if name.startswith("baseline") or any(word in name for word in args.only)
            }
        samples: dict[str, list[tuple[float, int, int]]] = {name: [] for name in chosen}
        for _ in range(args.repeat):
            for name, argv in chosen.items():
                env = {**os.environ, "COLUMNS": "80"}
                if "COLUMNS=" in name:
                    env["COLUMNS"] = name.rsplit("=", 1)[1]
                samples[name].append(_measure([*_cli(), *argv], env))
    base = statistics.median(s[0] for s in samples["baseline: lesson"])
    print(f"{'case':<46} {'median s':>9} {'/ base':>7} {'peak MiB':>9} {'exit':>5}  goal")
    for name, runs in samples.items():
        seconds = statistics.median(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        codes = sorted({r[2] for r in runs})
        met = seconds <= GOAL_SECONDS and peak <= GOAL_BYTES
        print(
            f"{name:<46} {seconds:9.2f} {seconds / base:6.1f}x {peak / 2**20:9.0f} "
            f"{','.join(map(str, codes)):>5}  {'met' if met else 'MISSED'}"
        )
    print(f"(cpu: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main()
