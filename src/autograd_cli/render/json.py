"""JSON documents: the stable, scriptable form of every command's output.

One writer for every document: `data` turns the records the inspection layer filled into
JSON data, field by field (field names are the JSON names), with a `Rule` for the few
records whose JSON differs. The graph's document, which can hold millions of records, is
streamed a batch at a time and its records written straight to text from the same plans
(`_texts`), the bytes `json.dumps` of their data would write. A command's document is
`document(command, warnings, **fields)`.

Every document carries `"schema"`, `"command"`, `"version"` and `"warnings"`; docs/json.md
lists the fields. Two rules hold for every field: an optional one is always present (null
when it does not apply), and a number that is not finite is a string (`"NaN"`,
`"Infinity"`, `"-Infinity"`), never `null` and never a bare `NaN`.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from json.encoder import encode_basestring_ascii
from typing import Any

from autograd_cli import __version__
from autograd_cli.errors import CliWarning
from autograd_cli.gcpause import paused_gc
from autograd_cli.records.graph import EdgeRecord, GraphRecord, NodeRecord, SavedRecord
from autograd_cli.records.modules import ModuleRecord, ModuleStats, ParameterRecord, UpdateRecord
from autograd_cli.records.reports import AccumulationPlan, ModesReport, VariableGrad
from autograd_cli.records.schema import SCHEMA
from autograd_cli.records.source import Source
from autograd_cli.records.tensors import Summary
from autograd_cli.records.timeline import FoldedSteps, Ledger, StepEvent, Timeline
from autograd_cli.render.limits import ViewOptions, bounded
from autograd_cli.render.modules import ModuleRow
from autograd_cli.render.stream import batches


def document(command: str, warnings: Sequence[CliWarning] = (), **fields: object) -> dict[str, Any]:
    """The head every document shares, then `fields` (records or plain values) as data:
    `version` says which release wrote it, `warnings` what the command also said on
    stderr as `warning:` lines."""
    head = {"schema": SCHEMA, "command": command, "version": __version__}
    return {**head, "warnings": data(list(warnings)), **{k: data(v) for k, v in fields.items()}}


def dumps(doc: dict[str, Any] | list[Any]) -> str:
    """One compact JSON document on one line (so documents also stream as JSON Lines).

    NaN and inf, which strict JSON cannot hold, become the strings `"NaN"`, `"Infinity"`
    and `"-Infinity"` (docs/json.md says why); pipe through `jq` to read it.
    """
    try:
        return json.dumps(doc, separators=_COMPACT, allow_nan=False) + "\n"
    except ValueError:  # rare: only then pay for a walk over every value
        return json.dumps(_spelled(doc), separators=_COMPACT, allow_nan=False) + "\n"


_COMPACT = (",", ":")

#: How a number that is not finite is written: the spelling of protobuf's JSON mapping,
#: which `float()`, numpy's `astype(float)` and JavaScript's `Number()` all read back.
NONFINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _spelled(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return NONFINITE[repr(value)]
    if isinstance(value, dict):
        return {k: _spelled(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_spelled(v) for v in value]
    return value


# --- records as data --------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Where a record's JSON object is not its fields as they are: a JSON name that is not
    the field's, a field left out, a record field whose own fields stand in its place
    (the outer record's fields of the same name win), a property written too (after the
    fields), a tag naming the kind of a record that shares a list with records of other
    kinds."""

    names: Mapping[str, str] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    inline: frozenset[str] = frozenset()
    computed: Mapping[str, Callable[[Any], object]] = field(default_factory=dict)
    tag: tuple[str, str] | None = None


#: Every record whose JSON object differs from its fields; any other dataclass is written
#: field by field, names unchanged. docs/json.md documents the result.
RULES: dict[type, Rule] = {
    # `focus` only steers where a view crops a long span; the document holds the whole span
    Source: Rule(skip=frozenset({"focus"}), computed={"text": lambda s: s.text}),
    Summary: Rule(skip=frozenset({"values"})),  # written only when there are no values
    SavedRecord: Rule(names={"nbytes": "bytes"}),
    # a property by `attrgetter`: no Python call of its own for each of a million records
    NodeRecord: Rule(computed={"saved_bytes": operator.attrgetter("saved_bytes")}),
    EdgeRecord: Rule(
        names={"src": "from", "dst": "to"}, computed={"constant": operator.attrgetter("constant")}
    ),
    GraphRecord: Rule(skip=frozenset({"_out"}), computed={"ops": GraphRecord.ops}),
    ModuleRecord: Rule(names={"cls": "class"}, skip=frozenset({"signature"})),
    Timeline: Rule(names={"entries": "events"}),
    StepEvent: Rule(
        tag=("event", "statement"),
        skip=frozenset({"loop"}),
        computed={"loop": lambda e: dict(e.loop)},  # loop variable -> its value
    ),
    FoldedSteps: Rule(tag=("event", "folded")),
    Ledger: Rule(
        skip=frozenset({"rules"}),
        computed={"rules": lambda g: [{"rule": t, "holds": h} for t, h in g.rules]},
    ),
    ModesReport: Rule(names={"backward_code": "backward"}),
    AccumulationPlan: Rule(computed={"total": lambda p: p.total}),
    VariableGrad: Rule(inline=frozenset({"tensor"})),  # its properties, then its gradient
    ParameterRecord: Rule(
        names={"grad_max": "grad_max_abs"}, computed={"grad_weight_ratio": lambda p: p.ratio}
    ),
    UpdateRecord: Rule(computed={"ratio": lambda u: u.ratio}),
    ModuleStats: Rule(skip=frozenset({"module"}), computed={"module": lambda s: s.module.index}),
    ModuleRow: Rule(names={"cls": "class", "first": "module"}),
    CliWarning: Rule(
        computed={
            "code": lambda w: w.code,
            "message": lambda w: w.message,
            "hint": lambda w: w.hint,
        }
    ),
}


@dataclass(frozen=True)
class _Plan:
    """How one record type becomes a JSON object; made once per type.

    `fields` reads every field written in one call (an `attrgetter` of them all): as
    data, a record costs that call and a dict, plus a `data` call only for a field that
    is not a plain value (None, str, int, float, bool); as text, a batch of records costs
    that call each and one pass over each field's column (`_objects`).
    """

    names: tuple[str, ...]  # JSON names of the fields, the tag's key first if any
    fields: Callable[[Any], tuple[Any, ...]]
    tag: tuple[Any, ...]  # (the tag's value,) or ()
    computed: tuple[tuple[str, Callable[[Any], object]], ...]  # written after the fields
    inline: bool  # a name starting with INLINE is a record whose fields stand in its place
    #: The object's text around its values (`_objects`): before the first (the tag's key
    #: and value included), between each two, after the last, the computed ones last;
    #: None where the object is not one value per key in that order (inline records, a
    #: computed key that replaces a field's value).
    pieces: tuple[str, ...] | None


INLINE = "\0"
_plans: dict[type, _Plan] = {}
_PLAIN = (str, int, float, bool)
_SCALARS = frozenset(_PLAIN)  # exactly these types (a subclass, an IntEnum say, takes `data`)


def _plan(kind: type) -> _Plan:
    """The plan of one record type: its fields in order, its `Rule` applied."""
    rule = RULES.get(kind, Rule())
    names = [f.name for f in dataclasses.fields(kind)] if dataclasses.is_dataclass(kind) else []
    if not names and not rule.computed:
        raise TypeError(f"no JSON form for {kind.__name__}")
    kept = [name for name in names if name not in rule.skip]
    getter = operator.attrgetter(*kept) if kept else lambda _: ()
    json_names = ((rule.tag[0],) if rule.tag else ()) + tuple(
        INLINE + name if name in rule.inline else rule.names.get(name, name) for name in kept
    )
    keys = json_names + tuple(rule.computed)
    plan = _Plan(
        names=json_names,
        fields=(lambda r: (getter(r),)) if len(kept) == 1 else getter,
        tag=(rule.tag[1],) if rule.tag else (),
        computed=tuple(rule.computed.items()),
        inline=bool(rule.inline),
        pieces=None if rule.inline or len(set(keys)) < len(keys) else _pieces(keys, rule.tag),
    )
    _plans[kind] = plan
    return plan


def _pieces(keys: Sequence[str], tag: tuple[str, str] | None) -> tuple[str, ...]:
    """`{"a":`, `,"b":`, `}`: the text around the values of an object with these keys,
    written as `json.dumps` writes them, compact; the tag's value is not a value but text."""
    pieces = ["{"]
    for i, key in enumerate(keys):
        pieces[-1] += ("," if i else "") + encode_basestring_ascii(key) + ":"
        if tag is not None and i == 0:
            pieces[-1] += encode_basestring_ascii(tag[1])
        else:
            pieces.append("")
    pieces[-1] += "}"
    return tuple(pieces)


def data(value: object) -> Any:
    """Any record, or plain value holding records, as JSON data: a record is an object of
    its fields (its `Rule` applied), an enum its value, a tuple a list.

    Lists of numbers (tensor values) are passed through, not copied: `json.dumps` writes
    tuples as arrays too.
    """
    kind = type(value)
    plan = _plans.get(kind)  # a record seen before: straight to its fields
    if plan is None or kind is Summary:
        if value is None or isinstance(value, _PLAIN):
            return value
        if isinstance(value, list | tuple):
            if not value or isinstance(value[0], _PLAIN):
                return value
            return [data(v) for v in value]
        if isinstance(value, dict):
            return {str(k): data(v) for k, v in value.items()}
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, Summary) and value.values is not None:
            return value.values  # a document shows every value the inspection kept
        plan = plan or _plan(kind)
    return _record(value, plan)


def _record(value: object, plan: _Plan, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A record's JSON object by its plan, without the fields named in `skip`."""
    found = dict(zip(plan.names, plan.tag + plan.fields(value), strict=True))
    for name in skip:
        del found[name]
    for name, item in found.items():
        if item is not None and type(item) not in _SCALARS:
            found[name] = data(item)  # a value changes, never a key: safe while iterating
    if plan.inline:
        found = _inlined(found)
    for name, compute in plan.computed:
        found[name] = data(compute(value))
    return found


def _inlined(found: dict[str, Any]) -> dict[str, Any]:
    """The inline records' fields in their place; a field of the outer record wins over
    an inner one of the same name, which keeps its place."""
    result: dict[str, Any] = {}
    for name, item in found.items():
        if name.startswith(INLINE):
            result.update((k, v) for k, v in item.items() if k not in result)
        else:
            result[name] = item
    return result


# --- records as text, for the streamed graph ------------------------------------------
#
# A million-node document spent most of its time building a dict per record and then
# having `json.dumps` take each apart again. The graph's records are written straight to
# text instead, from the same plans, and column by column: a batch's values of one field
# are mostly of one type (every `id` an int, every `leaf` None), so each column is checked
# once and turned into text by one `map` over a C function, not a Python call per value.
# The bytes are those `dumps(data(value))` writes, which the tests check.

#: Turns a sequence of values of one type into their texts, in order.
_Write = Callable[[Sequence[Any]], list[str]]


def _texts(values: Sequence[object]) -> list[str]:
    """Each value as JSON text: what `dumps(data(value))` writes, without the newline."""
    distinct = set(map(type, values))
    if len(distinct) == 1:
        return _writers[distinct.pop()](values)
    kinds = list(map(type, values))
    # several types (an optional field: None and ints, say): each type's values written
    # together, then each value's text taken, in order, from its own type's texts
    written: dict[type, Iterator[str]] = {}
    for kind in distinct:
        mine = itertools.compress(values, map(operator.is_, kinds, itertools.repeat(kind)))
        written[kind] = iter(_writers[kind](list(mine)))
    return list(map(next, map(written.__getitem__, kinds)))


def _objects(records: Sequence[object], plan: _Plan, pieces: tuple[str, ...]) -> list[str]:
    """Records of one type as the JSON objects their plan makes: the texts of each
    field's column, then of each computed one, joined with the text around them row by
    row (a join of pieces: no format string to parse for each record)."""
    columns = [_texts(column) for column in zip(*map(plan.fields, records), strict=True)]
    columns += [_texts(list(map(compute, records))) for _, compute in plan.computed]
    parts: list[Iterable[str]] = [itertools.repeat(pieces[0], len(records))]
    for column, piece in zip(columns, pieces[1:], strict=True):
        parts += [column, itertools.repeat(piece, len(records))]
    return list(map("".join, zip(*parts, strict=True)))


def _arrays(arrays: Sequence[Sequence[object]]) -> list[str]:
    """Tuples and lists as JSON arrays: all their items as one column, then cut apart."""
    items = _texts(list(itertools.chain.from_iterable(arrays)))
    ends = list(itertools.accumulate(map(len, arrays)))
    pieces = map(items.__getitem__, map(slice, [0, *ends], ends))
    return list(map("[%s]".__mod__, map(",".join, pieces)))


def _each(write: Callable[[Any], str]) -> _Write:
    return lambda values: list(map(write, values))


def _float(number: float) -> str:
    text = float.__repr__(number)
    return _NONFINITE_TEXT.get(text, text)


def _as_data(value: object) -> str:
    return dumps(data(value))[:-1]


class _Writers(dict[type, _Write]):
    """How the values of each type become text, found by a value's exact type.

    A type met the first time gets its writer from `__missing__`: a record its plan's
    pieces, when its object is one value per key; anything else (a dict, an enum, a
    `Summary`, a subclass of a plain type) what `data` makes of it.
    """

    def __missing__(self, kind: type) -> _Write:
        write = _each(_as_data)
        if dataclasses.is_dataclass(kind) and kind is not Summary:  # a Summary may be values
            plan = _plans.get(kind) or _plan(kind)
            if plan.pieces is not None:
                write = functools.partial(_objects, plan=plan, pieces=plan.pieces)
        self[kind] = write
        return write


_NONFINITE_TEXT = {text: encode_basestring_ascii(name) for text, name in NONFINITE.items()}

#: The plain types exactly, written as `json.dumps` writes them (ensure_ascii, the float
#: repr, NaN and inf spelled as `dumps` spells them).
_writers = _Writers(
    {
        str: _each(encode_basestring_ascii),
        int: _each(int.__repr__),
        float: _each(_float),
        bool: _each({True: "true", False: "false"}.__getitem__),
        type(None): lambda values: ["null"] * len(values),
        tuple: _arrays,
        list: _arrays,
    }
)


# --- the graph document, streamed -------------------------------------------------------


def graph_chunks(graph: GraphRecord, options: ViewOptions | None = None) -> Iterator[str]:
    """The `graph` document in pieces, the same bytes as `to_json`, made as they are written:
    the graph record's fields, `root` first and the nodes and edges a batch at a time,
    then the view's `cut`.

    Memory stays flat beyond the records: only one batch of nodes or edges is ever text.
    """
    options = options or ViewOptions()
    shown, cut = bounded(graph, options.limits)
    with paused_gc():
        fields = {"seed": None, **options.fields}  # seed: null from the API, which has none
        head = dumps(document("graph", **fields, root=shown.root))
        yield head[: -len("}\n")] + ',"nodes":['
        yield from _joined(shown.nodes)
        yield '],"edges":['
        yield from _joined(shown.edges)
        tail = _record(shown, _plans.get(GraphRecord) or _plan(GraphRecord), _STREAMED)
        yield "]," + dumps({**tail, "cut": data(cut)})[1:]


_STREAMED = ("root", "nodes", "edges")


def _joined(records: Sequence[object]) -> Iterator[str]:
    """The records as the inside of a JSON array, a batch at a time."""
    separator = ""
    for batch in batches(records):
        yield separator + ",".join(_texts(batch))
        separator = ","


def to_json(graph: GraphRecord, options: ViewOptions | None = None) -> str:
    """The `graph` document: every node and edge, unless `options.limits` asks for less."""
    return "".join(graph_chunks(graph, options))
