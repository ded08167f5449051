"""Long loops fold in trusted files as in interpreted programs: the first iterations, one
folded line, the last, so the timeline does not grow with the number of iterations."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from autograd_cli.program.run import run_program
from autograd_cli.program.source import read_program
from autograd_cli.records.timeline import FoldedSteps, StepEvent
from conftest import Invoke, load_document, run_json

HEAD = "import torch\nw = torch.ones(2, requires_grad=True)\n"


def plain(n: int) -> str:
    return HEAD + f"for i in range({n}):\n    y = (w * i).sum()\n    y.backward()\nprint(w.grad)\n"


TRAINING = textwrap.dedent(
    """\
    import torch
    torch.manual_seed(0)
    w = torch.randn(3, requires_grad=True)
    x = torch.randn(3)
    for epoch in range(40):
        loss = (w * x).sum() ** 2
        loss.backward()
        with torch.no_grad():
            w -= 0.01 * w.grad
        w.grad.zero_()
    """
)

#: Programs both ways of running accept: (name, code).
LOOPS = [
    *((f"range({n})", plain(n)) for n in (1, 2, 3, 100)),
    (
        "nested",
        HEAD + "for i in range(5):\n"
        "    for j in range(4):\n"
        "        y = (w * j).sum()\n"
        "        y.backward()\n"
        "    w.grad.zero_()\n"
        "print(w.grad)\n",
    ),
    (
        "break",
        HEAD + "for i in range(10):\n"
        "    y = (w * i).sum()\n"
        "    if i == 6:\n"
        "        break\n"
        "    y.backward()\n"
        "print(w.grad)\n",
    ),
    (
        "continue",
        HEAD + "for i in range(10):\n"
        "    y = (w * i).sum()\n"
        "    if i % 2 == 0:\n"
        "        continue\n"
        "    y.backward()\n"
        "print(w.grad)\n",
    ),
    (
        "inner break",
        HEAD + "for i in range(6):\n"
        "    for j in range(10):\n"
        "        if j == 5:\n"
        "            break\n"
        "        y = (w * j).sum()\n"
        "    y.backward()\n"
        "print(w.grad)\n",
    ),
    ("training", TRAINING),
    # One-line loops: every line event is on the loop's line; a `for` has one more
    *(
        (
            f"one-line for, range({n})",
            HEAD + f"y = w.sum()\nfor i in range({n}): y = y * 2\ny.backward()\nprint(w.grad)\n",
        )
        for n in (0, 1, 2, 3, 100)
    ),
    (
        "one-line loops in a loop",
        HEAD + "for i in range(4):\n"
        "    y = w.sum()\n"
        "    for j in range(i): y = y * j\n"
        "    y.backward()\n"
        "print(w.grad)\n",
    ),
    (
        "one-line for over a tensor, broken",
        HEAD + "for row in torch.ones(5, 2): z = (w * row).sum(); break\nz.backward()\n",
    ),
]


def shape(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What folding decides: each entry's kind, line, number, loop variables and folded
    counts."""
    return [
        (
            e["event"],
            e["line"],
            e.get("index"),
            e.get("loop"),
            e.get("iterations"),
            e.get("statements"),
        )
        for e in doc["events"]
    ]


@pytest.mark.parametrize("code", [code for _, code in LOOPS], ids=[name for name, _ in LOOPS])
def test_trusted_loops_fold_as_interpreted_ones(cli: Invoke, tmp_path: Path, code: str) -> None:
    path = tmp_path / "prog.py"
    path.write_text(code)
    interpreted = run_json(cli, "step", "-f", str(path))
    trusted = run_json(cli, "step", "--trust", str(path))
    assert shape(trusted) == shape(interpreted)
    assert trusted["statements"] == interpreted["statements"]
    assert [e["printed"] for e in trusted["events"] if e["event"] == "statement"] == [
        e["printed"] for e in interpreted["events"] if e["event"] == "statement"
    ]


def test_a_hundred_iterations_keep_the_first_two_and_the_last(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "prog.py"
    path.write_text(plain(100))
    events = run_json(cli, "step", "--trust", str(path))["events"]
    assert [e["line"] for e in events] == [1, 2, 4, 5, 4, 5, 3, 4, 5, 6]
    assert events[6] == {"event": "folded", "line": 3, "iterations": 97, "statements": 194}
    # the last iteration is the 100th: its backward adds 99 to 0 + 1 + ... + 98
    after = sum(range(99))
    assert events[8]["backward"][0]["grads"][0]["before"] == [after, after]
    assert events[8]["index"] == 2 + 2 * 99 + 2


def trusted_timeline(tmp_path: Path, code: str) -> list[StepEvent | FoldedSteps]:
    path = tmp_path / "prog.py"
    path.write_text(code)
    run = run_program(read_program(str(path), None), seed=0, trusted=True)
    assert run.error is None
    return run.timeline.entries


def test_a_trusted_loop_of_ten_thousand_iterations_stays_bounded(tmp_path: Path) -> None:
    loop = HEAD + "for i in range({n}):\n    y = w * i\n    z = y.sum()\n"
    few = trusted_timeline(tmp_path, loop.format(n=100))
    many = trusted_timeline(tmp_path, loop.format(n=10_000))
    assert len(many) == len(few) == 2 + 2 * 2 + 1 + 2
    assert many[6] == FoldedSteps(3, 9_997, 2 * 9_997)


def test_while_loops_fold_and_keep_the_iteration_that_broke(tmp_path: Path) -> None:
    code = HEAD + textwrap.dedent(
        """\
        n = 0
        while n < 50:
            n += 1
            y = w * n
        while True:
            n -= 1
            if n == 10:
                break
        """
    )
    entries = trusted_timeline(tmp_path, code)
    folded = [e for e in entries if isinstance(e, FoldedSteps)]
    assert folded == [FoldedSteps(4, 47, 94), FoldedSteps(7, 37, 37)]
    last = entries[-1]
    assert isinstance(last, StepEvent) and (last.line, last.code) == (8, "n -= 1")
    assert not any(isinstance(e, StepEvent) and e.code == "break" for e in entries)


def test_a_function_called_in_the_loop_is_part_of_each_iteration(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """\
        import torch


        def step(w, k):
            loss = (w * k).sum()
            loss.backward()


        w = torch.ones(2, requires_grad=True)
        for i in range(20):
            step(w, i)
        """
    )
    entries = trusted_timeline(tmp_path, code)
    lines = [e.line for e in entries]
    assert lines == [1, 4, 9, 11, 5, 6, 11, 5, 6, 10, 11, 5, 6]
    assert entries[9] == FoldedSteps(10, 17, 17 * 3)
    last = entries[-1]
    assert isinstance(last, StepEvent) and last.backward[0].grads[0].after == [190.0, 190.0]


def test_a_comprehension_is_one_entry_not_one_per_element(tmp_path: Path) -> None:
    code = HEAD + "ys = [w * k for k in range(50)]\ntotal = sum(y.sum() for y in ys)\n"
    entries = trusted_timeline(tmp_path, code)
    assert [e.line for e in entries] == [1, 2, 3, 4]
    made = entries[2]
    assert isinstance(made, StepEvent) and len(made.nodes) == 50 + 1  # 50 MulBackward0, w's


def test_a_loop_that_fails_keeps_the_failing_iteration(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "prog.py"
    path.write_text(HEAD + "for i in range(30):\n    y = w * i\n    assert i < 20, 'too far'\n")
    result = cli("step", "--trust", str(path), "--json")
    assert result.exit_code == 1
    doc = load_document(result.stdout)
    folded = [e for e in doc["events"] if e["event"] == "folded"]
    assert folded == [{"event": "folded", "line": 3, "iterations": 18, "statements": 36}]
    last = doc["events"][-1]
    assert (last["line"], last["index"]) == (5, 2 + 2 * 20 + 2)
    assert doc["failure"]["line"] == 5


def test_the_ledger_of_a_trusted_training_loop_folds(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(TRAINING)
    trusted = run_json(cli, "accumulate", "-f", str(path), "--trust")
    interpreted = run_json(cli, "accumulate", "-f", str(path))

    def rows(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(r["call"], r["line"], r["note"], r["change"]["how"]) for r in doc["rows"]]

    assert trusted["calls"] == interpreted["calls"] == 40
    assert rows(trusted) == rows(interpreted)
    assert [r[0] for r in rows(trusted) if r[0] is not None] == [1, 2, 3]  # 37 calls folded


def test_the_record_api_folds_loops_too() -> None:
    import autograd_cli

    with autograd_cli.record(seed=0) as run:
        a = torch.ones(2, requires_grad=True)
        for k in range(30):
            b = (a * k).sum()
            b.backward()
    entries = run.timeline.entries
    assert len(entries) == 1 + 2 * 2 + 1 + 2
    (folded,) = [e for e in entries if isinstance(e, FoldedSteps)]
    assert (folded.iterations, folded.statements) == (27, 54)
    assert run.program.line(folded.line).strip() == "for k in range(30):"


def test_golden_trusted_step_of_a_folded_loop(
    cli: Invoke,
    golden: Callable[[str, str], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # the view names the file as given
    Path("train.py").write_text(TRAINING)
    done = cli("step", "--trust", "train.py")
    assert done.exit_code == 0, done.stderr
    golden("step_trusted_loop.txt", done.stdout)


@pytest.mark.parametrize("command", ["graph", "grad"])
def test_a_file_without_functions_gives_each_node_its_line(
    cli: Invoke, tmp_path: Path, command: str
) -> None:
    # Without def, class or lambda the tracer leaves every call outside the file's lines
    # untraced, also when no timeline is kept (graph, grad): the nodes' sources are the
    # same as in a file whose functions keep the tracer on every call.
    flat = tmp_path / "flat.py"
    flat.write_text(TRAINING)
    nested = tmp_path / "nested.py"
    nested.write_text(flat.read_text() + "\n\ndef unused():\n    pass\n")
    docs = [run_json(cli, command, "--trust", "-f", str(p)) for p in (flat, nested)]
    assert docs[0] == docs[1]
    assert "loss = (w * x).sum() ** 2" in json.dumps(docs[0])


def test_the_tracer_s_own_tensor_reads_are_not_the_program_s_torch_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Keeping the timeline reads every named tensor's .grad and .is_leaf at each line: those
    # reads run outside the recorder's mode, so the mode sees the same calls with or
    # without a timeline (the program's own), and the timeline is as before.
    from autograd_cli.program.recorder import Recorder

    path = tmp_path / "train.py"
    path.write_text(TRAINING)
    program = read_program(str(path), None)
    seen: list[str] = []
    dispatch = Recorder.dispatch

    def counted(self: Recorder, func: Any, args: Any, kwargs: Any) -> Any:
        seen.append(getattr(func, "__name__", ""))
        return dispatch(self, func, args, kwargs)

    monkeypatch.setattr(Recorder, "dispatch", counted)
    calls = []
    for steps in (False, True):
        seen.clear()
        run = run_program(program, seed=0, trusted=True, steps=steps)
        assert run.error is None
        calls.append(list(seen))
    assert calls[0] == calls[1]
    assert calls[1].count("backward") == 40


def test_torch_calls_of_a_file_without_functions_run_untraced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No line of such a file can run inside a torch call, so torch's Python and the
    # recorder's run with no trace function set (Python's slow path off); a file with a
    # function keeps its tracer on for them, since its code may run inside (a hook).
    import sys

    from autograd_cli.program.recorder import Recorder

    traced: list[bool] = []
    dispatch = Recorder.dispatch

    def seen(self: Recorder, func: Any, args: Any, kwargs: Any) -> Any:
        traced.append(sys.gettrace() is not None)
        return dispatch(self, func, args, kwargs)

    monkeypatch.setattr(Recorder, "dispatch", seen)
    code = HEAD + "try:\n    w @ w.reshape(1, 2)\nexcept RuntimeError:\n    pass\ny = w * 2\n"
    lines = []
    for text, inside in ((code, False), (code + "\n\ndef unused():\n    pass\n", True)):
        traced.clear()
        lines.append([e.line for e in trusted_timeline(tmp_path, text)])
        assert set(traced) == {inside}
    # after a torch call that raised, the file's lines are followed as before
    assert lines[0] == [1, 2, 3, 4, 5, 7] and lines[1] == [*lines[0], 10]  # 10: the def


def test_a_trusted_run_gives_the_process_its_own_trace_function_back(tmp_path: Path) -> None:
    """A debugger's or a coverage tool's trace function is set again after the file ran."""
    import sys

    def theirs(frame: Any, event: str, arg: Any) -> None:
        return None

    before = sys.gettrace()
    sys.settrace(theirs)
    try:
        trusted_timeline(tmp_path, HEAD + "y = (w * 2).sum()\n")
        assert sys.gettrace() is theirs
    finally:
        sys.settrace(before)


def test_a_one_line_while_folds_as_the_same_loop_on_two_lines(tmp_path: Path) -> None:
    """`while` is not interpreted: the loop written on one line is held to the same loop
    written on two, whose body has lines of its own."""
    body = HEAD + "y = w.sum()\nk = 0\n{loop}\ny.backward()\n"
    one = trusted_timeline(tmp_path, body.format(loop="while k < 50: y = y * 2; k = k + 1"))
    two = trusted_timeline(tmp_path, body.format(loop="while k < 50:\n    y = y * 2; k = k + 1"))

    def shape(entries: list[StepEvent | FoldedSteps]) -> list[tuple[Any, ...]]:
        return [
            (e.index, e.code, e.nodes)
            if isinstance(e, StepEvent)
            else ("folded", e.iterations, e.statements)
            for e in entries
        ]

    assert shape(one) == shape(two)
    assert ("folded", 47, 47) in shape(one)


def test_a_one_line_loop_calling_a_function_of_the_file_keeps_the_order(tmp_path: Path) -> None:
    """The function's lines run inside an iteration: each comes after its iteration's
    entry, which is known to be an iteration as soon as the body calls out."""
    code = (
        "import torch\n"
        "def double(v):\n"
        "    return v * 2\n"
        "y = torch.ones(2, requires_grad=True)\n"
        "for i in range(3): y = double(y)\n"
        "y.sum().backward()\n"
    )
    entries = trusted_timeline(tmp_path, code)
    steps = [e for e in entries if isinstance(e, StepEvent)]
    assert [(e.line, e.loop) for e in steps[3:9]] == [
        (5, (("i", "0"),)),
        (3, (("i", "0"),)),
        (5, (("i", "1"),)),
        (3, (("i", "1"),)),
        (5, (("i", "2"),)),
        (3, (("i", "2"),)),
    ]
    assert [e.index for e in steps] == sorted(e.index for e in steps)
    assert steps[9].line == 6
