"""The expression parser: what it accepts, where it points when it refuses, and that any
text at all either parses into the whitelist or fails with a located UsageError."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_cli.errors import UsageError
from autograd_cli.expr.parser import (
    MAX_BRACKETS,
    MAX_DEPTH,
    Attribute,
    Binary,
    Call,
    Index,
    Items,
    Name,
    Node,
    Number,
    Slice,
    String,
    Unary,
    parse,
)
from autograd_cli.expr.whitelist import ATTRIBUTES, BINARY, FUNCTIONS, UNARY

NAMES = ("x", "w", "b")


def children(node: Node) -> list[Node]:
    match node:
        case Items(items=items) | Index(items=items):
            return [*([node.value] if isinstance(node, Index) else []), *items]
        case Unary(operand=operand):
            return [operand]
        case Binary(left=left, right=right):
            return [left, right]
        case Call(args=args, kwargs=kwargs):
            return [*args, *(v for _, v in kwargs)]
        case Attribute(value=value):
            return [value]
        case Slice(lower=lower, upper=upper, step=step):
            return [p for p in (lower, upper, step) if p is not None]
    return []


def walk(root: Node) -> Iterator[Node]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(children(node))


def assert_whitelisted(tree: Node, source: str) -> None:
    """Every node is one the evaluator knows, built only from whitelisted parts."""
    for node in walk(tree):
        start, end = node.span
        assert 0 <= start < end <= len(source)
        match node:
            case Call(function=function):
                assert FUNCTIONS[function.name] is function
            case Attribute(name=name):
                assert name in ATTRIBUTES
            case Name(id=name):
                assert name in NAMES
            case Binary(op=op):
                assert op in BINARY.values()
            case Unary(op=op):
                assert op in UNARY.values()
            case Number() | String() | Items() | Index() | Slice():
                pass
            case _:
                raise AssertionError(f"unexpected node {node!r}")


def refusal(text: str, names: tuple[str, ...] = NAMES) -> UsageError:
    with pytest.raises(UsageError) as caught:
        parse(text, names)
    error = caught.value
    assert error.source == text and error.span is not None
    return error


def pointed(text: str) -> str:
    """The part of `text` the refusal underlines."""
    error = refusal(text)
    assert error.span is not None
    return text[error.span[0] : error.span[1]]


def test_accepts_the_documented_language() -> None:
    for text in (
        "sum(x ** 2)",
        "x.sum(0, keepdim=True) + mean(w, dim=(0, 1))",
        "binary_cross_entropy_with_logits(x @ w + b, zeros(3), reduction='sum')",
        "tensor([[1., 2.], [3., 4.]]).T @ x[:2]",
        "-x[1:, ::2].clamp(min=0) / 2 + +True",
        "softmax(x, dim=-1).log_softmax(0)",
        "norm(x, 'fro') * x.norm()",
    ):
        assert_whitelisted(parse(text, NAMES), text)


def test_spans_cover_the_text_of_each_node() -> None:
    text = "sum(sin(x) * w)"
    tree = parse(text, NAMES)
    assert isinstance(tree, Call)
    spans = {text[n.span[0] : n.span[1]] for n in walk(tree)}
    assert {"sum(sin(x) * w)", "sin(x) * w", "sin(x)", "x", "w"} <= spans
    product = tree.args[0]
    assert isinstance(product, Binary) and text[slice(*product.op_span)] == "*"


def test_spans_of_a_var_are_columns_of_the_whole_option() -> None:
    tree = parse("z=x @ w", NAMES, start=2)
    assert isinstance(tree, Binary) and tree.span == (2, 7)
    with pytest.raises(UsageError) as caught:
        parse("z=x @ q", NAMES, start=2)
    assert caught.value.span == (6, 7) and caught.value.source == "z=x @ q"


def test_method_calls_put_the_receiver_first() -> None:
    tree = parse("x.sum(0)", NAMES)
    assert isinstance(tree, Call) and tree.method
    assert isinstance(tree.args[0], Name) and tree.args[0].id == "x"
    assert isinstance(tree.args[1], Number) and tree.args[1].value == 0


@pytest.mark.parametrize(
    ("text", "part", "message"),
    [
        ("sinn(x)", "sinn", "unknown function 'sinn'"),
        ("x + ww", "ww", "unknown name 'ww'"),
        ("x // 2", "//", "operator '//'"),
        ("x.grad", "grad", "unknown attribute 'grad'"),
        ("x.softplus()", "softplus", "not a tensor method"),
        ("sum(x, axis=0)", "axis=0", "'axis' is not an argument of sum"),
        ("sin(x, 1)", "1", "sin takes at most 1 argument"),
        ("lambda: x", "lambda: x", "lambdas are not allowed"),
        ("[a for a in x]", "[a for a in x]", "comprehensions"),
        ("f'{x}'", "f'{x}'", "f-strings"),
        ("x > 0", "x > 0", "comparisons"),
        ("x[[0, 1]]", "[0, 1]", "plain indexing"),
        ("sum(*x)", "*x", "starred"),
        ("mean(x, 'a')", "'a'", "string"),
        ("None", "None", "None is not allowed"),
        ("x(2)", "x", "'x' is a variable, not a function"),
        ("x.__class__", "__class__", "'__class__' is not allowed"),
    ],
)
def test_refusals_point_at_the_offending_part(text: str, part: str, message: str) -> None:
    error = refusal(text)
    assert message in error.message
    assert pointed(text) == part


def test_misspellings_suggest_the_closest_name() -> None:
    assert refusal("sum(sinn(x))").hint == "did you mean 'sin'?"
    assert refusal("x * bb", ("x", "b", "w")).hint == "did you mean 'b'?"
    assert refusal("x.summ()").hint == "did you mean 'sum'?"
    assert refusal("softmax(x, dimm=0)").hint == "did you mean 'dim'?"


def test_arity_and_required_arguments() -> None:
    assert "softmax needs dim" in refusal("softmax(x)").message
    assert "reshape needs shape" in refusal("reshape(x)").message
    assert "ones needs size" in refusal("ones()").message
    parse("softmax(x, dim=0)", NAMES)
    parse("reshape(x, 3, 1)", NAMES)


def test_bounds_are_checked_before_ast_runs_deep() -> None:
    deep = "(" * 10_000 + "x" + ")" * 10_000
    assert "characters long" in refusal(deep).message
    brackets = "(" * (MAX_BRACKETS + 1) + "x" + ")" * (MAX_BRACKETS + 1)
    assert "nested more than" in refusal(brackets).message
    assert "levels deep" in refusal("-" * (MAX_DEPTH + 5) + "x").message
    assert "levels deep" in refusal("+".join(["x"] * (MAX_DEPTH + 5))).message
    assert "nested too deeply" in refusal("-" * 9_000 + "x").message  # ast's own limit


def test_characters_empty_and_syntax() -> None:
    assert pointed("x * é") == "é"
    assert "plain ASCII" in (refusal("\u03c3(x)").hint or "")  # a Greek sigma
    assert "empty" in refusal("   ").message
    assert refusal("1 +").span == (3, 4)  # just past the end: the text stopped too early
    assert "never closed" in refusal("sum(x").message
    parse("sum(x\n + w)", NAMES)  # line breaks are only spacing


def test_integers_are_bounded_as_torch_bounds_them() -> None:
    assert "64 bits" in refusal(str(2**63)).message
    parse(str(2**63 - 1), NAMES)


TOKENS = [
    *NAMES,
    *list(FUNCTIONS)[::3],
    "q", "T", "_", "__class__", "__import__", "lambda", "for", "in", "if", "not", "import",
    "0", "1", "2.5", "1e9", "10**12", "'sum'", '"a"', "True", "None", "...",
    "+", "-", "*", "/", "**", "@", "//", "%", ".", ",", ":", "=", "==", "<", "&", "~",
    "(", ")", "[", "]", "{", "}", " ", "\n", "f'", "é", "\\", "#", ";", "!",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_token_soup_parses_into_the_whitelist_or_fails_cleanly(text: str) -> None:
    try:
        tree = parse(text, NAMES)
    except UsageError as error:
        assert error.source == text and error.span is not None
        assert 0 <= error.span[0] <= len(text) + 1
        assert error.message
    else:
        assert_whitelisted(tree, text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_into_the_whitelist_or_fails_cleanly(text: str) -> None:
    try:
        tree = parse(text, NAMES)
    except UsageError as error:
        assert error.source == text and error.span is not None
    else:
        assert_whitelisted(tree, text)
