"""GitHub Actions expressions: ``${{ ... }}`` in strings and bare ``if:`` conditions.

A small recursive-descent evaluator over the documented grammar: literals (strings in single
quotes, numbers, true/false/null), context paths (``github.ref``, ``needs.build.outputs.x``,
``steps.creds.outputs['aws-account-id']``), ``!``, ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``,
``&&``, ``||``, parentheses, and the functions success(), failure(), always(), cancelled(),
contains(), startsWith(), endsWith(), format(), join(), toJSON(), fromJSON(). Nothing is ever
passed to Python's eval.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(r"""\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\],.])|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))""")
_EMBEDDED = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class ExpressionError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"cannot parse expression near {text[pos:pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "", 0.0)


def _coerce(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value) if value.strip() else 0
        except ValueError:
            return float("nan")
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    return value


def _equal(a: Any, b: Any) -> bool:
    if type(a) is type(b) or (isinstance(a, str) and isinstance(b, str)):
        return a.lower() == b.lower() if isinstance(a, str) else a == b
    return _coerce(a) == _coerce(b)


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], contexts: dict[str, Any], functions: dict[str, Callable[..., Any]]) -> None:
        self.tokens, self.i, self.contexts, self.functions = tokens, 0, contexts, functions

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise ExpressionError("unexpected end of expression")
        tok = self.tokens[self.i]
        if expected is not None and tok[1] != expected:
            raise ExpressionError(f"expected {expected!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        value = self.or_()
        if self.i != len(self.tokens):
            raise ExpressionError(f"unexpected {self.peek()!r}")
        return value

    def or_(self) -> Any:
        left = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            left = left if _truthy(left) else right
        return left

    def and_(self) -> Any:
        left = self.compare()
        while self.peek() == "&&":
            self.take()
            right = self.compare()
            left = right if _truthy(left) else left
        return left

    def compare(self) -> Any:
        left = self.unary()
        while self.peek() in ("==", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            right = self.unary()
            if op == "==":
                left = _equal(left, right)
            elif op == "!=":
                left = not _equal(left, right)
            else:
                a, b = _coerce(left), _coerce(right)
                left = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        return left

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not _truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        value = self.primary()
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = to_string(self.or_())
                self.take("]")
            if key == "*" or value is None:
                value = None
            elif isinstance(value, dict):
                value = next((v for k, v in value.items() if k.lower() == key.lower()), None)
            elif isinstance(value, list) and key.isdigit():
                value = value[int(key)] if int(key) < len(value) else None
            else:
                value = None
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r}")
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        if self.peek() == "(":
            self.take()
            args = []
            while self.peek() != ")":
                args.append(self.or_())
                if self.peek() == ",":
                    self.take()
            self.take(")")
            fn = self.functions.get(lowered)
            if fn is None:
                raise ExpressionError(f"unknown function {text}()")
            return fn(*args)
        return self.contexts.get(lowered)


def _functions(status: Callable[[], str]) -> dict[str, Callable[..., Any]]:
    def contains(a: Any, b: Any) -> bool:
        if isinstance(a, list):
            return any(_equal(x, b) for x in a)
        return to_string(b).lower() in to_string(a).lower()

    def fmt(template: str, *args: Any) -> str:
        return re.sub(r"\{(\d+)\}", lambda m: to_string(args[int(m.group(1))]), template).replace("{{", "{").replace("}}", "}")

    return {
        "success": lambda: status() == "success",
        "failure": lambda: status() == "failure",
        "cancelled": lambda: status() == "cancelled",
        "always": lambda: True,
        "contains": contains,
        "startswith": lambda a, b: to_string(a).lower().startswith(to_string(b).lower()),
        "endswith": lambda a, b: to_string(a).lower().endswith(to_string(b).lower()),
        "format": fmt,
        "join": lambda a, sep=",": sep.join(to_string(x) for x in a) if isinstance(a, list) else to_string(a),
        "tojson": lambda a: json.dumps(a, indent=2),
        "fromjson": lambda a: json.loads(a),
    }


def evaluate(expression: str, contexts: dict[str, Any], status: Callable[[], str] = lambda: "success") -> Any:
    """The value of one expression (without the ``${{ }}``)."""
    lowered = {k.lower(): v for k, v in contexts.items()}
    return _Parser(_tokens(expression), lowered, _functions(status)).parse()


def interpolate(text: Any, contexts: dict[str, Any], status: Callable[[], str] = lambda: "success") -> Any:
    """Replace every ``${{ expr }}`` in ``text`` (strings only; other values pass through)."""
    if not isinstance(text, str) or "${{" not in text:
        return text
    return _EMBEDDED.sub(lambda m: to_string(evaluate(m.group(1), contexts, status)), text)


def condition(text: Any, contexts: dict[str, Any], status: Callable[[], str]) -> bool:
    """An ``if:``: bare or wrapped in ``${{ }}``; without a status function it implies success()."""
    if text is None or text == "":
        return status() == "success"
    if isinstance(text, bool):
        return text
    expr = str(text).strip()
    match = _EMBEDDED.fullmatch(expr)
    if match:
        expr = match.group(1)
    if not re.search(r"\b(success|failure|always|cancelled)\s*\(", expr):
        expr = f"success() && ({expr})"
    return _truthy(evaluate(expr, contexts, status))
