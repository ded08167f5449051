"""`run --jobs N` against `run --jobs 1` on a batch where the jobs' own work dominates.

The batch: N `grad --check` jobs of about 0.1 s each on a quiet 2-core machine (a
gradient check of `--inputs` elements, default 100: with 5 a job took 18 ms there, and the
part no worker shares was most of the run). Timed in one run, interleaved so that drift
on a noisy machine hits both alike: the serial run, the run on W workers, and the run of
the first job alone (the part no worker can share: Python, `import torch` and the first
job, which loads what the rest reuse). Checks that both runs print the same bytes. From
the serial part S and the total T it gives the speed-up Amdahl's law expects on more
cores: T / (S + (T - S) / cores).
Goal (issue 15): 200 jobs on 2 workers at least 1.7x faster than serial.

    python benchmarks/batch_jobs.py [--count 200] [--inputs 100] [--workers 2] [--repeat 1]
        [--no-compile]

The package's bytecode is compiled first, as an installed copy has it (`compiled.py`).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compiled import compile_package
from medians import print_medians


def _cli() -> list[str]:
    script = shutil.which("autograd-cli")
    return [script] if script else [sys.executable, "-m", "autograd_cli"]


def batch_file(count: int, inputs: int, path: Path) -> Path:
    """`count` different gradient checks of `inputs` to `inputs + 5` elements each."""
    lines = []
    for index in range(count):
        lines += [
            "[[job]]",
            'command = "grad"',
            f'expr = "sum(sin(x) * x**{index % 3 + 2})"',
            f'var = ["x=randn({inputs + index % 6})"]',
            f"seed = {index}",
            "check = true",
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def timed(argv: list[str]) -> tuple[float, bytes]:
    start = time.perf_counter()
    done = subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="jobs in the batch")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--inputs", type=int, default=100, help="elements each job checks")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--no-compile", action="store_true", help="time the package as it is, bytecode or not"
    )
    args = parser.parse_args()
    if not args.no_compile:
        print(compile_package())
    cli = _cli()
    with tempfile.TemporaryDirectory() as folder:
        batch = batch_file(args.count, args.inputs, Path(folder) / "jobs.toml")
        first = batch_file(1, args.inputs, Path(folder) / "first.toml")
        run = [*cli, "run", "--json", "--jobs"]
        cases = {
            "first job alone": [*run, "1", str(first)],
            "serial (--jobs 1)": [*run, "1", str(batch)],
            f"--jobs {args.workers}": [*run, str(args.workers), str(batch)],
        }
        timed(cases["first job alone"])  # warm the page cache
        times: dict[str, list[float]] = {name: [] for name in cases}
        outputs: dict[str, set[bytes]] = {name: set() for name in cases}
        for _ in range(args.repeat):
            for name, argv in cases.items():
                seconds, stdout = timed(argv)
                times[name].append(seconds)
                outputs[name].add(stdout)
    serial_name, parallel_name = list(cases)[1:]
    same = outputs[serial_name] == outputs[parallel_name] and len(outputs[serial_name]) == 1
    base = statistics.median(times[serial_name])
    print(f"{args.count} grad --check jobs; {args.repeat} runs each, medians")
    print_medians(times, base, "case", speedup=True)
    print(f"JSON Lines of the two runs byte-identical: {'yes' if same else 'NO'}")
    speedup = base / statistics.median(times[parallel_name])
    verdict = "met" if speedup >= 1.7 else "MISSED"
    print(f"goal: --jobs 2 at least 1.7x faster than serial: {speedup:.2f}x, {verdict}")
    serial_part = statistics.median(times["first job alone"])
    shared = max(base - serial_part, 0.0)
    expected = ", ".join(
        f"{cores} cores {base / (serial_part + shared / cores):.2f}x" for cores in (2, 4, 8, 16)
    )
    print(f"expected with more cores (serial part {serial_part:.2f} s of {base:.2f} s): {expected}")


if __name__ == "__main__":
    main()
