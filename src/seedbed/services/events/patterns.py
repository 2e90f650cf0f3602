"""The EventBridge event pattern language: compile a pattern once, match events against it.

A pattern is a JSON object with the same nesting as the events it matches. Its leaves are arrays
of *matchers*; a leaf matches when any matcher matches any value the event has at that path (an
event array offers each of its elements). Fields of one object must all match (AND); ``"$or"``
with an array of two or more objects matches when any of them does.

Matchers, as the EventBridge user guide ("Content filtering in Amazon EventBridge event
patterns") lists them: exact strings, numbers, ``true``/``false``/``null``; ``prefix`` and
``suffix`` (plain or ``{"equals-ignore-case": ...}``); ``equals-ignore-case``; ``wildcard``;
``anything-but`` (a value, a list of strings or of numbers, or ``prefix``/``suffix``/
``equals-ignore-case``/``wildcard``); ``numeric`` ranges; ``exists``; ``cidr``.

Arrays of objects in events are matched consistently: the fields one pattern object names must
all come from the same array element, as EventBridge's matcher (Event Ruler) does. Errors are
:class:`~seedbed.services.events.errors.InvalidEventPattern` with EventBridge's wording.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from seedbed.services.events.errors import InvalidEventPattern

#: Numeric matching is limited to this range (the user guide: -5.0e9 to +5.0e9 inclusive).
NUMERIC_LIMIT = 5.0e9
#: Keys inside a ``$or`` element that make it an ordinary field name instead (Event Ruler).
_RESERVED = frozenset(
    {
        "prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists",
        "cidr", "exactly",
    }
)
_MISSING = object()


class _Reject(Exception):
    """A pattern error; becomes InvalidEventPattern with EventBridge's message."""


def _fail(message: str) -> _Reject:
    return _Reject(message)


Matcher = Callable[[Any], bool]


@dataclass(frozen=True)
class Leaf:
    """One field of the pattern and the matchers of its array (any may match)."""

    matchers: tuple[Matcher, ...]
    #: ``{"exists": false}`` matchers: they match the absence of the field.
    absent_ok: bool


@dataclass(frozen=True)
class Node:
    """An object of the pattern: every field must match, and every ``$or`` group."""

    fields: tuple[tuple[str, Node | Leaf], ...]
    ors: tuple[tuple[Node, ...], ...]


# -- compiling -----------------------------------------------------------------------------------


def compile_pattern(text: str) -> Node:
    """Parse and check a pattern (the ``EventPattern`` string); raises InvalidEventPattern."""
    return _compile_cached(text)


@lru_cache(maxsize=2048)
def _compile_cached(text: str) -> Node:
    try:
        document = json.loads(text, object_pairs_hook=_last_key_wins, parse_constant=_no_constant)
    except _Reject as exc:
        raise InvalidEventPattern(_reason(str(exc))) from None
    except ValueError as exc:
        raise InvalidEventPattern(_reason(f"Unrecognized JSON: {exc}")) from None
    try:
        if not isinstance(document, dict):
            raise _fail("Filter is not an object")
        return _node(document)
    except _Reject as exc:
        raise InvalidEventPattern(_reason(str(exc))) from None


def check(text: str) -> None:
    compile_pattern(text)


def _reason(message: str) -> str:
    return f"Event pattern is not valid. Reason: {message}"


def _last_key_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # As the user guide notes: a key given twice is evaluated with its last value.
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise _fail(f"Unrecognized token '{name}'")


def _node(obj: dict[str, Any]) -> Node:
    if not obj:
        raise _fail("Empty objects are not allowed")
    fields: list[tuple[str, Node | Leaf]] = []
    ors: list[tuple[Node, ...]] = []
    for key, value in obj.items():
        if key == "$or" and _is_or(value):
            ors.append(tuple(_node(item) for item in value))
        elif isinstance(value, dict):
            fields.append((key, _node(value)))
        elif isinstance(value, list):
            fields.append((key, _leaf(value)))
        else:
            raise _fail(f'"{key}" must be an object or an array')
    return Node(tuple(fields), tuple(ors))


def _is_or(value: Any) -> bool:
    """Event Ruler reads ``$or`` as OR only for an array of 2+ objects naming no match keyword."""
    if not isinstance(value, list) or len(value) < 2:
        return False
    return all(isinstance(item, dict) and not (_RESERVED & item.keys()) for item in value)


def _leaf(values: list[Any]) -> Leaf:
    if not values:
        raise _fail("Empty arrays are not allowed")
    matchers: list[Matcher] = []
    absent_ok = False
    for value in values:
        if isinstance(value, dict):
            matcher = _expression(value)
            if matcher is _ABSENT:
                absent_ok = True
            matchers.append(matcher)
        elif isinstance(value, list):
            raise _fail("Match value must be String, number, true, false, or null")
        else:
            matchers.append(_exact(value))
    return Leaf(tuple(matchers), absent_ok)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _exact(expected: Any) -> Matcher:
    if _is_number(expected):
        number = float(expected)
        return lambda v: _is_number(v) and float(v) == number
    if expected is None:
        return lambda v: v is None
    if isinstance(expected, bool):
        return lambda v: isinstance(v, bool) and v is expected
    return lambda v: isinstance(v, str) and v == expected


def _present(value: Any) -> bool:
    return value is not _MISSING


def _ABSENT(value: Any) -> bool:
    return value is _MISSING


def _single_key(expr: dict[str, Any]) -> tuple[str, Any]:
    if not expr:
        raise _fail("Match expression name not found")
    if len(expr) != 1:
        raise _fail("Only one key allowed in match expression")
    return next(iter(expr.items()))


def _expression(expr: dict[str, Any]) -> Matcher:
    name, arg = _single_key(expr)
    if name == "exactly":
        if not _is_string(arg):
            raise _fail("exact match pattern must be a string")
        return _exact(arg)
    if name == "prefix":
        return _prefix_suffix(arg, "prefix")
    if name == "suffix":
        return _prefix_suffix(arg, "suffix")
    if name == "equals-ignore-case":
        if not _is_string(arg):
            raise _fail("equals-ignore-case match pattern must be a string")
        folded = arg.lower()
        return lambda v: _is_string(v) and v.lower() == folded
    if name == "wildcard":
        if not _is_string(arg):
            raise _fail("wildcard match pattern must be a string")
        regex = _wildcard(arg)
        return lambda v: _is_string(v) and regex.fullmatch(v) is not None
    if name == "numeric":
        return _numeric(arg)
    if name == "exists":
        if arg is True:
            return _present
        if arg is False:
            return _ABSENT
        raise _fail("exists match pattern must be either true or false.")
    if name == "cidr":
        return _cidr(arg)
    if name == "anything-but":
        return _anything_but(arg)
    raise _fail(f"Unrecognized match type {name}")


def _prefix_suffix(arg: Any, kind: str) -> Matcher:
    ignore_case = False
    if isinstance(arg, dict):
        inner, value = _single_key(arg)
        if inner != "equals-ignore-case":
            raise _fail(f"Unsupported {kind} pattern: {inner}")
        if not _is_string(value):
            raise _fail(f"{kind}/equals-ignore-case match pattern must be a string")
        arg, ignore_case = value, True
    if not _is_string(arg):
        raise _fail(f"{kind} match pattern must be a string")
    text = arg.lower() if ignore_case else arg

    def fold(v: str) -> str:
        return v.lower() if ignore_case else v

    if kind == "prefix":
        return lambda v: _is_string(v) and fold(v).startswith(text)
    return lambda v: _is_string(v) and fold(v).endswith(text)


def _wildcard(text: str) -> re.Pattern[str]:
    """``*`` is any run of characters; ``\\*`` a star and ``\\\\`` a backslash; ``**`` and any
    other escape are refused, as Event Ruler does."""
    out: list[str] = []
    i = 0
    previous_star = False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt not in ("*", "\\"):
                raise _fail(f"Invalid escape character at pos {i}")
            out.append(re.escape(nxt))
            i += 2
            previous_star = False
            continue
        if ch == "*":
            if previous_star:
                raise _fail(f"Consecutive wildcard characters at pos {i}")
            out.append(".*")
            previous_star = True
        else:
            out.append(re.escape(ch))
            previous_star = False
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _number_arg(value: Any, operator: str) -> float:
    if not _is_number(value):
        raise _fail(f"Value of {operator} must be numeric")
    number = float(value)
    if math.isnan(number) or not -NUMERIC_LIMIT <= number <= NUMERIC_LIMIT:
        raise _fail("Value must be between -5.0E9 and 5.0E9, inclusive")
    return number


def _numeric(arg: Any) -> Matcher:
    if not isinstance(arg, list):
        raise _fail("Value of numeric must be an array.")
    if not arg or not _is_string(arg[0]):
        raise _fail(f"Invalid member in numeric match: {json.dumps(arg[0]) if arg else ']'}")
    op = arg[0]
    if op == "=":
        if len(arg) < 2:
            raise _fail("Value of equals must be numeric")
        value = _number_arg(arg[1], "equals")
        if len(arg) > 2:
            raise _fail("Too many elements in numeric expression")
        return lambda v: _is_number(v) and float(v) == value
    if op in ("<", "<="):
        if len(arg) < 2:
            raise _fail(f"Value of {op} must be numeric")
        top = _number_arg(arg[1], op)
        if len(arg) > 2:
            raise _fail("Too many elements in numeric expression")
        return _range(None, False, top, op == "<")
    if op in (">", ">="):
        if len(arg) < 2:
            raise _fail(f"Value of {op} must be numeric")
        bottom = _number_arg(arg[1], op)
        if len(arg) == 2:
            return _range(bottom, op == ">", None, False)
        upper = arg[2]
        if not _is_string(upper):
            raise _fail(f"Bad value in numeric range: {json.dumps(upper)}")
        if upper not in ("<", "<="):
            raise _fail(f"Bad numeric range operator: {upper}")
        if len(arg) < 4:
            raise _fail(f"Value of {upper} must be numeric")
        top = _number_arg(arg[3], upper)
        if len(arg) > 4:
            raise _fail("Too many terms in numeric range expression")
        if bottom >= top:
            raise _fail("Bottom must be less than top")
        return _range(bottom, op == ">", top, upper == "<")
    raise _fail(f"Unrecognized numeric range operator: {op}")


def _range(bottom: float | None, open_bottom: bool, top: float | None, open_top: bool) -> Matcher:
    def match(v: Any) -> bool:
        if not _is_number(v):
            return False
        x = float(v)
        if bottom is not None and (x <= bottom if open_bottom else x < bottom):
            return False
        return top is None or (x < top if open_top else x <= top)

    return match


def _cidr(arg: Any) -> Matcher:
    if not _is_string(arg):
        raise _fail("cidr match pattern must be a string")
    try:
        network = ipaddress.ip_network(arg, strict=False)
    except ValueError:
        raise _fail(f"Nonstandard IP address: {arg}") from None

    def match(v: Any) -> bool:
        if not _is_string(v):
            return False
        try:
            return ipaddress.ip_address(v) in network
        except ValueError:
            return False

    return match


def _anything_but(arg: Any) -> Matcher:
    """Matches a present value that the inner expression does not match."""
    if isinstance(arg, dict):
        inner, value = _single_key(arg)
        values = value if isinstance(value, list) else [value]
        if not values:
            raise _fail("Empty arrays are not allowed")
        if inner in ("prefix", "suffix"):
            if not all(_is_string(v) for v in values):
                raise _fail("prefix/suffix match pattern must be a string")
            if any(v == "" for v in values):
                raise _fail("Null prefix/suffix not allowed")
            subs = [_prefix_suffix(v, inner) for v in values]
        elif inner == "equals-ignore-case":
            if not all(_is_string(v) for v in values):
                raise _fail(
                    "Inside anything-but/ignore-case list, number|start|null|boolean is not "
                    "supported."
                )
            folded = {v.lower() for v in values}
            subs = [lambda v: _is_string(v) and v.lower() in folded]
        elif inner == "wildcard":
            if not all(_is_string(v) for v in values):
                raise _fail("wildcard match pattern must be a string")
            regexes = [_wildcard(v) for v in values]
            subs = [lambda v: _is_string(v) and any(r.fullmatch(v) for r in regexes)]
        else:
            raise _fail(f"Unsupported anything-but pattern: {inner}")
        return lambda v: v is not _MISSING and not any(s(v) for s in subs)
    if isinstance(arg, list):
        if not arg:
            raise _fail(
                "Inside anything but list, either all values are number or string, "
                "mixed type is not supported"
            )
        if not all(_is_string(v) or _is_number(v) for v in arg):
            raise _fail("Inside anything but list, start|null|boolean is not supported.")
        if not (all(_is_string(v) for v in arg) or all(_is_number(v) for v in arg)):
            raise _fail(
                "Inside anything but list, either all values are number or string, "
                "mixed type is not supported"
            )
        excluded = [_exact(v) for v in arg]
        return lambda v: v is not _MISSING and not any(m(v) for m in excluded)
    if _is_string(arg) or _is_number(arg):
        if _is_number(arg):
            _number_arg(arg, "anything-but")
        excluded_one = _exact(arg)
        return lambda v: v is not _MISSING and not excluded_one(v)
    raise _fail("Value of anything-but must be an array or single string/number value.")


# -- matching ------------------------------------------------------------------------------------


def matches(pattern: Node | str, event: Any) -> bool:
    """Whether ``event`` (a parsed JSON document) matches ``pattern``."""
    node = compile_pattern(pattern) if isinstance(pattern, str) else pattern
    return _match_node(node, event)


def _elements(value: Any) -> Iterator[Any]:
    """The values an event offers at a path: arrays (also nested) are crushed into elements."""
    if isinstance(value, list):
        for item in value:
            yield from _elements(item)
    else:
        yield value


def _match_node(node: Node, value: Any) -> bool:
    """``value`` is the event object at the node's path (or _MISSING, or a non-object)."""
    obj = value if isinstance(value, dict) else {}
    for key, sub in node.fields:
        child = obj.get(key, _MISSING)
        if isinstance(sub, Leaf):
            if not _match_leaf(sub, child):
                return False
        elif not _match_child(sub, child):
            return False
    for group in node.ors:
        if not any(_match_node(alt, value) for alt in group):
            return False
    return True


def _match_child(node: Node, child: Any) -> bool:
    if isinstance(child, list):
        objects = [item for item in _elements(child) if isinstance(item, dict)]
        if objects:
            return any(_match_node(node, item) for item in objects)
        return _match_node(node, _MISSING)
    return _match_node(node, child)


def _match_leaf(leaf: Leaf, child: Any) -> bool:
    # Only leaf values count: an object (or an array holding only objects) is no value here.
    values = [v for v in _elements(child) if not isinstance(v, dict)] if child is not _MISSING else []
    if not values:
        return leaf.absent_ok
    for matcher in leaf.matchers:
        if matcher is _ABSENT:
            continue
        if any(matcher(v) for v in values):
            return True
    return False
