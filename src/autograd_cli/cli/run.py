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
from pathlib import Path
from typing import Annotated, Any

import typer

from autograd_cli.batch.jobfile import JobSpec
from autograd_cli.cli.app import Json, app, handled, is_debug, out, report, write_atomic
from autograd_cli.cli.parsing import option_error
from autograd_cli.errors import EXIT_USAGE, UsageError
from autograd_cli.records import JobResult


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


def job_argv(options: dict[str, Any], command_name: str, command: Any) -> list[str]:
    """A job's options as the command line that means the same."""
    keys = _keys(command)
    argv: list[str] = []
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
            argv.append(str(value))
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
    return argv


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


def run_job(job: JobSpec, json: bool) -> JobResult:
    """Run one job; its errors go to stderr as the command's would, and into the result."""
    start = time.perf_counter()
    commands = getattr(_group(), "commands", {})
    try:
        if job.command is None or job.command not in commands or job.command == "run":
            known = ", ".join(sorted(c for c in commands if c != "run"))
            raise UsageError(f"job needs a command, one of: {known}")
        argv = job_argv(job.options, job.command, commands[job.command])
    except UsageError as error:
        hint = f"\nhint: {error.hint}" if error.hint else ""
        message = f"error: {error.message}{hint}"
        sys.stderr.write(_labelled(job, message + "\n"))
        return JobResult(job.index, job.name, job.command, EXIT_USAGE, 0.0, message)
    prefix = ["--debug"] if is_debug() else []
    # A job that asks for text (graph's `format = "dot"`) runs as asked: its text goes into
    # its JSON Lines document instead of --json being forced on it.
    as_json = json and not _asks_for_text(job)
    code, stdout, stderr = _invoke(
        [*prefix, job.command, *argv, *(["--json"] if as_json else [])], json
    )
    seconds = time.perf_counter() - start
    sys.stderr.write(_labelled(job, stderr))
    doc, text = None, None
    if as_json:
        with contextlib.suppress(ValueError):
            doc = jsonlib.loads(stdout)
    elif json:
        text = stdout or None  # none when it wrote to its `output` file, or failed
    return JobResult(job.index, job.name, job.command, code, seconds, stderr.strip(), doc, text)


def _asks_for_text(job: JobSpec) -> bool:
    """The job picks an output format of its own other than JSON."""
    fmt = job.options.get("format")
    return fmt is not None and str(fmt) != "json"


def _labelled(job: JobSpec, text: str) -> str:
    """A job's stderr with its name on every line: jobs' messages stay apart in a CI log."""
    return "".join(f"[{job.name}] {line}" for line in text.splitlines(keepends=True))


@app.command()
@handled
def run(
    file: Annotated[Path, typer.Argument(help="A TOML file of [[job]] tables.")],
    json: Json = False,
    junit_xml: Annotated[
        Path | None, typer.Option("--junit-xml", help="Also write a JUnit XML report here.")
    ] = None,
) -> None:
    """Run many jobs from a TOML batch file in one process."""
    from rich.rule import Rule
    from rich.text import Text

    from autograd_cli.batch.jobfile import read_jobs
    from autograd_cli.render.batch import job_doc, summary_table
    from autograd_cli.render.batch import junit_xml as render_junit
    from autograd_cli.render.json import dumps

    results = []
    for job in read_jobs(file):
        if not json:
            out(Rule(Text(f"{job.index}. {job.name} ({job.command or '?'})"), align="left"))
        result = run_job(job, json)
        results.append(result)
        if json:
            sys.stdout.write(dumps(job_doc(result)))
            sys.stdout.flush()
    if not json:
        out(summary_table(results))
    if junit_xml is not None:
        write_atomic(junit_xml, render_junit(results, f"autograd-cli run {file.name}"))
    worst = max(r.exit_code for r in results)
    if worst:
        raise typer.Exit(worst)
