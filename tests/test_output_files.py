"""Output files (`-o`, `--junit-xml`, a job's `output`): one writer, every path checked first.

A regular file is replaced atomically; anything else (a FIFO, a device) is written into; a
path that cannot be written is one `error:` line, exit 2, before any work is done.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from conftest import Invoke

#: The three ways a file is named for output, each as the argv that names `path`.
WRITERS = ["-o", "--junit-xml", "job output"]


def _batch(tmp_path: Path, output: str | None = None, jobs: int = 1) -> Path:
    """A batch of `jobs` lesson graphs; the first writes to `output` if given."""
    text = ""
    for index in range(jobs):
        text += '[[job]]\ncommand = "graph"\n'
        if index == 0 and output is not None:
            text += f"output = {output!r}\n"
    path = tmp_path / "jobs.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _write(cli: Invoke, tmp_path: Path, how: str, target: str) -> tuple[int, str, str]:
    if how == "-o":
        result = cli("graph", "-o", target)
    elif how == "--junit-xml":
        result = cli("run", str(_batch(tmp_path)), "--junit-xml", target)
    else:
        result = cli("run", str(_batch(tmp_path, target)))
    return result.exit_code, result.stdout, result.stderr


def _one_error(stderr: str) -> None:
    """One short message, whether the parser (a usage box) or the command reported it."""
    assert "Traceback" not in stderr
    assert 0 < len(stderr.splitlines()) <= 8, stderr


def _words(stderr: str) -> str:
    """The message without the usage box's frame or its line breaks."""
    return " ".join(stderr.translate(str.maketrans("│╭╮╰╯─", "      ")).split())


@pytest.mark.parametrize("how", WRITERS)
def test_a_fifo_is_written_into_not_replaced(cli: Invoke, tmp_path: Path, how: str) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code, _, stderr = _write(cli, tmp_path, how, str(fifo))
    reader.join()
    assert code == 0, stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received[0].strip(), "nothing came through the FIFO"


@pytest.mark.parametrize("how", WRITERS)
def test_dev_null_stays_a_device(cli: Invoke, tmp_path: Path, how: str) -> None:
    code, _, stderr = _write(cli, tmp_path, how, "/dev/null")
    assert code == 0, stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("how", WRITERS)
def test_a_failed_write_is_an_error(cli: Invoke, tmp_path: Path, how: str) -> None:
    code, _, stderr = _write(cli, tmp_path, how, "/dev/full")
    assert code == 2
    assert "cannot write /dev/full" in stderr and "No space left on device" in stderr


def test_a_char_device_is_written_into(cli: Invoke, tmp_path: Path) -> None:
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs privileges here")
    assert cli("graph", "-o", str(device)).exit_code == 0
    assert stat.S_ISCHR(device.stat().st_mode)


@pytest.mark.parametrize("how", WRITERS)
def test_a_symlink_loop_is_one_error(cli: Invoke, tmp_path: Path, how: str) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    code, stdout, stderr = _write(cli, tmp_path, how, str(tmp_path / "a"))
    assert code == 2 and stdout == ""
    assert "symbolic link loop" in _words(stderr)
    _one_error(stderr)


@pytest.mark.parametrize("how", WRITERS)
def test_a_name_too_long_is_one_error(cli: Invoke, tmp_path: Path, how: str) -> None:
    code, stdout, stderr = _write(cli, tmp_path, how, str(tmp_path / ("n" * 300)))
    assert code == 2 and stdout == ""
    assert "too long" in _words(stderr)
    _one_error(stderr)


@pytest.mark.parametrize("length", [254, 255])
def test_the_longest_name_the_file_system_takes_is_taken(
    cli: Invoke, tmp_path: Path, length: int
) -> None:
    target = tmp_path / ("n" * length)
    assert cli("graph", "-o", str(target)).exit_code == 0
    assert target.read_text(encoding="utf-8").startswith("#0 ")
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


@pytest.mark.parametrize("junit", ["nope/j.xml", ".", ""])
def test_a_bad_junit_path_stops_the_batch_before_its_first_job(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, junit: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("run", str(_batch(tmp_path, jobs=3)), "--junit-xml", junit)
    assert result.exit_code == 2
    assert result.stdout == ""  # no job ran: a job prints its rule first
    _one_error(result.stderr)


def test_a_bad_job_output_stops_the_batch_before_its_first_job(cli: Invoke, tmp_path: Path) -> None:
    batch = tmp_path / "jobs.toml"
    batch.write_text(
        '[[job]]\ncommand = "graph"\n\n[[job]]\ncommand = "graph"\noutput = "nope/g.txt"\n',
        encoding="utf-8",
    )
    result = cli("run", str(batch))
    assert result.exit_code == 2 and result.stdout == ""
    assert "job 2" in result.stderr and "no such directory" in _words(result.stderr)


def test_junit_to_stdout_is_refused(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("run", str(_batch(tmp_path)), "--junit-xml", "-")
    assert result.exit_code == 2 and result.stdout == ""
    assert not (tmp_path / "-").exists()
    assert "--junit-xml" in result.stderr


@pytest.mark.parametrize("value", ["--output=out.txt", "--expr=sum(x)", "-o"])
def test_a_job_value_is_never_an_option(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    batch = tmp_path / "jobs.toml"
    batch.write_text(f'[[job]]\ncommand = "why"\nvariable = {value!r}\n', encoding="utf-8")
    result = cli("run", str(batch), "--json")
    assert result.exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs.toml"]
    assert "no variable" in result.stdout or "no variable" in result.stderr
