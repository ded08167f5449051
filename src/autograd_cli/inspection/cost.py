"""The bound on the total work of a command's repeated passes, checked before the first.

A Jacobian, gradcheck, a Hessian, `accumulate --times` and `modes --bench` each run the
computation many times; each bound on a count alone (entries, inputs, calls, rounds) lets
a large computation times a large count run for hours. The cost of one pass is what the
evaluator counted while building the computation (`Computation.cost`).
"""

from __future__ import annotations

#: The most element operations (the evaluator's count: a multiply-add of a matmul, an
#: element of any other result, `OP_WORK` a call) all passes of one command may take
#: together: `benchmarks/limits.py` times each at this bound. At 5x10^10 the widest
#: `modes --bench` took 29 s on two cores with one other process running: too close to the
#: 30 s goal. 2.5x10^10 leaves room for a busy machine and still lets the default
#: `accumulate` (about 2x10^5 operations a call) reach its 10^5 calls.
MAX_WORK = 2.5e10


def check_work(option: str, passes: int, per_pass: float) -> None:
    """Refuse `passes` passes of `per_pass` element operations over `MAX_WORK`."""
    from autograd_cli.errors import UsageError, param

    work = passes * per_pass
    if work > MAX_WORK:
        raise UsageError(
            f"{option} needs {passes:,} passes over a computation of about "
            f"{per_pass:,.0f} element operations ({work:.1e} in all); the limit is "
            f"{MAX_WORK:.0e}",
            f"use smaller tensors or fewer passes, or fewer variables ({param('wrt')})",
        )
