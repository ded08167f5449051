"""Typer's checks of plain option values, decided without pydantic where the answer is plain.

Typer 0.29 checks every option's value through a pydantic `TypeAdapter`, built the first
time the option is used: a plain `autograd-cli graph` imports pydantic (about 0.2 s, more
than the rest of the command line together) to learn that the default seed 0 is an int.
Most values need no pydantic: a default already of its type, a string for a `str` option,
a plain decimal for an `int` or a `float` within its bounds, an enum's value, the words of
a repeated `str` option, whatever an option's own `parser` accepts. `Quick` gives those the
value pydantic would give; anything else (an out-of-range number, `1_000`, a word that is no
choice) goes to Typer's own check, which loads pydantic then, so every error reads exactly
as before and every unusual spelling means what it meant.

Typer names this hook privately (`_runtime_param`); with a Typer that lacks it, the
parameters are left as Typer made them.
"""

from __future__ import annotations

import math
import re
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

#: What `Quick.decide` returns when the value is not plain: Typer's check decides.
UNDECIDED: Any = object()

_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")  # within int64, no sign or spacing tricks
_FLOAT = re.compile(r"-?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})(?:[eE][-+]?[0-9]{1,3})?")


class Quick:
    """One parameter's check: the plain values here, the rest by Typer (`typer_check`)."""

    def __init__(self, descriptor: Any) -> None:
        self.descriptor = descriptor
        self._typer: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        """Typer's `RuntimeParam.coerce`: None is no value (an empty tuple for a repeated
        option); a plain value is decided here; the rest by Typer's own check."""
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        decided = self.decide(value, param, ctx)
        if decided is not UNDECIDED:
            return decided
        return self.typer_check().coerce(value, param=param, ctx=ctx)

    def typer_check(self) -> Any:
        """Typer's own check of this parameter (through pydantic), built on first need."""
        if self._typer is None:
            from typer._coercion import build_runtime_param

            self._typer = build_runtime_param(self.descriptor)
        return self._typer

    def decide(self, value: Any, param: Any, ctx: Any) -> Any:
        """The value Typer's check would give, or `UNDECIDED` when it is not plain."""
        descriptor = self.descriptor
        info = descriptor.parameter_info
        annotation = descriptor.annotation
        if descriptor.file_annotation is not None or getattr(info, "clamp", False):
            return UNDECIDED
        if param.multiple or param.nargs != 1:
            return _words(annotation, value)
        if info.parser is not None:
            try:
                return info.parser(value)
            except (ValueError, AssertionError):  # pydantic's words for these: Typer's check
                return UNDECIDED
        if annotation is str:
            return value if type(value) is str and _utf8(value) else UNDECIDED
        if annotation is int or annotation is float:
            return _number(annotation, value, info.min, info.max)
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            return _choice(annotation, value, info, ctx)
        if annotation is Path and _plain_path(value):
            from typer._param_types import coerce_cli_path

            # Typer's own path checks, given the Path that pydantic would make of the string
            return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
        return UNDECIDED


def _words(annotation: Any, value: Any) -> Any:
    """A repeated `str` option's words, as a list."""
    if get_origin(annotation) is not list or get_args(annotation) != (str,):
        return UNDECIDED
    if not isinstance(value, list | tuple) or not all(type(v) is str and _utf8(v) for v in value):
        return UNDECIDED
    return list(value)


def _utf8(text: str) -> bool:
    """pydantic refuses a string it cannot encode (a lone surrogate from a bad argv)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _number(kind: type, value: Any, low: float | None, high: float | None) -> Any:
    """An int or a float already, or spelled as plain decimal digits; within the bounds."""
    if type(value) is str:
        pattern = _INT if kind is int else _FLOAT
        if pattern.fullmatch(value) is None:
            return UNDECIDED
        number = kind(value)
    elif type(value) is kind:
        number = value
    else:
        return UNDECIDED
    if kind is float and not math.isfinite(number):
        return UNDECIDED
    if (low is not None and number < low) or (high is not None and number > high):
        return UNDECIDED  # Typer's check says which bound, in its words
    return number


def _choice(kind: type[Enum], value: Any, info: Any, ctx: Any) -> Any:
    """A member, or its value as typed (case-sensitive options, no token normalising)."""
    if isinstance(value, kind):
        return value
    if type(value) is not str or not info.case_sensitive:
        return UNDECIDED
    if ctx is not None and getattr(ctx, "token_normalize_func", None) is not None:
        return UNDECIDED
    for member in kind:
        if str(member.value) == value:
            return member
    return UNDECIDED


def _plain_path(value: Any) -> bool:
    return type(value) is str and value != "" and "\0" not in value and _utf8(value)


def install(params: list[Any]) -> list[Any]:
    """Give each of Typer's parameters a `Quick` check, once; others are left alone."""
    for param in params:
        if getattr(param, "_runtime_param", False) is None and hasattr(param, "type_descriptor"):
            param._runtime_param = Quick(param.type_descriptor)
    return params
