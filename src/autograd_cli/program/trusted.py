"""A trusted file (`--trust`): the user's own Python, run as `python FILE` would run it.

No whitelist and no bounds: it is the user's code on the user's machine. The same recorder
watches torch; a line tracer (`sys.settrace`, only for frames of this file) tells it which
line runs and closes each line's entry with the names it bound. Long loops fold as the
interpreter folds them (`folding.LoopFold`): the file's loops are found with `ast` before
it runs, and a line event on a loop's header, in the frame running it, starts an
iteration. `--seed` seeds torch first; `sys.exit(n)` ends the run with n.
"""

from __future__ import annotations

import ast
import io
import linecache
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from autograd_cli.build.sources import SourceMap, readable
from autograd_cli.errors import CliError, CliWarning, ProgramFailed
from autograd_cli.program.folding import LoopFold, Sink, loop_value
from autograd_cli.program.recorder import Recorder
from autograd_cli.program.source import Program
from autograd_cli.records.source import Source
from autograd_cli.records.timeline import StepEvent, Timeline

if TYPE_CHECKING:
    import torch

    from autograd_cli.program.run import ProgramRun


@dataclass(frozen=True, slots=True)
class _Loop:
    """A `for` or `while` of the file, by lines: `header` up to `body` (exclusive) is its
    header, `body` to `last` its body (an `else:` clause is after the loop, not in it).

    A loop written on one line (`for i in range(3): y = y * 2`) has `code`, its body's
    statements as written: each line event on that line then starts an iteration, and the
    entry of each iteration shows its body, as an interpreted program's does."""

    header: int
    body: int
    last: int
    names: tuple[str, ...]  # a `for`'s loop variables, shown with each iteration's entries
    code: str | None = None  # a one-line loop's body
    #: A one-line `for` ends with one more line event on its line, before the iterator
    #: runs out; a `while` tests at the end of each iteration and has none.
    is_for: bool = False


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the tracer needs to know of the file's lines before it runs."""

    loops: dict[int, _Loop]  # each line of a loop's header -> the loop
    #: Lines that only steer (`if`, `for`, `while`, `break`, `continue`, `pass`, a
    #: docstring): the interpreter shows no entry for them, and neither does the tracer
    #: unless autograd did something there (a tensor as the loop variable, say).
    quiet: frozenset[int]
    #: No `def`, `class` or `lambda`: the module's frame is the file's only frame.
    flat: bool = False


_STEERING = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.Break, ast.Continue, ast.Pass)
#: Frames that run inside a line of the file: their torch calls belong to that line's entry
#: (traced, a comprehension would add an entry per element).
_INLINE = frozenset({"<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>"})


def layout(text: str) -> _Layout:
    """The file's loops and quiet lines, read with `ast`. A loop whose body starts on its
    header's line is followed only when the whole loop is that one line; one that goes on
    below is not folded: no line event tells its iterations apart. Text that does not
    parse (a notebook cell's magics) has no loops to fold."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return _Layout({}, frozenset())
    loops: dict[int, _Loop] = {}
    quiet: set[int] = set()
    busy: set[int] = set()
    flat = True
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            flat = False
        if not isinstance(node, ast.stmt):
            continue
        if isinstance(node, ast.For | ast.AsyncFor | ast.While) and node.body[0].lineno > (
            node.lineno
        ):
            last = max(s.end_lineno or s.lineno for s in node.body)
            loop = _Loop(node.lineno, node.body[0].lineno, last, _loop_names(node))
            loops.update((line, loop) for line in range(loop.header, loop.body))
        elif isinstance(node, ast.For | ast.While) and node.end_lineno == node.lineno:
            body = "; ".join(ast.get_source_segment(text, s) or "" for s in node.body)
            line = node.lineno
            is_for = isinstance(node, ast.For)
            loops[line] = _Loop(line, line, line, _loop_names(node), body, is_for=is_for)
        steering = isinstance(node, _STEERING) or (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        )
        (quiet if steering else busy).add(node.lineno)
    return _Layout(loops, frozenset(quiet - busy), flat)


def _loop_names(loop: ast.For | ast.AsyncFor | ast.While) -> tuple[str, ...]:
    """A `for`'s loop variables (`i`, or `i, x` unpacked); a `while` has none."""
    if isinstance(loop, ast.While):
        return ()
    return tuple(n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name))


class _Running:
    """A loop running in a frame: its share of the timeline, whether its header just ran
    (the next line of its body starts an iteration; a line after it ends the loop), and the
    loop variables of this iteration and of the loops around it (`StepEvent.loop`)."""

    __slots__ = ("around", "at_header", "fold", "frame", "held", "loop", "values")

    def __init__(
        self, frame: FrameType, loop: _Loop, fold: LoopFold, values: tuple[tuple[str, str], ...]
    ) -> None:
        self.frame = frame
        self.loop = loop
        self.fold = fold
        self.at_header = True
        self.values = values
        self.around = values
        #: A one-line loop's last entry, kept back until the next line event tells whether
        #: it was an iteration (another event on the loop's line) or the iterator running out
        self.held: StepEvent | None = None


class _Tracer:
    """Opens a timeline entry at each line of the file, closes it at the next."""

    def __init__(
        self,
        program: Program,
        filename: str,
        recorder: Recorder,
        timeline: Timeline,
        steps: bool = True,
        whole_file: bool = False,
    ):
        """`whole_file`: the file runs as a whole (`run_trusted`), so when it defines no
        function its module's frame is its only frame (`record()` traces a caller's cell)."""
        self.program = program
        self.filename = filename
        self.recorder = recorder
        self.timeline = timeline
        self.steps = steps  # False: follow the lines for the nodes' sources, keep no entries
        found = layout(program.text)
        # Without entries no loop is folded and no line is quiet; flatness still counts.
        self.layout = found if steps else _Layout({}, frozenset(), found.flat)
        self.sink: Sink = timeline.entries  # where the next entry goes (a loop's buffer)
        self.running: list[_Running] = []  # the loops running now, innermost last
        self.lines: dict[int, Source] = {}  # line number -> the line as a node's source
        self.frame: FrameType | None = None
        self.before: dict[str, int] = {}
        self.callers: list[tuple[FrameType | None, StepEvent | None, dict[str, int]]] = []
        self.flat = whole_file and self.layout.flat
        recorder.untraced = self.flat  # no line of the file runs inside a torch call
        import torch

        self.untraced = torch._C.DisableTorchFunction

    def global_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        code = frame.f_code
        if code.co_filename != self.filename or code.co_name in _INLINE:
            return None
        if self.flat and code.co_name == "<module>":
            # No other frame of the file will start, so the process's other calls (torch's,
            # several hundred a loop iteration) need not reach a Python function: the C
            # builtin `getattr(frame, "call", None)` answers None to each. The module's
            # frame keeps this tracer for its lines.
            sys.settrace(getattr)
        # A call from a line of the file (a helper, a custom Function's forward): that line's
        # entry resumes when the call returns, and gets what happens after it.
        self.callers.append((self.frame, self.recorder.step, self.before))
        return self.local_trace

    def local_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line" or event == "return":
            # The tracer's own reads of the file's tensors (`.grad`, `.is_leaf`, a new
            # tensor's state) are not the program's torch calls: outside the recorder's
            # mode they cost a C attribute read each, not a Python call of the mode.
            with self.untraced():
                self.follow(frame, event)
        return self.local_trace

    def follow(self, frame: FrameType, event: str) -> None:
        """A line of the file starts (its entry opens, the last one closes), or a frame of
        it returns."""
        self.close()
        if event == "line":
            self.follow_loops(frame, frame.f_lineno)
            self.open(frame)
        else:
            self.leave_loops(frame)  # returned, raised or yielded: its loops are left
            if self.callers:
                self.frame, step, self.before = self.callers.pop()
                self.recorder.step = step
                if self.frame is not None:
                    self.recorder.where = self.line_source(self.frame.f_lineno)

    def follow_loops(self, frame: FrameType, line: int) -> None:
        """Before `line` runs in `frame`: leave the loops it is outside of, enter a loop at
        its header, or start an iteration if the header just ran."""
        running = self.running
        while running and running[-1].frame is frame:
            if running[-1].loop.header <= line <= running[-1].loop.last:
                break
            self.leave(running.pop())
        top = running[-1] if running and running[-1].frame is frame else None
        loop = self.layout.loops.get(line)
        if top is not None and top.loop is loop:
            if top.loop.code is not None:
                self.iterated(top)
            else:
                top.at_header = True  # the iteration ended (or `continue`d)
            return
        if top is not None and top.at_header:  # the first line of the body (a nested loop's
            top.at_header = False  # header, maybe) starts an iteration
            self.sink = top.fold.iteration(self.timeline.statements)
            self.read_loop_values(top)
        if loop is not None:
            around = running[-1].values if running else ()
            running.append(_Running(frame, loop, LoopFold(loop.header, self.sink), around))

    def leave_loops(self, frame: FrameType | None = None) -> None:
        """Leave every loop running in `frame` (None: all of them, the run is over)."""
        running = self.running
        while running and (frame is None or running[-1].frame is frame):
            self.leave(running.pop())

    def leave(self, running: _Running) -> None:
        """The loop ended: its folded line and its last iteration go where it began."""
        held = running.held
        if held is not None:
            # A `for`'s last event only found the iterator empty: kept if it did something
            # (a generator's torch calls after its last value), as a `while`'s last is.
            if running.loop.is_for and not _shows(held):
                running.held = None
                self.timeline.statements -= 1  # it was the last entry opened
            else:
                self.iterated(running)
        running.fold.end(self.timeline.statements)
        self.sink = running.fold.outer

    def iterated(self, running: _Running) -> None:
        """A one-line loop's held entry was an iteration: into the timeline (or folded) with
        the loop variables it ran with, which the loop sets after its line event."""
        held, running.held = running.held, None
        if held is None:
            return
        self.sink = running.fold.iteration(held.index - 1)
        self.read_loop_values(running)
        held.loop = running.values
        if self.sink is not None:
            self.sink.append(held)

    def read_loop_values(self, running: _Running) -> None:
        """The loop variables of the iteration that just started, read from its frame,
        after those of the loops around it."""
        if running.loop.names:
            scope = running.frame.f_locals
            running.values = (
                *running.around,
                *((n, self.value_text(scope.get(n))) for n in running.loop.names),
            )

    def value_text(self, value: Any) -> str:
        """A loop variable's value as the interpreter shows it (`str`, a node numbered)."""
        if hasattr(value, "next_functions") and hasattr(value, "register_prehook"):
            return loop_value(self.recorder.node_text(value))
        with self.recorder.pause():
            return loop_value(str(value) if not isinstance(value, str) else repr(value))

    def line_source(self, line: int) -> Source:
        """A line of the file as a node's source: one per line, however often it runs."""
        found = self.lines.get(line)
        if found is None:
            found = self.lines[line] = Source(self.program.line(line), line=line)
        return found

    def open(self, frame: FrameType) -> None:
        self.timeline.statements += 1
        line = frame.f_lineno
        self.recorder.where = self.line_source(line)
        self.frame = frame
        if not self.steps or self.sink is None:
            self.recorder.mode_changes.clear()  # read by no entry
            return
        top = self.running[-1] if self.running else None
        if top is not None and top.held is not None and top.frame is not frame:
            self.iterated(top)  # the loop's body called a function of the file: an iteration
        loop = top.values if top is not None else ()
        if top is not None and top.loop.code is not None and top.loop.header == line:
            # a one-line loop's iteration, or its end: held back until the next line says
            event = StepEvent(self.timeline.statements, line, top.loop.code, loop)
            top.held = event
        else:
            event = StepEvent(self.timeline.statements, line, self.program.line(line).strip(), loop)
            self.sink.append(event)
        self.recorder.step = event
        self.before = self.named(frame)

    def named(self, frame: FrameType) -> dict[str, int]:
        """The frame's names (name -> id of its value) before a line runs; each named
        leaf's `.grad` is that name's, so `w.grad.zero_()` is seen as w's (as the
        interpreter sees it)."""
        import torch

        owners = self.recorder.grad_owners
        owners.clear()
        before = {}
        for name, value in frame.f_locals.items():
            before[name] = id(value)
            if (
                isinstance(value, torch.Tensor)
                and readable(value)
                and (value.is_leaf or value.retains_grad)
            ):
                grad = value.grad
                if grad is not None:
                    owners[id(grad)] = (name, value)
        return before

    def close(self) -> None:
        import torch

        event, frame = self.recorder.step, self.frame
        if event is None or frame is None:
            return
        for name, value in frame.f_locals.items():
            if (
                isinstance(value, torch.Tensor)
                and self.before.get(name) != id(value)
                and readable(value)
            ):
                event.bound.append(self.recorder.state(name, value))
        event.modes.extend(self.recorder.mode_changes)
        self.recorder.mode_changes.clear()
        self.recorder.step = None
        self.frame = None
        sink = self.sink
        if (
            event.line in self.layout.quiet
            and event.index == self.timeline.statements  # nothing ran in between
            and sink
            and sink[-1] is event
            and not _shows(event)
        ):
            sink.pop()
            self.timeline.statements -= 1

    def replaced(self) -> CliWarning | None:
        """A warning if the code set a trace function of its own (`sys.settrace`): Python
        then stops calling this tracer, so the timeline silently ends where that happened."""
        if sys.gettrace() in (self.global_trace, getattr):  # `getattr`: see global_trace
            return None
        last = self.recorder.where  # the line that ran last while this tracer followed
        where = f" after line {last.line}" if last is not None and last.line else ""
        return CliWarning(
            f"the code replaced the line tracer with sys.settrace(), so its steps were not "
            f"followed{where}: the timeline and the nodes' lines stop there",
            "leave sys.settrace() out of the code while autograd-cli runs it; to debug "
            "or measure coverage, run the debugger or coverage tool on autograd-cli itself",
            code="trace_replaced",
        )

    def finish(self) -> None:
        """The run is over (or the `record` block): close the last entry, leave every loop."""
        self.close()
        self.leave_loops()

    def name_of(self, tensor: torch.Tensor) -> str | None:
        frame = self.frame
        while frame is not None:
            for name, value in frame.f_locals.items():
                if value is tensor:
                    return name
            frame = (
                frame.f_back
                if frame.f_back and frame.f_back.f_code.co_filename == self.filename
                else None
            )
        return None


def _shows(event: StepEvent) -> bool:
    """Whether the entry has anything to show besides its line."""
    return bool(
        event.bound
        or event.nodes
        or event.backward
        or event.grads
        or event.modes
        or event.versions
        or event.printed
    )


class _Printed(io.TextIOBase):
    """The file's standard output, into the timeline entry that printed it."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        event = self.recorder.step
        if event is not None:
            event.printed.extend(lines)
        return len(text)


def run_trusted(
    program: Program,
    seed: int,
    timeline: Timeline,
    watch: tuple[int, Callable[..., Any]] | None = None,
    *,
    steps: bool = True,
) -> ProgramRun:
    """Run the file under the recorder; its globals at the end are the run's names
    (`steps`: keep the timeline's entries, see `run_program`)."""
    import torch

    from autograd_cli.program.run import ProgramRun

    assert program.path is not None
    filename = os.path.abspath(program.path)
    code = compile(program.text, filename, "exec")
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "__file__": filename,
        "__builtins__": __builtins__,
    }
    sources = SourceMap()
    tracer: _Tracer
    recorder = Recorder(sources, lambda t: tracer.name_of(t))
    tracer = _Tracer(program, filename, recorder, timeline, steps, whole_file=True)
    recorder.watch = watch
    recorder.scope = namespace
    run = ProgramRun(program, namespace, timeline, sources, recorder)
    argv, path0 = sys.argv, sys.path[0] if sys.path else None
    sys.argv = [str(program.path)]
    if sys.path:
        sys.path[0] = os.path.dirname(filename)
    torch.manual_seed(seed)
    previous = sys.gettrace()  # a debugger's or coverage's, in a process that has one
    try:
        with recorder.active(), redirect_stdout(_Printed(recorder)):
            sys.settrace(tracer.global_trace)
            try:
                exec(code, namespace)  # the user's own file, run because they said --trust
            finally:
                replaced = tracer.replaced()
                sys.settrace(previous)
                tracer.finish()
                if replaced is not None:
                    run.warnings.append(replaced)
    except SystemExit as stop:
        status = stop.code
        run.exit_code = status if isinstance(status, int) else (0 if status is None else 1)
    except CliError:  # the tool's own, from a hook of its own (`backward` of a leaf)
        raise
    except Exception as error:  # the user's code raised: a failed program, as Python says
        line = _line_in(error, filename)
        run.error = ProgramFailed(
            f"line {line}: {type(error).__name__}: {error}",
            None,
            source=program.line(line),
            span=None,
        )
        from autograd_cli.program.run import failure_of

        timeline.failure = failure_of(program, run.error)
    finally:
        sys.argv = argv
        if path0 is not None:
            sys.path[0] = path0
    return run


def _line_in(error: BaseException, filename: str) -> int:
    """The last line of the file in the traceback: where the user's code failed."""
    line = 0
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == filename and frame.lineno is not None:
            line = frame.lineno
    return line


@contextmanager
def record(seed: int | None = None) -> Iterator[ProgramRun]:
    """Record the code inside a `with` block of your own (a notebook cell, a script, a
    test): the same recorder and line tracer as `--trust`, on the caller's own lines.

        with autograd_cli.record(seed=0) as run:
            loss = model(x).sum()
            loss.backward()
        autograd_cli.show_steps(run)

    `seed`: `torch.manual_seed(seed)` first (None: leave the generator as it is). The run's
    names are the caller's, read when asked.
    """
    import torch

    from autograd_cli.program.run import ProgramRun

    caller = sys._getframe(2)  # the generator's frame, contextmanager's __enter__, the caller
    filename = caller.f_code.co_filename
    lines = [line.rstrip("\n") for line in linecache.getlines(filename)]
    program = Program("\n".join(lines), filename, None, lines)
    timeline = Timeline(filename, 0 if seed is None else seed, True)
    sources = SourceMap()
    tracer: _Tracer
    recorder = Recorder(sources, lambda t: tracer.name_of(t))
    tracer = _Tracer(program, filename, recorder, timeline)
    recorder.scope = caller.f_locals
    run = ProgramRun(program, recorder.scope, timeline, sources, recorder)
    if seed is not None:
        torch.manual_seed(seed)
    previous = sys.gettrace()
    entry = caller.f_lineno  # the `with` line: leaving the block traces it once more
    with recorder.active():
        sys.settrace(tracer.global_trace)
        caller.f_trace = tracer.local_trace  # settrace reaches new frames only
        try:
            yield run
        finally:
            replaced = tracer.replaced()
            caller.f_trace = None
            sys.settrace(previous)
            tracer.finish()
            if replaced is not None:
                run.warnings.append(replaced)
            last = timeline.entries[-1] if timeline.entries else None
            if isinstance(last, StepEvent) and last.line == entry:
                timeline.entries.pop()
                timeline.statements -= 1
            recorder.scope = dict(caller.f_locals)
            run.scope = recorder.scope
