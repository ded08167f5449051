"""`run --jobs N` and `run --shard K/N`: the same bytes, exit code and JUnit as one process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograd_cli.batch.jobfile import Shard, read_jobs, slice_of
from conftest import Invoke

# Mixed on purpose: two commands, random tensors (seeded), a failed check, a bad job, text.
JOBS = """
[[job]]
command = "grad"
expr = "sum(x**3)"
var = ["x=randn(4)"]
check = true

[[job]]
name = "wrong"
command = "grad"
expr = "sum(x**2)"
var = ["x=randn(3)"]
expect = ["x=3*x"]

[[job]]
command = "graph"
format = "dot"
seed = 3

[[job]]
name = "typo"
command = "grad"
exprr = "x"

[[job]]
command = "grad"
expr = "sum(sin(x) * y)"
var = ["x=randn(2, 3)", "y=rand(3)"]
seed = 7

[[job]]
command = "lesson"
"""


def _write(tmp_path: Path, text: str = JOBS) -> Path:
    path = tmp_path / "jobs.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _timeless(text: str) -> str:
    """A report without its times, the one thing that differs from run to run."""
    text = re.sub(r'time="[0-9.]+"', 'time=""', text)
    return re.sub(r"│ [0-9]+\.[0-9]{3} +│", "│ t │", text)


@pytest.mark.parametrize("json_lines", [False, True])
def test_workers_give_the_serial_output(cli: Invoke, tmp_path: Path, json_lines: bool) -> None:
    batch = _write(tmp_path)
    flags = ["--json"] if json_lines else []
    runs = {}
    for jobs in ("1", "2", "3"):
        report = tmp_path / f"report-{jobs}.xml"
        result = cli("run", str(batch), "--jobs", jobs, "--junit-xml", str(report), *flags)
        runs[jobs] = (result.exit_code, result.stdout, result.stderr, report.read_text())
    serial = runs["1"]
    assert serial[0] == 2  # the typo is the worst
    assert "[typo] error: unknown key 'exprr'" in serial[2] and "[wrong]" in serial[2]
    for jobs in ("2", "3"):
        code, stdout, stderr, junit = runs[jobs]
        assert code == serial[0]
        if json_lines:
            assert stdout == serial[1]  # JSON Lines carry no times: byte for byte
        assert _timeless(stdout) == _timeless(serial[1])
        assert stderr == serial[2]
        assert _timeless(junit) == _timeless(serial[3])


def test_shards_share_out_the_file(cli: Invoke, tmp_path: Path) -> None:
    batch = _write(tmp_path)
    whole = cli("run", str(batch), "--json", "--jobs", "1")
    docs: dict[str, str] = {}
    names = []
    for k in (1, 2, 3, 4):
        report = tmp_path / f"shard-{k}.xml"
        shard = cli("run", str(batch), "--json", "--shard", f"{k}/4", "--junit-xml", str(report))
        lines = shard.stdout.splitlines()
        docs.update((json.loads(line)["job"], line) for line in lines)
        suite = ET.parse(report).getroot().find("testsuite")
        assert suite is not None
        assert suite.get("name") == f"autograd-cli run jobs.toml (shard {k}/4)"
        names += [case.get("name") for case in suite.findall("testcase")]
        expected = 2 if k == 4 else (1 if k == 2 else 0)  # job 4 is the typo; job 2 fails
        assert shard.exit_code == expected
    order = [json.loads(line)["job"] for line in whole.stdout.splitlines()]
    assert sorted(names, key=order.index) == order  # every job in exactly one shard
    assert [docs[name] for name in order] == whole.stdout.splitlines()


def test_slices_are_round_robin(tmp_path: Path) -> None:
    jobs = read_jobs(_write(tmp_path))
    assert [[j.index for j in slice_of(jobs, Shard(k, 4))] for k in (1, 2, 3, 4)] == [
        [1, 5],
        [2, 6],
        [3],
        [4],
    ]
    assert slice_of(jobs, Shard(3, 7)) == [jobs[2]] and slice_of(jobs, Shard(7, 7)) == []


def test_an_empty_shard_passes(cli: Invoke, tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    one = _write(tmp_path, '[[job]]\ncommand = "graph"\n')
    result = cli("run", str(one), "--shard", "2/2", "--json", "--junit-xml", str(report))
    assert (result.exit_code, result.stdout) == (0, "")
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "0"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--shard", "0/2", "give K/N with 1 <= K <= N"),
        ("--shard", "3/2", "give K/N with 1 <= K <= N"),
        ("--shard", "1", "give K/N"),
        ("--shard", "a/b", "give K/N"),
        ("--jobs", "0", "--jobs"),
        ("--jobs", "257", "--jobs"),
    ],
)
def test_bad_jobs_and_shards(
    cli: Invoke, tmp_path: Path, option: str, value: str, message: str
) -> None:
    result = cli("run", str(_write(tmp_path)), option, value)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


def test_workers_through_a_real_process(tmp_path: Path) -> None:
    """Forked workers write nothing of their own: the parent prints all, in file order."""
    batch = _write(tmp_path)
    runs = [
        subprocess.run(
            [sys.executable, "-m", "autograd_cli", "run", str(batch), "--json", "--jobs", jobs],
            capture_output=True,
            text=True,
        )
        for jobs in ("1", "2")
    ]
    assert runs[0].returncode == runs[1].returncode == 2
    assert runs[0].stdout == runs[1].stdout and runs[0].stderr == runs[1].stderr
