"""Wildcards, ARN patterns and policy variables: the matching primitives of the policy language.

Patterns are compiled to regular expressions once and cached, because the same few hundred
patterns are matched on every request. ``*`` and ``?`` are the only wildcards; in ARN patterns
they stay inside one of the first five colon-separated segments (as ``ArnLike`` specifies) and
may span anything in the resource part.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

#: ``${key}`` or ``${key, 'default'}``; keys are case-insensitive.
VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")
#: The escapes AWS defines for characters that are otherwise wildcards.
SPECIAL = {"*": "\ue000", "?": "\ue001", "$": "$"}


def _glob_body(pattern: str, star: str) -> str:
    out = []
    for char in pattern:
        if char == "*":
            out.append(star)
        elif char == "?":
            out.append("." if star == ".*" else "[^:]")
        else:
            out.append(re.escape(char))
    return "".join(out)


def _restore(text: str) -> str:
    """Put back the literal ``*`` and ``?`` that ``${*}`` and ``${?}`` stood for."""
    return text.replace(SPECIAL["*"], r"\*").replace(SPECIAL["?"], r"\?")


@lru_cache(maxsize=8192)
def glob(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """``*`` matches any run of characters, ``?`` any one character."""
    body = _restore(_glob_body(pattern, ".*"))
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


@lru_cache(maxsize=8192)
def arn_pattern(pattern: str) -> re.Pattern[str]:
    """An ARN pattern: wildcards stay within each of the first five segments."""
    parts = pattern.split(":", 5)
    if len(parts) < 6:
        # Not an ARN pattern ("*" or a bare glob) matches as a glob; a truncated ARN never matches,
        # since each of the six components is compared on its own.
        return re.compile(r"(?!)") if pattern.startswith("arn:") else glob(pattern)
    head = ":".join(_glob_body(p, "[^:]*") for p in parts[:5])
    body = _restore(head + ":" + _glob_body(parts[5], ".*"))
    return re.compile(f"^{body}$", re.DOTALL)


def arn_matches(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    return arn_pattern(pattern).match(value) is not None


def has_variables(text: str) -> bool:
    return "${" in text


Lookup = Callable[[str], "tuple[str, ...] | None"]


def substitute(text: str, lookup: Lookup) -> str | None:
    """``text`` with every ``${...}`` replaced; None when a variable has no single value and no
    default (AWS then treats the element as not matching).

    ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters; the first two come back as
    placeholders that :func:`glob` and :func:`arn_pattern` turn into literal matches.
    """
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        inner = match.group(1)
        if inner in SPECIAL:
            return SPECIAL[inner]
        default = None
        named = _DEFAULT.match(inner)
        if named:
            inner, default = named.group(1), named.group(2)
        values = lookup(inner.strip().lower())
        if values is not None and len(values) == 1:
            return values[0]
        if default is not None:
            return default
        missing = True
        return ""

    result = VARIABLE.sub(replace, text)
    return None if missing else result


def literal(text: str) -> str:
    """A substituted value used as a plain string (``StringEquals``): placeholders back to chars."""
    return text.replace(SPECIAL["*"], "*").replace(SPECIAL["?"], "?")
