"""`autograd-cli lesson`: the whole lesson in one run."""

from __future__ import annotations

from autograd_cli.cli.app import Json, Output, Seed, app, emit_result, handled


@app.command()
@handled
def lesson(seed: Seed = 0, json: Json = False, output: Output = None) -> None:
    """Walk through the whole autograd lesson, section by section."""
    from autograd_cli.inspection.lesson import run_lesson
    from autograd_cli.render.lesson import lesson_doc, lesson_view

    report = run_lesson(seed)
    emit_result("lesson", json, output, lambda: lesson_doc(report), lambda: lesson_view(report))
