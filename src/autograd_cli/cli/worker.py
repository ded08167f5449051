"""Every command runs on a thread with a large C stack, so no graph is too deep to free.

torch frees a `grad_fn` graph recursively, one C stack frame (or a few) per node, once its
nodes have been seen from Python; the variables of an expression hold intermediates that
root-first release cannot reach. On the main thread's 8 MiB stack a chain of about 5x10^4
nodes was a segmentation fault; the deepest graph the bounds allow (`MAX_VARIABLES`
definitions, each within the depth bound: about 10^4 nodes of plain ops) is freed on this
thread's stack with a wide margin. The stack is address space: only the pages a deep free
touches take memory.

Nothing holding a tensor may outlive the thread: an exception's traceback holds the
command's frames, so only an exit code, or a fresh exception, crosses back, and the
command's tensors are freed by reference counting as it returns, here. (A full `gc.collect`
on the way out would also catch tensors in reference cycles, which the layers do not make,
at the cost of a second on a busy machine once torch is loaded.)
"""

from __future__ import annotations

import contextvars
import ctypes
import threading
import traceback
from collections.abc import Callable
from typing import TypeVar

import typer

from autograd_cli.errors import EXIT_INTERNAL

R = TypeVar("R")

#: The worker's stack: 1 GiB of address space, 128 times the main thread's 8 MiB.
STACK_BYTES = 1 << 30


def on_large_stack(call: Callable[[], R]) -> R:
    """`call()` on a fresh thread with a `STACK_BYTES` stack; its outcome, re-raised here.

    It runs in a copy of this thread's context (a thread starts with an empty one), so a
    command run as a batch job sees the batch's context variables (`cli.app.collecting`).

    Ctrl-C reaches the main thread only: it is passed on to the worker, which stops as the
    command would (an output file half-written is removed), then raised here.
    """
    outcome: list[tuple[bool, object]] = []
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome.append((True, context.run(call)))
        except BaseException as error:  # every outcome crosses back
            outcome.append((False, _carried(error)))
            del error

    previous = threading.stack_size(STACK_BYTES)
    try:
        worker = threading.Thread(target=target, name="autograd-cli-command", daemon=True)
        worker.start()
    finally:
        threading.stack_size(previous)
    try:
        worker.join()
    except KeyboardInterrupt:
        _interrupt(worker)
        worker.join()
        raise
    done, value = outcome[0]
    if done:
        return value  # type: ignore[return-value]
    assert isinstance(value, BaseException)
    raise value


def _carried(error: BaseException) -> BaseException:
    """An exception without the frames (and tensors) behind it: the same exit code."""
    if isinstance(error, typer.Exit):
        return typer.Exit(error.exit_code)
    if isinstance(error, typer.Abort):
        return typer.Abort()
    if isinstance(error, KeyboardInterrupt):
        return KeyboardInterrupt()
    if isinstance(error, SystemExit):
        return SystemExit(error.code)
    # --debug lets a bug through: its traceback is printed here, where its frames live.
    traceback.print_exception(error)
    return typer.Exit(EXIT_INTERNAL)


def _interrupt(worker: threading.Thread) -> None:
    """Raise KeyboardInterrupt in `worker` at its next Python instruction."""
    if worker.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(worker.ident), ctypes.py_object(KeyboardInterrupt)
        )
