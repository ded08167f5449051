"""The batch engine: a file's jobs run one after the other, or on worker processes, each
through the very parser and command function that its command line would use, so a job and
its command line give the same result and the same errors.

The engine imports no CLI: the CLI hands it what it needs of the command line as
`Commands` (the commands a job may name, running one command line in this process, the
words an error is said in). A job run under `--json` hands its document back as data
(`Invoked.doc`), which its JSON Lines line is written from in one `dumps`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from autograd_cli.batch.jobfile import JobSpec, shown
from autograd_cli.errors import EXIT_USAGE, CliError, UsageError, param
from autograd_cli.records.batch import JobResult
from autograd_cli.records.reports import CheckRecord, ExpectRecord


@dataclass(frozen=True)
class Invoked:
    """What one command line run in this process gave back.

    `doc` is the `--json` document it handed over instead of writing it; `streamed` a
    document it made in pieces (graph's), as the text it streamed; `error` the error it
    reported, in the words it was said in (its `error:` line first), and `failures` the
    records of the checks that failed with it (for their numbers).
    """

    code: int
    stdout: str  # what it wrote to stdout, when that was captured
    stderr: str
    doc: dict[str, Any] | None = None
    streamed: str | None = None
    error: str | None = None
    failures: tuple[CheckRecord | ExpectRecord, ...] = ()  # the checks that did not hold


@dataclass(frozen=True)
class Commands:
    """What the engine needs of the command line, given by the CLI.

    Each field is a module-level function, so that a job sent to a worker process carries
    them by name, not by value.
    """

    names: Callable[[], Sequence[str]]  # the commands a job may name
    command: Callable[[str], Any]  # one of them, as the parser's command (its parameters)
    #: run a command line; capture its stdout? hand its JSON document over as data?
    invoke: Callable[[list[str], bool, bool], Invoked]
    said: Callable[[CliError], str]  # an error in the lines the CLI prints it as
    writable: Callable[[str], object]  # check that an output path can be written


def _keys(command: Any) -> dict[str, Any]:
    """Job keys a command accepts: its long option names without dashes, its arguments."""
    keys: dict[str, Any] = {}
    for option in command.params:
        if option.param_type_name == "argument":
            keys[option.name] = option
        for opt in (*option.opts, *option.secondary_opts):
            if opt.startswith("--"):
                keys[opt[2:]] = option
    return keys


#: Keys the engine sets itself on a job (`json`) or that would not run it (`help`).
_ENGINE_KEYS = ("json", "help")


def job_argv(
    options: Mapping[str, Any],
    command_name: str,
    command: Any,
    extra: Mapping[str, Any] | None = None,
) -> list[str]:
    """A job's options as the command line that means the same, then the `extra` keys
    that the engine sets itself (`{"json": True}`), which a job may not.

    Its arguments come last, after `--`: a value such as `--output=x` stays a value, never
    an option.
    """
    keys = _keys(command)
    argv: list[str] = []
    positionals: list[str] = []
    for key, value in options.items():
        name = key.replace("_", "-")
        if name == "trust":  # a batch file is never the user's own code run as Python
            raise UsageError(
                "a job cannot be trusted: batch files run programs through the whitelist only",
                f"run your own file with `autograd-cli step {param('trust')} FILE`, "
                "outside the batch",
            )
        found = keys.get(name) if name not in _ENGINE_KEYS else None
        if found is None:
            valid = ", ".join(sorted(k for k in keys if k not in _ENGINE_KEYS))
            raise UsageError(
                f"unknown key {key!r} for command {command_name!r}", f"valid keys: {valid}"
            )
        if found.param_type_name == "argument":
            positionals.append(str(value))
        else:
            argv += _option(key, name, found, value)
    for key, value in (extra or {}).items():
        argv += _option(key, key, keys[key], value)
    return [*argv, *(["--", *positionals] if positionals else [])]


def _option(key: str, name: str, option: Any, value: Any) -> list[str]:
    """One job key as the command line's words for it."""
    spelled = "--" + name
    if getattr(option, "is_flag", False):
        if not isinstance(value, bool):
            raise UsageError(
                f"key {key!r} is a flag: write {key} = true or false",
                "a flag's value is a TOML boolean, without quotes",
            )
        return [spelled] if value else []
    if isinstance(value, list):
        if not getattr(option, "multiple", False):
            raise UsageError(
                f"key {key!r} takes one value, not a list",
                "only an option the command line takes more than once takes a list",
            )
        return [word for item in value for word in (spelled, str(item))]
    return [spelled, str(value).lower() if isinstance(value, bool) else str(value)]


class Ran(NamedTuple):
    """A job's result and what it wrote: `stdout` when it was captured, `stderr` labelled."""

    result: JobResult
    stdout: str
    stderr: str


def run_job(job: JobSpec, json: bool, commands: Commands, capture: bool = False) -> Ran:
    """Run one job; its errors are labelled with its name, as the command's would read.

    Without `json` its stdout goes straight to this process's stdout, unless `capture`
    (a worker process captures it for the parent to print in file order).
    """
    start = time.perf_counter()
    names = commands.names()
    reason = None
    try:
        reason = xfail(job)  # an invalid job that is expected to fail still says so
        if job.command is None or job.command not in names:
            raise UsageError(
                f"job needs a command, one of: {', '.join(sorted(names))}",
                'give it a command key, e.g. command = "grad"',
            )
        # A job that asks for text (graph's `format = "dot"`) runs as asked: its text goes
        # into its JSON Lines line instead of a JSON document being forced on it.
        as_json = json and not asks_for_text(job)
        command = commands.command(job.command)
        argv = job_argv(job.options, job.command, command, {"json": True} if as_json else None)
    except UsageError as error:
        said = commands.said(error)
        result = JobResult(
            job.index,
            job.name,
            job.command,
            EXIT_USAGE,
            0.0,
            said,
            headline=_first(said),
            xfail=reason,
        )
        return Ran(result, "", labelled(job, said + "\n"))
    invoked = commands.invoke([job.command, *argv], json or capture, as_json)
    seconds = time.perf_counter() - start
    result = JobResult(
        job.index,
        job.name,
        job.command,
        invoked.code,
        seconds,
        invoked.stderr.strip(),
        doc=invoked.doc if as_json else None,
        streamed=invoked.streamed if as_json else None,
        # none when it wrote to its `output` file, or failed
        text=(invoked.stdout or None) if json and not as_json else None,
        headline=None if invoked.error is None else _first(invoked.error),
        xfail=reason,
        failures=invoked.failures,
    )
    return Ran(result, "" if json else invoked.stdout, labelled(job, invoked.stderr))


def xfail(job: JobSpec) -> str | None:
    """Why the job is expected to fail (`xfail = "reason"`; "" for `xfail = true`), or
    None when it is not; any other value makes the job invalid."""
    if isinstance(job.xfail, str):
        return job.xfail
    if isinstance(job.xfail, bool):
        return "" if job.xfail else None
    raise UsageError(
        f"key 'xfail' is {shown(job.xfail)}: it takes true, false or the reason as a string",
        'e.g. xfail = "the formula is wrong on purpose"',
    )


def _first(said: str) -> str:
    return said.split("\n", 1)[0]


def asks_for_text(job: JobSpec) -> bool:
    """The job picks an output format of its own other than JSON."""
    fmt = job.options.get("format")
    return fmt is not None and str(fmt) != "json"


def labelled(job: JobSpec, text: str) -> str:
    """A job's stderr with its name on every line: jobs' messages stay apart in a CI log."""
    return "".join(f"[{job.name}] {line}" for line in text.splitlines(keepends=True))


def check_outputs(jobs: Sequence[JobSpec], commands: Commands) -> None:
    """Check every file the jobs will write before the first one runs: a bad path is found
    in a second, not after an hour of jobs."""
    for job in jobs:
        value = job.options.get("output")
        if value is not None and not isinstance(value, bool | list) and str(value) != "-":
            try:
                commands.writable(str(value))
            except UsageError as error:
                raise UsageError(
                    f"job {job.index} ({job.name}): {error.message}",
                    error.hint or "give the job's output a file that can be written, or -",
                ) from None


def run_jobs(
    todo: Sequence[JobSpec],
    json: bool,
    commands: Commands,
    workers: int = 1,
    announce: Callable[[JobSpec], None] | None = None,
) -> Iterator[Ran]:
    """Every job's outcome, in file order, on `workers` processes (here when 1).

    `announce(job)` comes just before a job's outcome: before the job runs, when it runs
    here and writes straight to stdout, so that a section's title precedes its output.
    """
    if workers > 1:
        yield from _parallel(todo, json, commands, workers, announce)
        return
    for job in todo:
        if announce is not None:
            announce(job)
        yield run_job(job, json, commands)


def _run_captured(item: tuple[JobSpec, bool, Commands]) -> Ran:
    """`run_job` in a worker process: everything it writes comes back to the parent."""
    job, json, commands = item
    return run_job(job, json, commands, capture=True)


def _parallel(
    todo: Sequence[JobSpec],
    json: bool,
    commands: Commands,
    workers: int,
    announce: Callable[[JobSpec], None] | None,
) -> Iterator[Ran]:
    """The jobs on `workers` processes, in file order.

    The first job of each command runs here first: the workers, forked afterwards, inherit
    every module and lazy set-up of torch it loaded (a first `grad --check` costs seconds,
    the next ones a few milliseconds), instead of paying for them once each.
    """
    from autograd_cli.batch.workers import in_order

    firsts: dict[str | None, JobSpec] = {}
    for job in todo:
        firsts.setdefault(job.command, job)
    here = {job.index: run_job(job, json, commands, capture=True) for job in firsts.values()}
    rest = [(job, json, commands) for job in todo if job.index not in here]
    elsewhere = in_order(_run_captured, rest, min(workers, len(rest))) if rest else iter(())
    for job in todo:
        ran = here.get(job.index) or next(elsewhere)
        if announce is not None:
            announce(job)
        yield ran
