"""The jobs of a `run` batch, after they ran."""

from __future__ import annotations

from dataclasses import dataclass

from autograd_cli.records.reports import CheckRecord, ExpectRecord


@dataclass(frozen=True)
class JobResult:
    """One batch job after it ran: its status follows the command's exit code, and whether
    the job was expected to fail (`xfail`, pytest's convention)."""

    index: int
    name: str
    command: str | None
    exit_code: int
    seconds: float
    message: str  # what the command said on stderr (errors, failed checks)
    doc: dict[str, object] | None = None  # the command's own JSON document, as data
    text: str | None = None  # its stdout, for a job that asked for a text format under --json
    streamed: str | None = None  # its JSON document as the text it streamed (graph's)
    headline: str | None = None  # the error it reported, as its `error:` line says it
    xfail: str | None = None  # why it is expected to fail ("" for no reason given), or None
    failures: tuple[CheckRecord | ExpectRecord, ...] = ()  # the checks that did not hold

    @property
    def status(self) -> str:
        if self.xfail is not None and self.exit_code in XFAIL_STATUS:
            return XFAIL_STATUS[self.exit_code]
        return JOB_STATUS.get(self.exit_code, "error")

    @property
    def batch_code(self) -> int:
        """What the job makes the batch exit with: its exit code, but 0 for the failure
        that was expected and 1 for an expected failure that passed (pytest's strict
        xfail)."""
        return BATCH_CODE.get(self.status, self.exit_code)


#: Exit code -> job status, as docs/commands/run.md documents them.
JOB_STATUS = {0: "passed", 1: "failed", 2: "invalid", 3: "error"}

#: Exit code -> status of a job expected to fail: a check or a program that failed is the
#: expected failure; an invalid job or an internal error is not (they keep their status).
XFAIL_STATUS = {0: "xpassed", 1: "xfailed"}

#: What the expected-failure statuses make the batch exit with.
BATCH_CODE = {"xfailed": 0, "xpassed": 1}
