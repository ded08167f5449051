"""`autograd-cli lesson`: the whole lesson in one run."""

from __future__ import annotations

from autograd_cli.cli.app import Json, Output, Seed, app, emit, handled


@app.command()
@handled
def lesson(seed: Seed = 0, json: Json = False, output: Output = None) -> None:
    """Walk through the whole autograd lesson, section by section."""
    from autograd_cli.inspection.lesson import run_lesson
    from autograd_cli.render.lesson import lesson_doc, lesson_view

    report = run_lesson(seed)
    if json:
        from autograd_cli.render.json import document, dumps

        emit(dumps(document("lesson", **lesson_doc(report))), output)
    else:
        emit(lesson_view(report), output)
