"""Expression text -> a validated tree, refusing everything outside the whitelist.

Python's own `ast` reads the text (never `eval`/`exec`); every ast node is then either
turned into one of the few node types below or refused, with the columns of the offending
part. Bounds on length and nesting are checked before and while `ast.parse` runs, so a
hostile text fails cleanly instead of exhausting the stack. Pure Python: no torch here.
"""

from __future__ import annotations

import ast
import difflib
import warnings
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from autograd_cli.errors import UsageError, did_you_mean, param
from autograd_cli.expr.whitelist import ATTRIBUTES, BINARY, FUNCTIONS, METHODS, UNARY, Function
from autograd_cli.records.source import Span

MAX_LENGTH = 10_000  # characters of one expression
MAX_DEPTH = 100  # levels of the syntax tree: 1+1+...+1 counts one per +
MAX_BRACKETS = 64  # open (, [ at once
MAX_INT = 2**63  # integers are torch's int64

ALLOWED_HINT = (
    "allowed: numbers, lists, variables, + - * / ** @, x[i], x[a:b], "
    "the functions in docs/expressions.md"
)

_REFUSED_OPERATORS = {
    "FloorDiv": "//",
    "Mod": "%",
    "LShift": "<<",
    "RShift": ">>",
    "BitOr": "|",
    "BitXor": "^",
    "BitAnd": "&",
    "Not": "not",
    "Invert": "~",
}

_REFUSED_NODES = {
    "Lambda": "lambdas",
    "ListComp": "comprehensions",
    "SetComp": "comprehensions",
    "DictComp": "comprehensions",
    "GeneratorExp": "generator expressions",
    "JoinedStr": "f-strings",
    "FormattedValue": "f-strings",
    "Compare": "comparisons",
    "BoolOp": "`and` / `or`",
    "IfExp": "conditional expressions",
    "Dict": "dicts",
    "Set": "sets",
    "NamedExpr": "assignments (:=)",
    "Starred": "starred arguments (*args)",
    "Await": "await",
    "Yield": "yield",
    "YieldFrom": "yield",
}


@dataclass(frozen=True, eq=False)  # eq=False: nodes hash by identity, for per-node caches
class Node:
    span: Span  # columns [start, end) in the source text


@dataclass(frozen=True, eq=False)
class Number(Node):
    value: int | float | bool


@dataclass(frozen=True, eq=False)
class String(Node):
    """Only where a function takes a string: reduction='sum', p='fro'."""

    value: str


@dataclass(frozen=True, eq=False)
class Name(Node):
    id: str


@dataclass(frozen=True, eq=False)
class Items(Node):
    """A list or tuple: tensor data `[[1., 2.]]`, a shape `(2, 3)`, dims `(0, 1)`."""

    items: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True, eq=False)
class Binary(Node):
    op: str
    left: Node
    right: Node
    op_span: Span


@dataclass(frozen=True, eq=False)
class Call(Node):
    """`f(a, k=b)` or `a.f(k=b)`; for a method call the receiver is `args[0]`."""

    function: Function
    args: tuple[Node, ...]
    kwargs: tuple[tuple[str, Node], ...]
    name_span: Span
    method: bool


@dataclass(frozen=True, eq=False)
class Attribute(Node):
    value: Node
    name: str


@dataclass(frozen=True, eq=False)
class Slice(Node):
    lower: Node | None
    upper: Node | None
    step: Node | None


@dataclass(frozen=True, eq=False)
class Index(Node):
    """`x[0]`, `x[1:3]`, `x[:, 0]`: plain indexing and slicing only."""

    value: Node
    items: tuple[Node, ...]


def refuse(message: str, span: Span, hint: str | None = ALLOWED_HINT) -> UsageError:
    return UsageError(message, hint, span=span)


def split_named(raw: str, what: str, example: str) -> tuple[str, int]:
    """`NAME=EXPR`, as the parameter `what` (`var`, `expect`) takes it -> (NAME, the column
    where EXPR starts). The one reading of a named expression: refused without `=` or with
    nothing on either side of it; `example` shows one that works."""
    head, sep, tail = raw.partition("=")
    name = head.strip()
    if not sep or not name or not tail.strip():
        raise UsageError(
            f"{param(what)} takes NAME=EXPR",
            f"for example {param(what)} {example}",
            source=raw,
            span=(0, max(len(raw), 1)),
        )
    return name, len(head) + 1


def closest(word: str, candidates: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return match[0] if match else None


def suggestion(word: str, candidates: Iterable[str], fallback: str | None) -> str | None:
    near = closest(word, candidates)
    return did_you_mean([near]) if near else fallback


def parse(source: str, names: Collection[str] = (), start: int = 0) -> Node:
    """Parse `source[start:]` with `names` defined; spans are columns of `source`.

    `start` lets `--var z=x@w` report columns of the whole option value. Errors carry
    `source`, so they can be shown with a caret under the offending part.
    """
    try:
        return _Converter(source, start, names).convert(_read(source, start))
    except UsageError as error:
        raise error.located(source) from None


def _read(source: str, start: int) -> ast.expr:
    """Check characters, length and bracket depth, then let `ast` read the text."""
    text = source[start:]
    for column, char in enumerate(text, start):
        if not (" " <= char <= "~" or char in "\t\n\r"):
            raise refuse(
                f"the character {char!r} (U+{ord(char):04X}) is not allowed",
                (column, column + 1),
                "expressions are plain ASCII: letters, digits, operators and brackets",
            )
    if not text.strip():
        raise refuse("the expression is empty", (start, start + 1), "for example: sum(x ** 2)")
    if len(text) > MAX_LENGTH:
        raise refuse(
            f"the expression is {len(text):,} characters long; the limit is {MAX_LENGTH:,}",
            (start + MAX_LENGTH, len(source)),
            f"define parts of it with {param('var')} NAME=EXPR",
        )
    _check_brackets(text, start)
    # Line breaks are only spacing in an expression; one line keeps columns simple.
    one_line = text.translate(str.maketrans("\t\n\r", "   "))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings ("1for") are not for the user
            tree = ast.parse(one_line, mode="eval")
    except SyntaxError as error:
        raise refuse(_syntax_message(error.msg), _syntax_span(error, source, start)) from None
    except (RecursionError, MemoryError):
        raise refuse(
            "the expression is nested too deeply to read",
            (start, len(source)),
            f"split it with {param('var')} NAME=EXPR",
        ) from None
    _check_depth(tree.body, start)
    return tree.body


def _syntax_message(msg: str) -> str:
    return "invalid syntax" if msg == "invalid syntax" else f"invalid syntax: {msg}"


def _syntax_span(error: SyntaxError, source: str, start: int) -> Span:
    """Python's 1-based offsets; none (0) means the text ended too early."""
    offset, end = error.offset or 0, error.end_offset or 0
    if offset < 1:
        return (len(source), len(source) + 1)
    column = start + offset - 1
    return (column, start + end - 1 if end > offset else column + 1)


def _check_brackets(text: str, start: int) -> None:
    depth = 0
    quote: str | None = None
    for column, char in enumerate(text, start):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
            if depth > MAX_BRACKETS:
                raise refuse(
                    f"brackets are nested more than {MAX_BRACKETS} deep",
                    (column, column + 1),
                    f"split the expression with {param('var')} NAME=EXPR",
                )
        elif char in ")]}":
            depth -= 1


def _check_depth(root: ast.AST, start: int) -> None:
    """Walk with a stack, so the check itself cannot overflow the one it guards."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            span = _span(node, start) if isinstance(node, ast.expr) else (start, start + 1)
            raise refuse(
                f"the expression is nested more than {MAX_DEPTH} levels deep",
                span,
                f"split it with {param('var')} NAME=EXPR",
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _span(node: ast.expr | ast.keyword, start: int) -> Span:
    end = node.end_col_offset if node.end_col_offset is not None else node.col_offset + 1
    return (node.col_offset + start, end + start)


class _Converter:
    """ast -> Node, recursively: safe, as `_check_depth` has bounded the depth."""

    def __init__(self, source: str, start: int, names: Collection[str]) -> None:
        self.source = source
        self.start = start
        self.names = names

    def span(self, node: ast.expr | ast.keyword) -> Span:
        return _span(node, self.start)

    def convert(self, node: ast.expr, string_ok: bool = False) -> Node:
        span = self.span(node)
        match node:
            case ast.Constant(value=value):
                return self.constant(value, span, string_ok)
            case ast.Name(id=name):
                return self.name(name, span)
            case ast.List(elts=elts) | ast.Tuple(elts=elts):
                return Items(span, tuple(self.convert(e) for e in elts))
            case ast.UnaryOp(op=op, operand=operand):
                symbol = UNARY.get(type(op).__name__)
                if symbol is None:
                    raise self.operator(op, (span[0], span[0] + 1))
                return Unary(span, symbol, self.convert(operand))
            case ast.BinOp(left=left, op=op, right=right):
                return self.binary(node, left, op, right)
            case ast.Call():
                return self.call(node)
            case ast.Attribute(value=value, attr=attr):
                return self.attribute(value, attr, span)
            case ast.Subscript(value=value, slice=index):
                items = index.elts if isinstance(index, ast.Tuple) else [index]
                return Index(span, self.convert(value), tuple(self.index(i) for i in items))
        what = _REFUSED_NODES.get(type(node).__name__, f"`{type(node).__name__}` expressions")
        raise refuse(f"{what} are not allowed", span)

    def constant(self, value: object, span: Span, string_ok: bool) -> Node:
        if isinstance(value, bool | float):
            return Number(span, value)
        if isinstance(value, int):
            if abs(value) >= MAX_INT:
                raise refuse(
                    f"the integer {value:.3e} does not fit in 64 bits",
                    span,
                    "write it as a float, e.g. 1e20",
                )
            return Number(span, value)
        if isinstance(value, str):
            if string_ok:
                return String(span, value)
            raise refuse("a string is only allowed as reduction= or a norm's p", span)
        what = {"NoneType": "None", "ellipsis": "`...`", "complex": "complex numbers"}
        kind = type(value).__name__
        raise refuse(f"{what.get(kind, kind)} is not allowed", span)

    def name(self, name: str, span: Span) -> Name:
        if name in self.names:
            return Name(span, name)
        if name.startswith("_"):
            raise refuse(f"unknown name '{name}'", span, "names starting with _ are never allowed")
        if name in FUNCTIONS:
            raise refuse(f"'{name}' is a function: call it, as {name}(x)", span, None)
        defined = ", ".join(self.names) if self.names else "none yet"
        fallback = f"define it with {param('var')} {name}=EXPR (defined: {defined})"
        raise refuse(f"unknown name '{name}'", span, suggestion(name, self.names, fallback))

    def operator(self, op: ast.AST, span: Span) -> UsageError:
        symbol = _REFUSED_OPERATORS.get(type(op).__name__, type(op).__name__)
        return refuse(f"the operator '{symbol}' is not allowed", span)

    def binary(self, node: ast.BinOp, left: ast.expr, op: ast.operator, right: ast.expr) -> Binary:
        # ast gives no column for the operator itself: find it between the operands.
        gap_start, gap_end = self.span(left)[1], self.span(right)[0]
        symbol = BINARY.get(type(op).__name__) or _REFUSED_OPERATORS.get(type(op).__name__, "")
        found = self.source.find(symbol, gap_start, gap_end) if symbol else -1
        op_span = (found, found + len(symbol)) if found >= 0 else self.span(node)
        if type(op).__name__ not in BINARY:
            raise self.operator(op, op_span)
        return Binary(
            self.span(node),
            BINARY[type(op).__name__],
            self.convert(left),
            self.convert(right),
            op_span,
        )

    def attribute(self, value: ast.expr, attr: str, span: Span) -> Attribute:
        converted = self.convert(value)  # first, so the leftmost problem is reported
        if attr not in ATTRIBUTES:
            raise self.unknown_attribute(attr, (span[1] - len(attr), span[1]), called=False)
        return Attribute(span, converted, attr)

    def unknown_attribute(self, attr: str, span: Span, called: bool) -> UsageError:
        if attr.startswith("_"):
            return refuse(
                f"the attribute '{attr}' is not allowed",
                span,
                "names starting with _ are never allowed",
            )
        if called and attr in FUNCTIONS:
            return refuse(f"'{attr}' is not a tensor method: call it as {attr}(x, ...)", span, None)
        if not called and attr in METHODS:
            return refuse(f"'{attr}' is a method: call it, as x.{attr}()", span, None)
        known = sorted(METHODS) if called else sorted(ATTRIBUTES)
        fallback = "the only attribute is .T" if not called else ALLOWED_HINT
        kind = "method" if called else "attribute"
        return refuse(f"unknown {kind} '{attr}'", span, suggestion(attr, known, fallback))

    def call(self, node: ast.Call) -> Call:
        span = self.span(node)
        func = node.func
        method = isinstance(func, ast.Attribute)
        if isinstance(func, ast.Attribute):
            receiver: list[Node] = [self.convert(func.value)]  # leftmost problem first
            name_span = (self.span(func)[1] - len(func.attr), self.span(func)[1])
            if func.attr not in METHODS:
                raise self.unknown_attribute(func.attr, name_span, called=True)
            function = FUNCTIONS[func.attr]
        elif isinstance(func, ast.Name):
            name_span = self.span(func)
            function = self.function(func.id, name_span)
            receiver = []
        else:
            raise refuse("only named functions can be called", self.span(func))
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise refuse("starred arguments (*args) are not allowed", self.span(arg))
        bound = self.bind(function, len(receiver) + len(node.args), node, span)
        args = receiver + [
            self.convert(a, bound[i] in function.strings)
            for i, a in enumerate(node.args, len(receiver))
        ]
        kwargs = tuple(
            (kw.arg, self.convert(kw.value, kw.arg in function.strings))
            for kw in node.keywords
            if kw.arg is not None
        )
        return Call(span, function, tuple(args), kwargs, name_span, method)

    def function(self, name: str, span: Span) -> Function:
        if name in FUNCTIONS:
            return FUNCTIONS[name]
        if name in self.names:
            raise refuse(f"'{name}' is a variable, not a function", span, None)
        if name.startswith("_"):
            raise refuse(
                f"unknown function '{name}'", span, "names starting with _ are never allowed"
            )
        raise refuse(f"unknown function '{name}'", span, suggestion(name, FUNCTIONS, ALLOWED_HINT))

    def bind(self, function: Function, positional: int, node: ast.Call, span: Span) -> list[str]:
        """Check arity and keyword names as Python would; return each positional's param."""
        params = list(function.params)
        if positional > len(params):
            if function.varargs is None:
                extra = node.args[len(params) - positional]
                count = f"{len(params)} argument{'s' if len(params) != 1 else ''}"
                raise refuse(
                    f"{function.name} takes at most {count}",
                    self.span(extra),
                    f"usage: {function.usage()}",
                )
            params += [function.varargs] * (positional - len(params))
        given = set(params[:positional])
        for kw in node.keywords:
            if kw.arg is None:
                raise refuse("**kwargs are not allowed", self.span(kw))
            known = function.params + function.kwonly
            if kw.arg not in known or kw.arg in given:
                problem = "is given twice" if kw.arg in given else "is not an argument"
                hint = suggestion(kw.arg, known, f"usage: {function.usage()}")
                raise refuse(f"'{kw.arg}' {problem} of {function.name}", self.span(kw), hint)
            given.add(kw.arg)
        missing = [p for p in function.params[: function.required] if p not in given]
        if function.varargs and positional < function.required:
            missing.append(function.varargs)
        if missing:
            need = missing[0]
            raise refuse(f"{function.name} needs {need}", span, f"usage: {function.usage()}")
        return params[:positional]

    def index(self, node: ast.expr) -> Node:
        if isinstance(node, ast.Slice):
            parts = (node.lower, node.upper, node.step)
            lower, upper, step = (self.convert(p) if p else None for p in parts)
            return Slice(self.span(node), lower, upper, step)
        if isinstance(node, ast.List | ast.Tuple | ast.Starred):
            raise refuse(
                "only plain indexing and slicing are allowed",
                self.span(node),
                "for example x[0], x[1:3], x[:, 0]",
            )
        return self.convert(node)
