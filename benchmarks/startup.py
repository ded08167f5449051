"""Start-up cost of the CLI against the floor every torch program pays: `import torch`.

Runs each command as a fresh process, several times, interleaved so that drift on a noisy
machine hits all of them alike, and prints the median wall time and its ratio to the floor.
Goals (issue 2): `--help` under 0.2x the floor, `graph` within 1.15x.

    python benchmarks/startup.py [--repeat N] [--no-compile]

The package's bytecode is compiled first, as an installed copy has it (`compiled.py`).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

from compiled import compile_package
from medians import print_medians

GOALS = {"autograd-cli --help": 0.2, "autograd-cli graph": 1.15}


def _cli() -> list[str]:
    script = shutil.which("autograd-cli")
    return [script] if script else [sys.executable, "-m", "autograd_cli"]


def _time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--no-compile", action="store_true", help="time the package as it is, bytecode or not"
    )
    args = parser.parse_args()
    repeat = args.repeat
    if not args.no_compile:
        print(compile_package())
    commands = {
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "autograd-cli --help": [*_cli(), "--help"],
        "autograd-cli graph": [*_cli(), "graph"],
        # The CLI freezes torch's objects out of the garbage collector's scans (gcpause), so
        # it also skips the full collection over them that Python runs at exit: this row
        # shows how much of graph's lead over the floor that alone is.
        "import torch, frozen": [sys.executable, "-c", "import gc, torch; gc.freeze()"],
    }
    for argv in commands.values():  # warm the page cache once
        _time(argv)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            times[name].append(_time(argv))
    floor = statistics.median(times["python -c 'import torch'"])
    print_medians(times, floor, "command")
    for name, goal in GOALS.items():
        ratio = statistics.median(times[name]) / floor
        verdict = "met" if ratio <= goal else "MISSED"
        print(f"goal: {name} at most {goal}x import torch: {ratio:.2f}x, {verdict}")


if __name__ == "__main__":
    main()
