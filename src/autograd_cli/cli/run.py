"""`autograd-cli run FILE.toml`: many jobs in one process, so torch is imported once.

Each job runs through the very command-line parser and command function that its command
line would, so a job and its command line give the same result and the same errors.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json as jsonlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer

from autograd_cli.batch.jobfile import JobSpec, Shard
from autograd_cli.cli.app import (
    STDOUT,
    Json,
    app,
    checked_output,
    error_lines,
    handled,
    is_debug,
    out,
    report,
    write_output,
)
from autograd_cli.cli.parsing import option_error
from autograd_cli.errors import EXIT_USAGE, UsageError
from autograd_cli.records.batch import JobResult

if TYPE_CHECKING:
    from rich.console import RenderableType


def _keys(command: Any) -> dict[str, Any]:
    """Job keys a command accepts: its long option names without dashes, its arguments."""
    keys: dict[str, Any] = {}
    for param in command.params:
        if param.param_type_name == "argument":
            keys[param.name] = param
        for opt in (*param.opts, *param.secondary_opts):
            if opt.startswith("--"):
                keys[opt[2:]] = param
    return keys


def job_argv(
    options: dict[str, Any], command_name: str, command: Any, flags: tuple[str, ...] = ()
) -> list[str]:
    """A job's options as the command line that means the same, `flags` after them.

    Its arguments come last, after `--`: a value such as `--output=x` stays a value, never
    an option.
    """
    keys = _keys(command)
    argv: list[str] = []
    positionals: list[str] = []
    for key, value in options.items():
        option = key.replace("_", "-")
        if option == "trust":  # a batch file is never the user's own code run as Python
            raise UsageError(
                "a job cannot be trusted: batch files run programs through the whitelist only",
                "run your own file with `autograd-cli step --trust FILE`, outside the batch",
            )
        param = keys.get(option) if option not in ("json", "help") else None
        if param is None:
            valid = ", ".join(sorted(k for k in keys if k not in ("json", "help")))
            raise UsageError(
                f"unknown key {key!r} for command {command_name!r}", f"valid keys: {valid}"
            )
        if param.param_type_name == "argument":
            positionals.append(str(value))
        elif getattr(param, "is_flag", False):
            if not isinstance(value, bool):
                raise UsageError(f"key {key!r} is a flag: write {key} = true or false")
            if value:
                argv.append(f"--{option}")
        elif isinstance(value, list):
            if not getattr(param, "multiple", False):
                raise UsageError(f"key {key!r} takes one value, not a list")
            for item in value:
                argv += [f"--{option}", str(item)]
        else:
            argv += [f"--{option}", str(value).lower() if isinstance(value, bool) else str(value)]
    return [*argv, *flags, *(["--", *positionals] if positionals else [])]


@functools.cache
def _group() -> Any:
    """The app as a click group, built once: Typer takes about 70 ms to build it, more than
    a small job takes to run."""
    return typer.main.get_command(app)


def _invoke(argv: list[str], capture_stdout: bool) -> tuple[int, str, str]:
    """Run one command line in this process: its exit code, stdout (if captured), stderr."""
    group = _group()
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stderr(stderr))
        if capture_stdout:
            stack.enter_context(contextlib.redirect_stdout(stdout))
        try:
            code = group.main(args=argv, prog_name="autograd-cli", standalone_mode=False)
        except Exception as error:  # the parser's own usage errors, said as the CLI says them
            usage = option_error(error)
            if usage is None:
                raise
            report(usage)
            code = usage.exit_code
    return int(code or 0), stdout.getvalue(), stderr.getvalue()


class Ran(NamedTuple):
    """A job's result and what it wrote: `stdout` when it was captured, `stderr` labelled."""

    result: JobResult
    stdout: str
    stderr: str


def run_job(job: JobSpec, json: bool, capture: bool = False) -> Ran:
    """Run one job; its errors are labelled with its name, as the command's would read.

    Without `--json` its stdout goes straight to this process's stdout, unless `capture`
    (a worker process captures it for the parent to print in file order).
    """
    start = time.perf_counter()
    commands = getattr(_group(), "commands", {})
    try:
        if job.command is None or job.command not in commands or job.command == "run":
            known = ", ".join(sorted(c for c in commands if c != "run"))
            raise UsageError(f"job needs a command, one of: {known}")
        # A job that asks for text (graph's `format = "dot"`) runs as asked: its text goes
        # into its JSON Lines document instead of --json being forced on it.
        as_json = json and not _asks_for_text(job)
        flags = ("--json",) if as_json else ()
        argv = job_argv(job.options, job.command, commands[job.command], flags)
    except UsageError as error:
        message = "\n".join(line.plain for line in error_lines(error))
        result = JobResult(job.index, job.name, job.command, EXIT_USAGE, 0.0, message)
        return Ran(result, "", _labelled(job, message + "\n"))
    prefix = ["--debug"] if is_debug() else []
    code, stdout, stderr = _invoke([*prefix, job.command, *argv], json or capture)
    seconds = time.perf_counter() - start
    doc, text = None, None
    if as_json:
        with contextlib.suppress(ValueError):
            doc = jsonlib.loads(stdout)
    elif json:
        text = stdout or None  # none when it wrote to its `output` file, or failed
    result = JobResult(job.index, job.name, job.command, code, seconds, stderr.strip(), doc, text)
    return Ran(result, "" if json else stdout, _labelled(job, stderr))


def _run_captured(job_json: tuple[JobSpec, bool]) -> Ran:
    """`run_job` in a worker process: everything it writes comes back to the parent."""
    return run_job(*job_json, capture=True)


def _outputs(jobs: list[JobSpec], junit_xml: str | None) -> Path | None:
    """Check every file the batch will write before its first job runs: a bad path is
    found in a second, not after an hour of jobs. Returns the JUnit report's path."""
    junit = None
    if junit_xml is not None:
        junit = checked_output(junit_xml)
        if junit == STDOUT:
            raise UsageError(
                "--junit-xml - : stdout already holds the jobs' output",
                "give the report a file name, e.g. --junit-xml report.xml",
            )
    for job in jobs:
        value = job.options.get("output")
        if value is not None and not isinstance(value, bool | list) and str(value) != "-":
            try:
                checked_output(str(value))
            except UsageError as error:
                raise UsageError(f"job {job.index} ({job.name}): {error.message}") from None
    return junit


def _asks_for_text(job: JobSpec) -> bool:
    """The job picks an output format of its own other than JSON."""
    fmt = job.options.get("format")
    return fmt is not None and str(fmt) != "json"


def _labelled(job: JobSpec, text: str) -> str:
    """A job's stderr with its name on every line: jobs' messages stay apart in a CI log."""
    return "".join(f"[{job.name}] {line}" for line in text.splitlines(keepends=True))


#: More workers than this would only queue for the same cores; it bounds processes forked.
MAX_JOBS = 256


def _shard(value: str) -> Shard:
    k, slash, n = value.partition("/")
    if not (slash and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise typer.BadParameter(f"{value!r}: give K/N with 1 <= K <= N, e.g. 2/4")
    return Shard(int(k), int(n))


@app.command()
@handled
def run(
    file: Annotated[Path, typer.Argument(help="A TOML file of [[job]] tables.")],
    json: Json = False,
    junit_xml: Annotated[
        str | None,
        typer.Option("--junit-xml", metavar="FILE", help="Also write a JUnit XML report here."),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=MAX_JOBS,
            help="Run jobs on N worker processes (default: one per core); "
            "the output is the same for every N.",
        ),
    ] = None,
    shard: Annotated[
        Shard | None,
        typer.Option(
            "--shard",
            parser=_shard,
            metavar="K/N",
            help="Run only the K-th of N slices of the file (jobs K, K+N, K+2N, ...): "
            "one per CI machine.",
        ),
    ] = None,
) -> None:
    """Run many jobs from a TOML batch file, torch imported once, on every core."""
    from autograd_cli.batch.jobfile import read_jobs, slice_of
    from autograd_cli.batch.workers import cores, one_torch_thread
    from autograd_cli.render.batch import job_doc, summary_table
    from autograd_cli.render.batch import junit_xml as render_junit
    from autograd_cli.render.json import dumps

    todo = read_jobs(file)
    if shard is not None:
        todo = slice_of(todo, shard)
    junit = _outputs(todo, junit_xml)
    one_torch_thread()
    workers = min(jobs or cores(), len(todo))
    results = []
    for ran in _parallel(todo, json, workers) if workers > 1 else _serial(todo, json):
        sys.stdout.write(ran.stdout)
        sys.stderr.write(ran.stderr)
        results.append(ran.result)
        if json:
            sys.stdout.write(dumps(job_doc(ran.result)))
        sys.stdout.flush()
    if not json:
        out(summary_table(results))
    if junit is not None:
        suite = f"autograd-cli run {file.name}"
        if shard is not None:
            suite += f" (shard {shard})"
        write_output(junit, render_junit(results, suite))
    worst = max((r.exit_code for r in results), default=0)
    if worst:
        raise typer.Exit(worst)


def _serial(todo: list[JobSpec], json: bool) -> Iterator[Ran]:
    """One job after the other in this process, each section's title before its output."""
    for job in todo:
        if not json:
            out(_title(job.index, job.name, job.command))
        yield run_job(job, json)


def _parallel(todo: list[JobSpec], json: bool, workers: int) -> Iterator[Ran]:
    """The jobs on `workers` processes, in file order, each section's title before it.

    The first job of each command runs here first: the workers, forked afterwards, inherit
    every module and lazy set-up of torch it loaded (a first `grad --check` costs seconds,
    the next ones a few milliseconds), instead of paying for them once each.
    """
    from autograd_cli.batch.workers import in_order

    firsts: dict[str | None, JobSpec] = {}
    for job in todo:
        firsts.setdefault(job.command, job)
    here = {job.index: run_job(job, json, capture=True) for job in firsts.values()}
    rest = [(job, json) for job in todo if job.index not in here]
    elsewhere = in_order(_run_captured, rest, min(workers, len(rest))) if rest else iter(())
    for job in todo:
        ran = here.get(job.index) or next(elsewhere)
        if not json:
            out(_title(job.index, job.name, job.command))
        yield ran


def _title(index: int, name: str, command: str | None) -> RenderableType:
    from rich.rule import Rule
    from rich.text import Text

    return Rule(Text(f"{index}. {name} ({command or '?'})"), align="left")
