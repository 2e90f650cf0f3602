"""CloudWatch Logs filter patterns: compile a pattern once, then test messages with it.

Supported, as the CloudWatch Logs "Filter pattern syntax" page describes them:

- terms: ``ERROR``, ``"quoted phrase"``, all must occur (case-sensitive); ``-term`` must not
  occur; ``?a ?b`` matches when any of the ``?`` terms occurs; an empty pattern matches all;
- regular expressions ``%...%`` (alone, as a term, or as a JSON or field value);
- JSON events: ``{ $.a.b[0] = "v*" }`` with ``= != < <= > >=``, ``IS TRUE|FALSE|NULL``,
  ``NOT EXISTS``, ``&&``, ``||`` and parentheses;
- space-delimited events: ``[ip, user, ..., status = 4* || status = 5*, size > 100]``.

A pattern Seedbed cannot parse is refused with InvalidParameterException, as AWS refuses it.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from typing import Any

from seedbed.services.logs.errors import InvalidParameter

Matcher = Callable[[str], bool]

_MISSING = object()


def invalid(pattern: str, why: str = "") -> InvalidParameter:
    return InvalidParameter(f"Invalid filter pattern{': ' + why if why else ''}: {pattern}")


def compile_pattern(pattern: str | None) -> Matcher:
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text.startswith("{"):
        return _JsonParser(text).parse()
    if text.startswith("["):
        return _compile_fields(text)
    if len(text) > 1 and text.startswith("%") and text.endswith("%") and text.count("%") == 2:
        regex = _regex(text[1:-1], text)
        return lambda message: regex.search(message) is not None
    return _compile_terms(text)


def _regex(body: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(body)
    except re.error as exc:
        raise invalid(pattern, f"bad regular expression ({exc})") from None


# -- terms ----------------------------------------------------------------------------------------


def _term_tokens(text: str) -> list[tuple[str, str]]:
    """``(sign, term)`` pairs; sign is ``""``, ``"-"`` or ``"?"``."""
    out, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        sign = ""
        if text[i] in "-?" and i + 1 < len(text) and not text[i + 1].isspace():
            sign, i = text[i], i + 1
        if text[i] == '"':
            j, chars = i + 1, []
            while j < len(text) and text[j] != '"':
                if text[j] == "\\" and j + 1 < len(text):
                    j += 1
                chars.append(text[j])
                j += 1
            if j >= len(text):
                raise invalid(text, "unterminated quoted term")
            out.append((sign, "".join(chars)))
            i = j + 1
        elif text[i] == "%":
            j = text.find("%", i + 1)
            if j < 0:
                raise invalid(text, "unterminated regular expression")
            out.append((sign, text[i:j + 1]))
            i = j + 1
        else:
            j = i
            while j < len(text) and not text[j].isspace():
                j += 1
            out.append((sign, text[i:j]))
            i = j
    return out


def _term_matcher(term: str, pattern: str) -> Matcher:
    if len(term) > 1 and term.startswith("%") and term.endswith("%"):
        regex = _regex(term[1:-1], pattern)
        return lambda message: regex.search(message) is not None
    return lambda message: term in message


def _compile_terms(text: str) -> Matcher:
    required, excluded, optional = [], [], []
    for sign, term in _term_tokens(text):
        matcher = _term_matcher(term, text)
        {"": required, "-": excluded, "?": optional}[sign].append(matcher)

    def match(message: str) -> bool:
        return (
            all(m(message) for m in required)
            and not any(m(message) for m in excluded)
            and (not optional or any(m(message) for m in optional))
        )

    return match


# -- values shared by JSON and space-delimited patterns ---------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _compare(actual: Any, op: str, literal: str, quoted: bool, pattern: str) -> bool:
    """``actual OP literal``: numeric when both sides are numbers, else string equality with
    ``*`` wildcards (and ``%regex%``)."""
    if actual is _MISSING:
        return False
    if actual is None:
        actual = "null"
    expected_num = None if quoted else _number(literal)
    if op in ("<", "<=", ">", ">="):
        got = _number(actual)
        if got is None or expected_num is None:
            return False
        return {"<": got < expected_num, "<=": got <= expected_num,
                ">": got > expected_num, ">=": got >= expected_num}[op]
    if isinstance(actual, (dict, list)):
        return op == "!="
    if expected_num is not None and _number(actual) is not None and not isinstance(actual, str):
        equal = _number(actual) == expected_num
    else:
        text = json.dumps(actual) if isinstance(actual, bool) else str(actual)
        if len(literal) > 1 and literal.startswith("%") and literal.endswith("%"):
            equal = _regex(literal[1:-1], pattern).search(text) is not None
        elif "*" in literal:
            equal = fnmatch.fnmatchcase(text, literal.replace("[", "[[]"))
        elif expected_num is not None and _number(text) is not None:
            equal = _number(text) == expected_num
        else:
            equal = text == literal
    return equal if op == "=" else not equal


# -- JSON -----------------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(
    r"""\s*(?:
        (?P<and>&&) | (?P<or>\|\|) | (?P<lp>\() | (?P<rp>\)) | (?P<lb>\{) | (?P<rb>\}) |
        (?P<op>!=|<=|>=|=|<|>) |
        (?P<str>"(?:[^"\\]|\\.)*") |
        (?P<regex>%[^%]*%) |
        (?P<word>[^\s()&|=!<>{}"]+)
    )""",
    re.VERBOSE,
)


class _JsonParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _JSON_TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise invalid(text)
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (kind is not None and tok[0] != kind):
            raise invalid(self.text)
        self.i += 1
        return tok

    def parse(self) -> Matcher:
        self.take("lb")
        expr = self.parse_or()
        self.take("rb")
        if self.peek() is not None:
            raise invalid(self.text)

        def match(message: str) -> bool:
            try:
                document = json.loads(message)
            except ValueError:
                return False
            return expr(document)

        return match

    def parse_or(self) -> Callable[[Any], bool]:
        left = self.parse_and()
        while self.peek() and self.peek()[0] == "or":  # type: ignore[index]
            self.take()
            right = self.parse_and()
            left = _either(left, right)
        return left

    def parse_and(self) -> Callable[[Any], bool]:
        left = self.parse_atom()
        while self.peek() and self.peek()[0] == "and":  # type: ignore[index]
            self.take()
            right = self.parse_atom()
            left = _both(left, right)
        return left

    def parse_atom(self) -> Callable[[Any], bool]:
        tok = self.peek()
        if tok and tok[0] == "lp":
            self.take()
            inner = self.parse_or()
            self.take("rp")
            return inner
        _, selector = self.take("word")
        if not selector.startswith("$"):
            raise invalid(self.text, f"a JSON selector starts with $, not {selector!r}")
        path = _selector(selector, self.text)
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].upper() in ("IS", "NOT"):
            word = self.take()[1].upper()
            arg = self.take("word")[1].upper()
            if word == "NOT" and arg == "EXISTS":
                return lambda d: _resolve(d, path) is _MISSING
            if word == "IS" and arg in ("TRUE", "FALSE"):
                wanted = arg == "TRUE"
                return lambda d: _resolve(d, path) is wanted
            if word == "IS" and arg == "NULL":
                return lambda d: _resolve(d, path) is None
            raise invalid(self.text)
        op = self.take("op")[1]
        vkind, value = self.take()
        if vkind == "str":
            literal, quoted = json.loads(value), True
        elif vkind in ("word", "regex"):
            literal, quoted = value, False
        else:
            raise invalid(self.text)
        pattern = self.text
        return lambda d: _compare(_resolve(d, path), op, literal, quoted, pattern)


def _either(a: Callable[[Any], bool], b: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda d: a(d) or b(d)


def _both(a: Callable[[Any], bool], b: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda d: a(d) and b(d)


def _field_test(op: str, literal: str, quoted: bool, text: str) -> Callable[[str], bool]:
    return lambda value: _compare(value, op, literal, quoted, text)


def _selector(selector: str, pattern: str) -> list[str | int]:
    path: list[str | int] = []
    for part in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]|(\S)", selector[1:]):
        name, index, junk = part
        if junk:
            raise invalid(pattern, f"bad selector {selector!r}")
        path.append(int(index) if index else name)
    return path


def _resolve(document: Any, path: list[str | int]) -> Any:
    current = document
    for part in path:
        if isinstance(part, int):
            if not isinstance(current, list) or part >= len(current):
                return _MISSING
            current = current[part]
        else:
            if not isinstance(current, dict) or part not in current:
                return _MISSING
            current = current[part]
    return current


# -- space-delimited ------------------------------------------------------------------------------

_FIELD_SPLIT = re.compile(r'"[^"]*"|\[[^\]]*\]|\S+')


def _split_fields(message: str) -> list[str]:
    out = []
    for token in _FIELD_SPLIT.findall(message):
        if len(token) >= 2 and token[0] + token[-1] in ('""', "[]"):
            token = token[1:-1]
        out.append(token)
    return out


def _compile_fields(text: str) -> Matcher:
    if not text.endswith("]"):
        raise invalid(text)
    body = text[1:-1]
    specs: list[Callable[[str], bool] | None] = []  # None: "..."
    for raw in _split_top(body, text):
        raw = raw.strip()
        if raw == "...":
            specs.append(None)
            continue
        if not raw:
            raise invalid(text)
        specs.append(_field_condition(raw, text))

    def match(message: str) -> bool:
        return _match_fields(specs, _split_fields(message))

    return match


def _split_top(body: str, text: str) -> list[str]:
    parts, depth, quoted, current = [], 0, False, []
    for ch in body:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == "," and not quoted and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quoted or depth:
        raise invalid(text)
    parts.append("".join(current))
    return parts if body.strip() else []


_CONDITION = re.compile(r'^\s*(\w+)\s*(!=|<=|>=|=|<|>)\s*("(?:[^"\\]|\\.)*"|%[^%]*%|[^\s&|()]+)\s*$')


def _field_condition(raw: str, text: str) -> Callable[[str], bool]:
    alternatives = [alt for alt in re.split(r"\|\|", raw)]
    tests: list[list[Callable[[str], bool]]] = []
    for alt in alternatives:
        conj = []
        for piece in alt.split("&&"):
            piece = piece.strip().strip("()").strip()
            if re.fullmatch(r"\w+", piece):
                conj.append(lambda value: True)
                continue
            m = _CONDITION.match(piece)
            if not m:
                raise invalid(text, f"cannot read the field condition {piece!r}")
            _, op, value = m.groups()
            quoted = value.startswith('"')
            literal = json.loads(value) if quoted else value
            conj.append(_field_test(op, literal, quoted, text))
        tests.append(conj)
    return lambda value: any(all(t(value) for t in conj) for conj in tests)


def _match_fields(specs: list[Callable[[str], bool] | None], fields: list[str]) -> bool:
    if not specs:
        return True
    if None not in specs:
        return len(specs) == len(fields) and all(s(f) for s, f in zip(specs, fields))  # type: ignore[misc]

    def walk(si: int, fi: int) -> bool:
        if si == len(specs):
            return fi == len(fields)
        spec = specs[si]
        if spec is None:
            return any(walk(si + 1, k) for k in range(fi, len(fields) + 1))
        return fi < len(fields) and spec(fields[fi]) and walk(si + 1, fi + 1)

    return walk(0, 0)
