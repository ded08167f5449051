"""Batch results: the summary table, JSON Lines documents and a JUnit XML report.

Rich (the table) and the XML writer are imported by the function that uses them: `run
--json` writes JSON Lines only, and its start-up is the part of a batch no worker shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autograd_cli.records.batch import JobResult
from autograd_cli.records.reports import CheckRecord, ExpectRecord
from autograd_cli.render.json import document, dumps

if TYPE_CHECKING:
    from rich.table import Table

_STYLE = {
    "passed": "green",
    "failed": "bold red",
    "invalid": "yellow",
    "error": "bold red",
    "xfailed": "green",
    "xpassed": "bold red",
}


def summary_table(results: Sequence[JobResult]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table("#", "job", "command", "status", "time (s)", title="Summary")
    for r in results:
        table.add_row(
            str(r.index),
            Text(r.name),
            Text(r.command or "?"),
            Text(r.status, style=_STYLE.get(r.status, "")),
            f"{r.seconds:.3f}",
        )
    return table


def job_doc(result: JobResult) -> dict[str, Any]:
    """The command's own document plus `job` and `status`; a bare document without one.

    `output` holds the text of a job that asked for a text format (`format = "dot"`), else
    null; `error` what the command said on stderr when it failed and wrote no document,
    else null; `xfail` why the job is expected to fail, else null. Times are left out so
    that the same file and seeds give byte-identical JSON Lines.
    """
    doc = result.doc if result.doc is not None else document(result.command or "?")
    return {**doc, **_job_fields(result)}


def job_line(result: JobResult) -> str:
    """The job's JSON Lines line: `job_doc`, written once.

    A document the job streamed (graph's) is its text already: the job's fields are
    appended to it, never parsed back into data (the text is what memory holds of it).
    """
    if result.streamed is not None:
        return result.streamed[: -len("}\n")] + "," + dumps(_job_fields(result))[1:]
    return dumps(job_doc(result))


def _job_fields(result: JobResult) -> dict[str, Any]:
    wrote = result.doc is not None or result.streamed is not None
    failed = not wrote and result.exit_code != 0
    return {
        "job": result.name,
        "status": result.status,
        "output": result.text,
        "error": result.message if failed else None,
        "xfail": result.xfail,
    }


def junit_xml(results: Sequence[JobResult], suite: str) -> str:
    """One test case per job: a failed check is a <failure>, a bad job an <error>.

    Expected failures as pytest's junitxml writes them: one that failed is skipped
    (`<skipped type="xfail">`), one that passed a <failure> (pytest's strict xfail).
    """
    import xml.etree.ElementTree as ET

    statuses = [r.status for r in results]
    root = ET.Element("testsuites")
    node = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(sum(s in ("failed", "xpassed") for s in statuses)),
        errors=str(sum(s in ("invalid", "error") for s in statuses)),
        skipped=str(statuses.count("xfailed")),
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for r in results:
        case = ET.SubElement(
            node,
            "testcase",
            name=r.name,
            classname=f"autograd-cli.{r.command or '?'}",
            time=f"{r.seconds:.3f}",
        )
        if r.status == "failed":
            numbers = [_numbers(f) for f in r.failures]
            message = _headline(r) + (f" ({'; '.join(numbers)})" if numbers else "")
            text = r.message + "".join(f"\n{line}" for line in numbers)
            ET.SubElement(case, "failure", message=message).text = text
        elif r.status == "xfailed":
            ET.SubElement(case, "skipped", type="xfail", message=_said("expected failure", r))
        elif r.status == "xpassed":
            ET.SubElement(
                case, "failure", message=_said("XPASS (strict)", r)
            ).text = "the job was expected to fail (xfail), and it passed"
        elif r.status != "passed":
            ET.SubElement(case, "error", message=_headline(r)).text = r.message
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _said(what: str, result: JobResult) -> str:
    """`what`, then the job's reason for its expected failure, if it gave one."""
    return f"{what}: {result.xfail}" if result.xfail else what


def _numbers(failure: CheckRecord | ExpectRecord) -> str:
    """How far a failed check was off, for one variable: the largest absolute and relative
    differences and where they are (the report's reader sees no view)."""
    if isinstance(failure, CheckRecord):
        return (
            f"{failure.name}: gradcheck max abs difference {failure.max_difference:.6g} "
            f"(eps {failure.eps:g}, atol {failure.atol:g}, rtol {failure.rtol:g})"
        )
    if failure.max_difference is None or failure.max_rel_difference is None:
        return f"{failure.name}: {failure.reason}"
    where = _where(failure.name, failure.max_difference_at)
    relative = _where(failure.name, failure.max_rel_difference_at)
    return (
        f"{failure.name}: max abs difference {failure.max_difference:.6g} at {where}, "
        f"max rel difference {failure.max_rel_difference:.6g} at {relative}, "
        f"{failure.mismatches} of {failure.elements} elements off"
    )


def _where(name: str, index: tuple[int, ...] | None) -> str:
    """An element as Python indexes it: `x[1, 0]`; `x` itself when it has one value."""
    return f"{name}[{', '.join(map(str, index))}]" if index else name


def _headline(result: JobResult) -> str:
    """The error the job reported (CI pages show only this attribute), else the first line
    it wrote on stderr."""
    if result.headline is not None:
        return result.headline
    return next(iter(result.message.strip().splitlines()), "")
