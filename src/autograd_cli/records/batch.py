"""The jobs of a `run` batch, after they ran."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobResult:
    """One batch job after it ran: its status follows the command's exit code."""

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

    @property
    def status(self) -> str:
        return JOB_STATUS.get(self.exit_code, "error")


#: Exit code -> job status, as README.md documents them.
JOB_STATUS = {0: "passed", 1: "failed", 2: "invalid", 3: "error"}
