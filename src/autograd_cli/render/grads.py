"""`grad`: the result, every variable's gradient, and the checks, as a view and as JSON."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from autograd_cli.records.reports import (
    CheckRecord,
    ExpectRecord,
    GradReport,
    HessianRecord,
    JacobianRecord,
    VariableGrad,
)
from autograd_cli.records.tensors import TensorRecord, format_shape
from autograd_cli.render.blocks import code_block, fact
from autograd_cli.render.labels import format_number
from autograd_cli.render.tables import RowBlocks, numbers_view

#: What a view says of a gradient that only exists because the tool kept it.
RETAINED_NOTE = "retained by autograd-cli; None in plain PyTorch"


def _heading(text: str) -> Text:
    return Text(text, style="bold underline")


def _properties(rec: TensorRecord) -> Text:
    return Text.assemble(
        f"{format_shape(rec.shape)}  {rec.dtype}  requires_grad {rec.requires_grad}  "
        f"is_leaf {rec.is_leaf}  grad_fn ",
        (rec.grad_fn or "None", "cyan" if rec.grad_fn else "dim"),
    )


def _box(title: str, *body: RenderableType) -> Panel:
    return Panel(Group(*body), title=Text(title, style="bold"), title_align="left", expand=False)


def _result(report: GradReport) -> Panel:
    rec = report.result
    value: RenderableType
    if isinstance(report.value, int | float | bool):
        value = Text.assemble(("value ", "bold"), format_number(report.value))
    else:
        value = numbers_view(report.value, "value")
    return _box(rec.name, _properties(rec), value)


def _backward(report: GradReport) -> list[RenderableType]:
    name = report.result.name
    if report.vector is None:
        return [
            Text.assemble(
                (f"{name}.backward()", "bold"), f" fills each leaf's .grad with d({name})/d(leaf)."
            )
        ]
    return [
        Text.assemble(
            (f"{name}.backward(v)", "bold"),
            f" with v = {report.vector_text}: for a result that is not a single number, "
            f"backward computes v^T J, where J = d({name})/d(leaf).",
        ),
        numbers_view(report.vector, "v"),
    ]


def _variable(var: VariableGrad) -> Panel:
    name = var.tensor.name
    grad: RenderableType
    if var.grad is None:
        grad = Text(f"{name}.grad: None ({var.missing})", style="dim")
    else:
        grad = numbers_view(var.grad, f"{name}.grad")
    if var.retained_by_tool:
        note = Text(RETAINED_NOTE, style="yellow")
        return _box(name, _properties(var.tensor), grad, note)
    return _box(name, _properties(var.tensor), grad)


def _jacobian(records: list[JacobianRecord], result: str) -> list[RenderableType]:
    body: list[RenderableType] = [
        _heading("Jacobian"),
        Text(f"J[i, k] = d {result}[i] / d leaf[k], both flattened (torch.autograd.functional)"),
        Text(),
    ]
    for rec in records:
        body += [
            numbers_view(rec.jacobian, f"J for {rec.name}"),
            numbers_view(rec.vjp, f"v^T J for {rec.name}"),
            fact(
                rec.matches_grad,
                f"v^T J equals {rec.name}.grad (largest difference {rec.max_difference:.1e})",
            ),
            Text(),
        ]
    return body


def _difference(value: float) -> str:
    """Rounding noise below 1e-8 shows as a bound: its digits vary with the libm."""
    return f"{value:.2e}" if value >= 1e-8 else "< 1e-08"


def _check(records: list[CheckRecord]) -> list[RenderableType]:
    tolerances = records[0]  # every variable is checked alike
    table = Table("variable", "largest difference", "gradcheck")
    for rec in records:
        verdict = Text("✓ pass", "green") if rec.passed else Text("✗ FAIL", "bold red")
        table.add_row(Text(rec.name, style="bold"), _difference(rec.max_difference), verdict)
    return [
        _heading("Gradient check"),
        Text(
            f"autograd's Jacobian against central differences (eps {tolerances.eps:g}) in float64;"
        ),
        Text(
            "the verdict is torch.autograd.gradcheck's "
            f"(atol {tolerances.atol:g}, rtol {tolerances.rtol:g})"
        ),
        table,
        Text(),
    ]


def _expect(records: list[ExpectRecord]) -> list[RenderableType]:
    body: list[RenderableType] = [_heading("Expected gradients"), Text()]
    for rec in records:
        title = f"{rec.name}.grad against {rec.formula}"
        if rec.reason is not None:
            body += [fact(False, f"{title}: {rec.reason}"), Text()]
            continue
        table = Table("index", f"{rec.name}.grad", "expected", "difference", title=title)
        for row in rec.rows:
            style = "" if row.close else "bold red"
            table.add_row(
                str(list(row.index)),
                format_number(row.grad),
                format_number(row.expected),
                Text(_difference(row.difference), style=style),
                style=None if row.close else "red",
            )
        verdict = (
            f"{rec.name}.grad matches {rec.formula} in all {rec.elements} elements"
            if rec.passed
            else f"{rec.mismatches} of {rec.elements} elements differ"
        )
        shown = len(rec.rows)
        if shown < rec.elements:
            verdict += f" ({shown} shown{', mismatches first' if rec.mismatches else ''})"
        body += [RowBlocks(table), fact(rec.passed, verdict), Text()]
    return body


def _hessian(records: list[HessianRecord], result: str) -> list[RenderableType]:
    body: list[RenderableType] = [
        _heading("Hessian"),
        Text(f"H[k, l] = d2 {result} / d a[k] d b[l], flattened (torch.autograd.functional)"),
        Text(),
    ]
    for rec in records:
        a, b = rec.of
        body += [numbers_view(rec.values, f"d2 {result} / d{a} d{b}"), Text()]
    return body


def grad_view(report: GradReport) -> Group:
    result = report.result.name
    # A program's line that binds two names (`x = ...; loss = ...`) is listed once.
    parts: list[RenderableType] = [
        code_block(list(dict.fromkeys(report.source.values()))),
        Text(),
        _result(report),
        *_backward(report),
        Text(),
        *(_variable(var) for var in report.variables),
        Text(),
    ]
    if report.jacobian is not None:
        parts += _jacobian(report.jacobian, result)
    if report.expect is not None:
        parts += _expect(report.expect)
    if report.check is not None:
        parts += _check(report.check)
    if report.hessian is not None:
        parts += _hessian(report.hessian, result)
    # Each section ends with a blank line, to part it from the next: none after the last.
    while isinstance(parts[-1], Text) and not parts[-1].plain:
        parts.pop()
    return Group(*parts)
