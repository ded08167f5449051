"""`autograd-cli lesson`: the whole lesson in one run."""

from __future__ import annotations

from typing import Annotated

import typer

from autograd_cli.cli.app import Json, Output, Seed, app, emit, emit_result, handled, view_of
from autograd_cli.errors import UsageError


@app.command()
@handled
def lesson(
    seed: Seed = 0,
    json: Json = False,
    output: Output = None,
    print_code: Annotated[
        bool,
        typer.Option(
            "--print-code",
            help="Print the lesson's code cells as one Python file, to save, edit and run "
            "with `autograd-cli step FILE`.",
        ),
    ] = False,
) -> None:
    """Walk through the whole autograd lesson, section by section."""
    if print_code:
        if json:
            raise UsageError("--print-code prints Python, not JSON", "drop --json")
        from autograd_cli.program.source import lesson_program

        emit(lesson_program("all").text, output)
        return
    from autograd_cli.inspection.lesson import run_lesson
    from autograd_cli.render.json import data

    report = run_lesson(seed)
    emit_result("lesson", json, output, lambda: data(report), view_of("lesson:lesson_view", report))
