"""The table every process benchmark prints: each case's median, min and max seconds, and
its median against the baseline of the same run (scripts run from this folder import it)."""

from __future__ import annotations

import statistics


def print_medians(
    times: dict[str, list[float]], base: float, label: str, *, speedup: bool = False
) -> None:
    """One row per case, in order; `speedup`: the baseline over the case (how many times
    faster), else the case over the baseline."""
    width = max(len(name) for name in times) + 2
    ratio_name = "speed-up" if speedup else "/ base"
    print(f"{label:<{width}}{'median s':>9} {'min s':>8} {'max s':>8} {ratio_name:>9}")
    for name, samples in times.items():
        median = statistics.median(samples)
        ratio = base / median if speedup else median / base
        print(f"{name:<{width}}{median:9.3f} {min(samples):8.3f} {max(samples):8.3f} {ratio:8.2f}x")
