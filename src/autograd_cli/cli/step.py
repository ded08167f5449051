"""`autograd-cli step FILE`: a program's timeline, statement by statement."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from autograd_cli.cli.app import Json, Output, Seed, app, emit_result, handled, keep, view_of
from autograd_cli.cli.options import Code, File, MaxElements, ProgramOptions, Trust
from autograd_cli.errors import UsageError


@app.command()
@handled
def step(
    path: Annotated[
        str | None,
        typer.Argument(
            metavar="[FILE]",
            help="The program (a .py file; - reads standard input). Same as --file.",
            show_default=False,
        ),
    ] = None,
    file: File = None,
    code: Code = None,
    trust: Trust = False,
    max_elements: MaxElements = None,
    seed: Seed = 0,
    json: Json = False,
    output: Output = None,
) -> None:
    """Run a PyTorch program and show, statement by statement, what autograd did."""
    from autograd_cli.render.json import data

    if path is not None and file is not None:
        raise UsageError("give the program once: as FILE or as --file")
    program = ProgramOptions(path if path is not None else file, code, trust)
    if not program.given:  # the lesson, every cell, as every command runs it without input
        if max_elements is not None:
            raise UsageError(
                "--max-elements bounds a program of yours, and none is given",
                "autograd-cli step FILE --max-elements N",
            )
        program = replace(program, lesson="all")
    run = program.run(seed, max_elements)
    emit_result(
        "step", json, output, lambda: data(run.timeline), view_of("step:step_view", run.timeline)
    )
    if run.error is not None:
        keep(run.error)  # shown in the view and the document, not on stderr
        raise typer.Exit(run.error.exit_code)
    if run.exit_code:
        raise typer.Exit(run.exit_code)
