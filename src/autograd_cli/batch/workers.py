"""Run a batch's jobs on worker processes and hand back their outcomes in file order.

Workers are forked from a process that has already imported torch and built the
command-line parser, so none pays for either again. Each worker runs torch on one thread:
the same job then gives the same bits whichever process runs it and however many run at
once (a reduction split over threads may round differently), and N workers on N cores do
not fight over them.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from autograd_cli.gcpause import freeze_once

T = TypeVar("T")
R = TypeVar("R")


def cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def one_torch_thread() -> None:
    """Every job of a batch runs on one intra-op thread, in workers and serial runs alike.

    The first thing a batch does with torch: what its import made is then exempted from
    the garbage collector's scans (`gcpause.freeze_once`)."""
    import torch

    freeze_once()
    torch.set_num_threads(1)


def _start_worker(terminal_width: int | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    one_torch_thread()
    if terminal_width is not None:
        # The parent prints what a job wrote as a terminal would have shown it: colours
        # and the terminal's width, which Rich reads from these when it writes to a buffer.
        os.environ.setdefault("FORCE_COLOR", "1")
        os.environ["COLUMNS"] = str(terminal_width)


def in_order(function: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    """`map(function, items)` on `workers` forked processes, each result as soon as it and
    every one before it are done; `function` must be a module-level function. One worker
    runs them here, in order."""
    if workers <= 1:
        yield from map(function, items)
        return
    width = os.get_terminal_size(sys.stdout.fileno()).columns if _stdout_is_terminal() else None
    # What the parent loaded (torch, the first jobs' lazy set-up) is shared with the workers
    # copy-on-write: frozen, the collector never scans it in a worker, so never copies it.
    gc.freeze()
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_start_worker, initargs=(width,)) as pool:
        yield from pool.imap(function, items, chunksize=1)


def _stdout_is_terminal() -> bool:
    """The real stdout is a terminal (not a test's or a job's buffer standing in for it)."""
    return sys.__stdout__ is not None and sys.stdout is sys.__stdout__ and sys.stdout.isatty()
