"""Batch results: the summary table, JSON Lines documents and a JUnit XML report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from autograd_cli.records.batch import JobResult
from autograd_cli.render.json import document, dumps

_STYLE = {"passed": "green", "failed": "bold red", "invalid": "yellow", "error": "bold red"}


def summary_table(results: Sequence[JobResult]) -> Table:
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
    null; `error` what the command said on stderr when the job did not pass and wrote no
    document, else null. Times are left out so that the same file and seeds give
    byte-identical JSON Lines.
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
    failed = not wrote and result.status != "passed"
    return {
        "job": result.name,
        "status": result.status,
        "output": result.text,
        "error": result.message if failed else None,
    }


def junit_xml(results: Sequence[JobResult], suite: str) -> str:
    """One test case per job: a failed check is a <failure>, a bad job an <error>."""
    failures = sum(r.status == "failed" for r in results)
    errors = sum(r.status in ("invalid", "error") for r in results)
    root = ET.Element("testsuites")
    node = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
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
            ET.SubElement(case, "failure", message=_headline(r)).text = r.message
        elif r.status != "passed":
            ET.SubElement(case, "error", message=_headline(r)).text = r.message
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _headline(result: JobResult) -> str:
    """The error the job reported (CI pages show only this attribute), else the first line
    it wrote on stderr."""
    if result.headline is not None:
        return result.headline
    return next(iter(result.message.strip().splitlines()), "")
