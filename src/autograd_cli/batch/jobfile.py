"""Batch files: many jobs, each a command and its options, read with `tomllib`.

    [[job]]
    name = "square"            # optional; defaults to "<command>-<n>"
    command = "grad"
    expr = "sum(x**2)"
    var = ["x=randn(3)"]       # a repeated option is a list
    check = true               # a flag is a boolean
    xfail = "a known bug"      # optional: expected to fail (true, or the reason)

Only the file's shape is checked here; whether a job's options exist and hold valid values
is decided by the command's own parser when the job runs, so the errors are the same as on
the command line.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograd_cli.errors import UsageError

#: The most jobs a batch file may hold: each job is bounded as its command is, so this
#: bounds the batch (10^5 invalid jobs took a minute just to report).
MAX_JOBS = 1_000

#: What a batch file looks like, in one line.
_FORM_HINT = 'each job is a [[job]] table of key = value lines, e.g. [[job]] command = "grad"'

#: Keys of a job table that are not options of its command.
RESERVED = ("name", "command", "xfail")


@dataclass(frozen=True)
class JobSpec:
    index: int  # 1-based, in file order
    name: str
    command: str | None  # None: the job named no command (reported when it runs)
    options: dict[str, Any]
    xfail: object = False  # as the file gives it: checked when the job runs (engine.xfail)


def read_jobs(path: Path) -> list[JobSpec]:
    """Every `[[job]]` of the file; a file that cannot be read at all is a usage error."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no such batch file: {path}", "give the path of a .toml file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(
            f"cannot read {path}: {error}",
            "a batch file is UTF-8 text you can read: check the path and its permissions",
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path} is not valid TOML: {error}", _FORM_HINT) from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        raise UsageError(
            f"{path}: values are nested too deeply to read",
            "a job's values are strings, numbers, booleans or lists of them",
        ) from None
    unknown = sorted(set(data) - {"job"})
    if unknown:
        raise UsageError(
            f"{path}: unknown top-level key {unknown[0]!r}",
            "a batch file holds only [[job]] tables",
        )
    tables = data.get("job")
    if tables is not None and not isinstance(tables, list):
        raise UsageError(
            f"{path}: job is {shown(tables)}, not a list of [[job]] tables",
            "write each job as a [[job]] table (two brackets)",
        )
    if not isinstance(tables, list) or not tables:
        raise UsageError(f"{path} holds no jobs", 'add at least one [[job]] table with a "command"')
    if len(tables) > MAX_JOBS:
        raise UsageError(
            f"{path} holds {len(tables):,} jobs; the limit is {MAX_JOBS:,}",
            "split it into several batch files",
        )
    jobs = []
    for index, table in enumerate(tables, start=1):
        if not isinstance(table, dict):
            raise UsageError(
                f"{path}: job {index} is {shown(table)}, not a table",
                'write each job as a [[job]] table, e.g. [[job]] command = "grad"',
            )
        command = table.get("command")
        name = table.get("name") or f"{command or 'job'}-{index}"
        options = {k: v for k, v in table.items() if k not in RESERVED}
        command = command if isinstance(command, str) else None
        jobs.append(JobSpec(index, str(name), command, options, table.get("xfail", False)))
    return jobs


def shown(value: Any) -> str:
    """A TOML value in an error message, cut short: `1`, `'text'`, `{'command': ...`."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class Shard:
    """The K-th of N slices of a batch file (K from 1, as CI matrices number them)."""

    k: int
    n: int

    def __str__(self) -> str:
        return f"{self.k}/{self.n}"


def slice_of(jobs: list[JobSpec], shard: Shard) -> list[JobSpec]:
    """Jobs K, K+N, K+2N, ... of the file: the N slices share out its jobs whole and each
    gets a spread of them. Indices and names stay those of the whole file, so the slices'
    reports merge back without clashes."""
    return jobs[shard.k - 1 :: shard.n]
