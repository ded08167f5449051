"""A batch file against separate processes: what `autograd-cli run` saves.

Times, in one run: one `autograd-cli grad` process (the baseline), one `run` of N small
grad jobs, and N separate `autograd-cli grad` processes doing the same jobs. Every process
pays for `import torch` once; the batch pays it once for all N jobs.
Goal (issue 6): the batch of 100 jobs under 1.5x the time of one single process.

    python benchmarks/batch.py [--jobs 100] [--repeat 3]
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

from medians import print_medians


def _cli() -> list[str]:
    script = shutil.which("autograd-cli")
    return [script] if script else [sys.executable, "-m", "autograd_cli"]


def _job_args(index: int) -> list[str]:
    """A small, different grad job per index."""
    return ["--expr", f"sum(x**{index % 4 + 2})", "--var", f"x=randn({index % 7 + 2})"]


def _batch_file(jobs: int, folder: Path) -> Path:
    lines = []
    for index in range(jobs):
        expr, var = _job_args(index)[1], _job_args(index)[3]
        lines += ["[[job]]", 'command = "grad"', f'expr = "{expr}"', f'var = ["{var}"]', ""]
    path = folder / "jobs.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _time(argvs: list[list[str]]) -> float:
    start = time.perf_counter()
    for argv in argvs:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cli = _cli()
    with tempfile.TemporaryDirectory() as folder:
        batch = _batch_file(args.jobs, Path(folder))
        cases = {
            "one grad process": [[*cli, "grad", *_job_args(0)]],
            f"run: {args.jobs} jobs, 1 process": [[*cli, "run", str(batch), "--json"]],
            f"{args.jobs} grad processes": [
                [*cli, "grad", *_job_args(i), "--json"] for i in range(args.jobs)
            ],
        }
        for argvs in cases.values():  # warm the page cache
            _time(argvs[:1])
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, argvs in cases.items():
                times[name].append(_time(argvs))
    base = statistics.median(times["one grad process"])
    print_medians(times, base, "case (base: one grad process)")
    batch_ratio = statistics.median(times[f"run: {args.jobs} jobs, 1 process"]) / base
    verdict = "met" if batch_ratio < 1.5 else "MISSED"
    print(f"goal: the batch under 1.5x one process: {batch_ratio:.2f}x, {verdict}")


if __name__ == "__main__":
    main()
