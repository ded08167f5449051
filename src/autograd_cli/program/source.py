"""A program's text: read from a file, standard input or `--code`, parsed, and checked.

The checker walks the whole syntax tree before a single statement runs, so a program that
uses anything outside the whitelist is refused with its line, whatever branch it sits
in. Names are checked too: a dotted name that starts at an import (`torch.load`,
`F.conv9d`) is resolved against the whitelist here, and so is every attribute name.
"""

from __future__ import annotations

import ast
import sys
import textwrap
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from autograd_cli.errors import UsageError, param
from autograd_cli.expr.parser import suggestion
from autograd_cli.program import whitelist as wl

#: The most characters a program may have (a trusted file has no bound).
MAX_PROGRAM_CHARS = 200_000
#: The deepest syntax tree (statements and expressions nested) a program may have.
MAX_DEPTH = 200
#: Brackets open at once, checked before Python's parser (whose recursion it guards).
MAX_BRACKETS = 64


@dataclass(frozen=True)
class Program:
    """The text of a program and where it came from."""

    text: str
    name: str  # the file's path as given, `<stdin>` or `<code>`
    path: Path | None = None  # the file, when there is one
    lines: list[str] = field(default_factory=list, compare=False)

    def line(self, number: int) -> str:
        """Line `number` (1-based), without its line break; "" past the end."""
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""


def from_text(text: str, name: str, path: Path | None = None) -> Program:
    """A program from its text: pasted indentation (a block copied out of a function or a
    notebook) is removed, as the lines keep their numbers."""
    text = textwrap.dedent(text.replace("\r\n", "\n"))
    return Program(text, name, path, text.split("\n"))


#: The seed lesson's code cells, shipped unmodified inside the package (`lessons/`).
LESSON_FILE = "lesson5.py"
#: The cell of the lesson that runs the network's backward and prints the gradients.
BACKWARD_CELL = "loss.backward()"

#: How much of the lesson a command runs: the cells before its backward cell (the graph
#: `loss.backward()` will run, alive: `graph`), up to and with it (`grad`, `why`,
#: `backward`), or every cell (`step`).
LessonPart = Literal["forward", "backward", "all"]


def lesson_program(part: LessonPart = "all") -> Program:
    """The seed lesson as a program, the notebook's cells (separated by blank lines) up to
    `part`; a prefix keeps every line's number."""
    from importlib.resources import files

    text = files("autograd_cli").joinpath("lessons", LESSON_FILE).read_text("utf-8")
    if part != "all":
        cells = text.split("\n\n")
        end = next(i for i, cell in enumerate(cells) if BACKWARD_CELL in cell)
        text = "\n\n".join(cells[: end + (part == "backward")]) + "\n"
    return from_text(text, LESSON_FILE)


def read_program(file: str | None, code: str | None) -> Program:
    """`--file FILE` (`-` for standard input) or `--code TEXT`: exactly one of them."""
    if code is not None:
        return from_text(code, "<code>")
    assert file is not None
    if file == "-":
        return from_text(sys.stdin.read(), "<stdin>")
    path = Path(file)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"no such file: {file}", "give the path of a Python file") from None
    except IsADirectoryError:
        raise UsageError(f"{file} is a directory", "give the path of a Python file") from None
    except OSError as error:
        raise UsageError(f"cannot read {file}: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{file} is not UTF-8 text (byte {error.start})", "save the file as UTF-8"
        ) from None
    return from_text(text, file, path)


def parse_program(program: Program, *, bounded: bool = True) -> ast.Module:
    """Python's own parser, behind bounds on size and nesting when `bounded`."""
    if bounded:
        if len(program.text) > MAX_PROGRAM_CHARS:
            raise UsageError(
                f"{program.name} has {len(program.text):,} characters; the limit is "
                f"{MAX_PROGRAM_CHARS:,}",
                f"split it, or run your own file as Python with {param('trust')}",
            )
        _check_brackets(program)
    if "\x00" in program.text:
        raise at(
            program,
            program.text[: program.text.index("\x00")].count("\n") + 1,
            None,
            "the program holds a NUL character",
            "save it as plain text",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings are not the user's business here
            tree = ast.parse(program.text, filename=program.name)
    except SyntaxError as error:
        line = error.lineno or 1
        start = (error.offset or 1) - 1
        end = (error.end_offset or error.offset or 1) - 1
        span = (start, max(end, start + 1)) if error.end_lineno in (None, line) else None
        raise at(program, line, span, f"invalid syntax: {error.msg}", None) from None
    except (RecursionError, MemoryError):
        raise UsageError(
            f"{program.name} is nested too deeply to read", "split the expressions"
        ) from None
    return tree


def at(
    program: Program, line: int, span: tuple[int, int] | None, message: str, hint: str | None
) -> UsageError:
    """A usage error about line `line` (with the columns `span` underlined, when known);
    without a hint of its own, the one every refusal of a program shares."""
    code = program.line(line)
    return UsageError(
        f"line {line}: {message}", hint or REFUSED_HINT, source=code if span else None, span=span
    )


def node_span(node: ast.AST) -> tuple[int, int] | None:
    """The columns of a node on its first line (to the line's end when it spans more)."""
    start = getattr(node, "col_offset", None)
    if start is None:
        return None
    same_line = getattr(node, "end_lineno", None) == getattr(node, "lineno", None)
    end = getattr(node, "end_col_offset", None) if same_line else None
    return (start, end if end is not None else start + 1)


def node_focus(node: ast.AST) -> int | None:
    """The column of a node's own operator, on its first line: the gap after the left
    operand of `a * b` (and of a comparison), the name of a call (`F.relu` -> `relu`)."""
    if isinstance(node, ast.BinOp | ast.Compare):
        left = node.left
        if left.end_lineno == node.lineno and left.end_col_offset is not None:
            return left.end_col_offset
    elif isinstance(node, ast.Call):
        func = node.func
        if func.end_lineno == node.lineno and func.end_col_offset is not None:
            name = func.attr if isinstance(func, ast.Attribute) else ""
            return func.end_col_offset - len(name)
    return None


def _check_brackets(program: Program) -> None:
    depth = 0
    for number, line in enumerate(program.lines, 1):
        for column, char in enumerate(line):
            if char in "([{":
                depth += 1
                if depth > MAX_BRACKETS:
                    raise at(
                        program,
                        number,
                        (column, column + 1),
                        f"brackets are nested more than {MAX_BRACKETS} deep",
                        "name parts of the expression",
                    )
            elif char in ")]}":
                depth = max(depth - 1, 0)
            elif char == "#":
                break


# --- the checker ------------------------------------------------------------------------

#: The hint of a refusal that has none of its own.
REFUSED_HINT = f"docs/programs.md lists what a program may contain; {wl.TRUST_HINT}"

_STATEMENTS = (
    ast.Import,
    ast.ImportFrom,
    ast.Assign,
    ast.AugAssign,
    ast.Expr,
    ast.Pass,
    ast.With,
    ast.For,
    ast.If,
    ast.Assert,
    ast.Delete,
    ast.Break,
    ast.Continue,
)
_REFUSED_STATEMENTS = {
    "FunctionDef": ("`def` (functions) is not interpreted", wl.TRUST_HINT),
    "AsyncFunctionDef": ("`async def` is not interpreted", wl.TRUST_HINT),
    "ClassDef": ("`class` is not interpreted", wl.TRUST_HINT),
    "While": (
        "`while` loops are not interpreted: they have no bound",
        "use `for i in range(N):`, or " + wl.TRUST_HINT,
    ),
    "Try": ("`try` is not interpreted", wl.TRUST_HINT),
    "TryStar": ("`try` is not interpreted", wl.TRUST_HINT),
    "Raise": ("`raise` is not interpreted", "use `assert CONDITION, 'message'`"),
    "Return": ("`return` outside a function", None),
    "Global": ("`global` is not interpreted", None),
    "Nonlocal": ("`nonlocal` is not interpreted", None),
    "AnnAssign": ("annotated assignments are not interpreted", "write `name = value`"),
    "Match": ("`match` is not interpreted", wl.TRUST_HINT),
    "AsyncFor": ("`async for` is not interpreted", None),
    "AsyncWith": ("`async with` is not interpreted", None),
}
_EXPRESSIONS = (
    ast.Constant,
    ast.Name,
    ast.Attribute,
    ast.Call,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.BoolOp,
    ast.IfExp,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.List,
    ast.Tuple,
    ast.Subscript,
    ast.Slice,
    ast.keyword,
    ast.alias,
    ast.withitem,
    ast.arguments,
    ast.expr_context,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.boolop,
)
_REFUSED_EXPRESSIONS = {
    "Lambda": "`lambda` is not interpreted",
    "ListComp": "comprehensions are not interpreted",
    "SetComp": "comprehensions are not interpreted",
    "DictComp": "comprehensions are not interpreted",
    "GeneratorExp": "generator expressions are not interpreted",
    "Dict": "dicts are not interpreted",
    "Set": "sets are not interpreted",
    "NamedExpr": "`:=` is not interpreted",
    "Starred": "starred expressions (*args) are not interpreted",
    "Await": "`await` is not interpreted",
    "Yield": "`yield` is not interpreted",
    "YieldFrom": "`yield` is not interpreted",
}
_REFUSED_OPERATORS = {
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Invert: "~",
    ast.In: "in",
    ast.NotIn: "not in",
}
#: `import X [as Y]` and `from X import Y [as Z]`: what each import may bind.
_IMPORTABLE = {"torch", "torch.nn", "torch.nn.functional", "torch.autograd", "torch.optim"}


@dataclass
class Checked:
    """What the checker learnt: the names imports bind, as namespace paths."""

    imports: dict[str, str] = field(default_factory=dict)  # "F" -> "torch.nn.functional"


def check_program(program: Program, tree: ast.Module, known: set[str] | None = None) -> Checked:
    """Refuse anything outside the whitelist, with its line; walk with an explicit stack.

    `known`: names bound before this text runs (a program's, for `--expect`)."""
    checked = Checked()
    assigned = _assigned_names(tree) | (known or set())
    readable = assigned | set(wl.BUILTINS)
    attributes = wl.attribute_names()
    stack: list[tuple[ast.AST, int]] = [(statement, 1) for statement in reversed(tree.body)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _refuse(program, node, f"the program is nested more than {MAX_DEPTH} deep", None)
        kind = type(node).__name__
        if isinstance(node, ast.stmt):
            if kind in _REFUSED_STATEMENTS:
                message, hint = _REFUSED_STATEMENTS[kind]
                raise _refuse(program, node, message, hint)
            if not isinstance(node, _STATEMENTS):
                raise _refuse(program, node, f"`{kind}` statements are not interpreted", None)
            if isinstance(node, ast.Import | ast.ImportFrom):
                _check_import(program, node, checked)
            elif isinstance(node, ast.With):
                for item in node.items:
                    if item.optional_vars is not None:
                        raise _refuse(
                            program,
                            item.optional_vars,
                            "`with ... as NAME` is not interpreted",
                            "grad modes need no name: `with torch.no_grad():`",
                        )
            elif isinstance(node, ast.For) and node.orelse:
                raise _refuse(program, node, "`for ... else` is not interpreted", None)
        elif kind in _REFUSED_EXPRESSIONS:
            raise _refuse(program, node, _REFUSED_EXPRESSIONS[kind], wl.TRUST_HINT)
        elif not isinstance(node, _EXPRESSIONS):
            raise _refuse(program, node, f"`{kind}` is not interpreted", None)
        else:
            _check_expression(program, node, checked, assigned, readable, attributes)
        stack.extend((child, depth + 1) for child in reversed(_children(node)))
    return checked


#: Nodes that only tag their parent (`Load`, `+`, `<`, `and`): the parent's check covers them.
_TAGS = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)


def _children(node: ast.AST) -> list[ast.AST]:
    """`ast.iter_child_nodes` without the tags, which make half of a program's nodes."""
    found: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, list):
            found += [v for v in value if isinstance(v, ast.AST) and not isinstance(v, _TAGS)]
        elif isinstance(value, ast.AST) and not isinstance(value, _TAGS):
            found.append(value)
    return found


def _refuse(program: Program, node: ast.AST, message: str, hint: str | None) -> UsageError:
    return at(program, getattr(node, "lineno", 1), node_span(node), message, hint)


def _assigned_names(tree: ast.Module) -> set[str]:
    """Every name the program binds anywhere (assignment, loop, import)."""
    names: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        stack += _children(node)
    return names


def _check_import(program: Program, node: ast.Import | ast.ImportFrom, checked: Checked) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name not in _IMPORTABLE:
                raise _refuse(
                    program,
                    node,
                    f"`import {alias.name}` is not allowed",
                    "programs import torch only (torch, torch.nn, torch.nn.functional, "
                    "torch.optim, torch.autograd); " + wl.TRUST_HINT,
                )
            if alias.asname:
                checked.imports[alias.asname] = alias.name
            else:
                checked.imports["torch"] = "torch"
        return
    module = node.module or ""
    for alias in node.names:
        full = f"{module}.{alias.name}"
        if (
            node.level
            or module not in _IMPORTABLE
            or alias.name == "*"
            or not (full in _IMPORTABLE or alias.name in wl.members(module))
        ):
            raise _refuse(
                program,
                node,
                f"`from {module} import {alias.name}` is not allowed",
                "programs import torch only: `from torch import nn`, "
                "`import torch.nn.functional as F`; " + wl.TRUST_HINT,
            )
        checked.imports[alias.asname or alias.name] = full


def _check_expression(
    program: Program,
    node: ast.AST,
    checked: Checked,
    assigned: set[str],
    readable: set[str],
    attributes: frozenset[str],
) -> None:
    """`assigned`: the names the program binds; `readable`: those and the builtins."""
    if isinstance(node, ast.Name):
        if node.id.startswith("__"):
            raise _refuse(
                program,
                node,
                f"the name '{node.id}' is not allowed",
                "names starting with __ are never allowed",
            )
        if isinstance(node.ctx, ast.Load) and node.id not in readable:
            raise _refuse(
                program,
                node,
                f"unknown name '{node.id}'",
                suggestion(node.id, readable, "assign it first, or import torch"),
            )
    elif isinstance(node, ast.Attribute):
        span = node_span(node)
        if span is not None and node.end_col_offset is not None and span[1] == node.end_col_offset:
            span = (node.end_col_offset - len(node.attr), node.end_col_offset)
        line = getattr(node, "lineno", 1)
        if node.attr.startswith("_"):
            raise at(
                program,
                line,
                span,
                f"the attribute '{node.attr}' is not allowed",
                "names starting with _ are never allowed",
            )
        if node.attr in wl.REFUSED_ATTRIBUTES:
            message, hint = wl.REFUSED_ATTRIBUTES[node.attr]
            raise at(program, line, span, message, hint)
        path = _dotted(node, checked, assigned)
        if path is not None:
            base, _, name = path.rpartition(".")
            if name not in wl.members(base):
                raise at(
                    program,
                    line,
                    span,
                    f"'{path}' is not in the whitelist",
                    suggestion(
                        name, wl.members(base), f"see docs/programs.md for what {base} offers"
                    ),
                )
        elif node.attr not in attributes:
            raise at(
                program,
                line,
                span,
                f"unknown attribute '{node.attr}'",
                suggestion(node.attr, attributes, "see docs/programs.md"),
            )
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, complex | bytes):
            raise _refuse(
                program, node, f"{type(node.value).__name__} values are not allowed", None
            )
    elif isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg is None:
                raise _refuse(program, keyword, "**kwargs are not interpreted", None)
    elif isinstance(node, ast.BinOp | ast.UnaryOp) and type(node.op) in _REFUSED_OPERATORS:
        raise _refuse(
            program,
            node,
            f"the operator '{_REFUSED_OPERATORS[type(node.op)]}' is not interpreted",
            None,
        )
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) in _REFUSED_OPERATORS:
                raise _refuse(
                    program,
                    node,
                    f"the operator '{_REFUSED_OPERATORS[type(op)]}' is not interpreted",
                    None,
                )
    elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
        spec = node.format_spec
        if not all(isinstance(v, ast.Constant) for v in getattr(spec, "values", [])):
            raise _refuse(program, node, "a format spec must be written out (`{x:.4f}`)", None)


def _dotted(node: ast.Attribute, checked: Checked, assigned: set[str]) -> str | None:
    """`torch.nn.functional.relu` as a namespace path, when it starts at an import that no
    assignment rebinds; None for any other attribute (a tensor's, a node's)."""
    parts = [node.attr]
    value: ast.expr = node.value
    while isinstance(value, ast.Attribute):
        parts.append(value.attr)
        value = value.value
    if not isinstance(value, ast.Name) or value.id not in checked.imports:
        return None
    if value.id in assigned - set(checked.imports):
        return None
    base = checked.imports[value.id]
    return ".".join([base, *reversed(parts)])
