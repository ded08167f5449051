"""`autograd-cli run FILE.toml`: many jobs in one process, so torch is imported once.

The engine is `batch.engine`; this command reads the options and gives the engine what it
needs of the command line (`Commands`): the commands, and one command line run here, its
document and error handed back as data (`cli.app.collecting`).
"""

from __future__ import annotations

import contextlib
import functools
import io
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from autograd_cli.batch.engine import Commands, Invoked
from autograd_cli.batch.jobfile import JobSpec, Shard
from autograd_cli.cli.app import (
    STDOUT,
    Json,
    app,
    checked_output,
    collecting,
    error_lines,
    handled,
    is_debug,
    out,
    report,
    write_output,
)
from autograd_cli.cli.parsing import option_error
from autograd_cli.errors import CheckFailed, CliError, UsageError

if TYPE_CHECKING:
    from rich.console import RenderableType


@functools.cache
def _group() -> Any:
    """The app as a click group, built once: Typer takes about 70 ms to build it, more than
    a small job takes to run."""
    return typer.main.get_command(app)


def _names() -> list[str]:
    """The commands a job may name: every one but `run`."""
    return [name for name in getattr(_group(), "commands", {}) if name != "run"]


def _command(name: str) -> Any:
    return _group().commands[name]


def _invoke(argv: list[str], capture_stdout: bool, documents: bool) -> Invoked:
    """Run one command line in this process: its exit code, stdout (if captured), stderr,
    the error it reported and (with `documents`) the JSON document it handed over."""
    stdout, stderr = io.StringIO(), io.StringIO()
    prefix = ["--debug"] if is_debug() else []
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stderr(stderr))
        if capture_stdout:
            stack.enter_context(contextlib.redirect_stdout(stdout))
        collected = stack.enter_context(collecting(documents))
        try:
            code = _group().main(
                args=[*prefix, *argv], prog_name="autograd-cli", standalone_mode=False
            )
        except Exception as error:  # the parser's own usage errors, said as the CLI says them
            usage = option_error(error)
            if usage is None:
                raise
            report(usage)
            collected.error = usage
            code = usage.exit_code
    reported = collected.error
    return Invoked(
        int(code or 0),
        stdout.getvalue(),
        stderr.getvalue(),
        collected.doc,
        collected.streamed,
        None if reported is None else _said(reported),
        reported.failures if isinstance(reported, CheckFailed) else (),
    )


def _said(error: CliError) -> str:
    """An error as `report` prints it, without colour."""
    return "\n".join(line.plain for line in error_lines(error))


#: What the engine needs of the command line; module-level functions, so a job sent to a
#: worker process carries them by name.
_COMMAND_LINE = Commands(_names, _command, _invoke, _said, checked_output)


def _junit_path(junit_xml: str | None) -> Path | None:
    """The JUnit report's path, checked before the first job runs."""
    if junit_xml is None:
        return None
    junit = checked_output(junit_xml)
    if junit == STDOUT:
        raise UsageError(
            "--junit-xml - : stdout already holds the jobs' output",
            "give the report a file name, e.g. --junit-xml report.xml",
        )
    return junit


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
    file: Annotated[Path, typer.Argument(help="A TOML file of [\\[job]] tables.")],
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
    from autograd_cli.batch.engine import check_outputs, run_jobs
    from autograd_cli.batch.jobfile import read_jobs, slice_of
    from autograd_cli.batch.workers import cores, one_torch_thread
    from autograd_cli.render.batch import job_line, summary_table
    from autograd_cli.render.batch import junit_xml as render_junit

    todo = read_jobs(file)
    if shard is not None:
        todo = slice_of(todo, shard)
    junit = _junit_path(junit_xml)
    check_outputs(todo, _COMMAND_LINE)
    one_torch_thread()
    workers = min(jobs or cores(), len(todo))
    results = []
    for ran in run_jobs(todo, json, _COMMAND_LINE, workers, None if json else _announce):
        sys.stdout.write(ran.stdout)
        sys.stderr.write(ran.stderr)
        if json:
            sys.stdout.write(job_line(ran.result))
        sys.stdout.flush()
        results.append(replace(ran.result, doc=None, streamed=None))  # written: let it go
    if not json:
        out(summary_table(results))
    if junit is not None:
        suite = f"autograd-cli run {file.name}"
        if shard is not None:
            suite += f" (shard {shard})"
        write_output(junit, render_junit(results, suite))
    worst = max((r.batch_code for r in results), default=0)
    if worst:
        raise typer.Exit(worst)


def _announce(job: JobSpec) -> None:
    """A job's section title, before its output."""
    out(_title(job.index, job.name, job.command))


def _title(index: int, name: str, command: str | None) -> RenderableType:
    from rich.rule import Rule
    from rich.text import Text

    return Rule(Text(f"{index}. {name} ({command or '?'})"), align="left")
