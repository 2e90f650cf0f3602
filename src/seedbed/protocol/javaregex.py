"""Java regular expressions (as AWS models write them) compiled with Python's ``re``.

AWS checks ``pattern`` constraints with ``java.util.regex`` and ``Matcher.matches()``: the whole
value must match, and ``\\w``, ``\\d``, ``\\s``, ``\\b`` and case folding are ASCII-only. Most model
patterns mean the same in Python under ``re.ASCII`` and ``fullmatch``; the rest use Java-only
syntax, which this module rewrites:

- ``\\p{L}``, ``\\P{C}``, ``\\pN``, POSIX classes (``\\p{Alnum}``), ``\\p{IsAlphabetic}`` ... become
  explicit code point ranges (built once from ``unicodedata``);
- a UTF-16 surrogate pair of ``\\u`` escapes is one supplementary code point, as in Java;
- ``\\x{h..h}``, ``\\z``, ``\\h``, ``\\v``, ``\\R``, ``\\e``, ``\\Q..\\E``, ``(?<name>``,
  ``\\k<name>``;
- ``-`` next to a class escape in a character class is a literal; nested classes are unions and
  ``&&`` an intersection (a lookahead in Python);
- inline flags in mid-pattern (``a(?i)b``) become scoped groups, ``.`` excludes all of Java's line
  terminators, and quantified anchors or repeated quantifiers (``${1,5}``, ``x{2}{3}``) are fixed.

A pattern this cannot express is reported as untranslatable (``compile_java`` returns None) so the
caller can skip the check rather than fail the request.
"""

from __future__ import annotations

import re
import sys
import unicodedata
import warnings
from functools import lru_cache

_ASCII_SETS: dict[str, list[tuple[int, int]]] = {
    "Lower": [(0x61, 0x7A)],
    "Upper": [(0x41, 0x5A)],
    "ASCII": [(0x00, 0x7F)],
    "Alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "Digit": [(0x30, 0x39)],
    "Alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "Punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "Graph": [(0x21, 0x7E)],
    "Print": [(0x20, 0x7E)],
    "Blank": [(0x20, 0x20), (0x09, 0x09)],
    "Cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "XDigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
    "Space": [(0x09, 0x0D), (0x20, 0x20)],
    "all": [(0, sys.maxunicode)],
    "L1": [(0x00, 0xFF)],
    "InBasicLatin": [(0x00, 0x7F)],
}
_WHITE_SPACE = [(0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680),
                (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F),
                (0x3000, 0x3000)]
_HORIZONTAL = [(0x09, 0x09), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x180E, 0x180E),
               (0x2000, 0x200A), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000)]
_VERTICAL = [(0x0A, 0x0D), (0x85, 0x85), (0x2028, 0x2029)]
#: Unicode binary properties Java accepts as ``\p{IsX}``, by their general categories (close enough
#: for validation: Alphabetic also holds a few combining marks).
_PROPERTIES = {
    "Alphabetic": ("L", "Nl"), "Letter": ("L",), "Digit": ("Nd",), "Uppercase": ("Lu",),
    "Lowercase": ("Ll",), "Punctuation": ("P",), "Control": ("Cc",), "Titlecase": ("Lt",),
    "Ideographic": ("Lo",), "LC": ("Lu", "Ll", "Lt"), "LD": ("L", "Nd"),
}
#: ``.`` without DOTALL: anything but a line terminator.
_JAVA_DOT = "[^\\n\\r\\x85\\u2028\\u2029]"
_QUANTIFIER = re.compile(r"\{(\d+)(,(\d*))?\}")
_ESCAPE_LETTERS_KEPT = set("dDsSwWtnrfa")


class Untranslatable(ValueError):
    """The pattern uses Java regex features that have no faithful Python equivalent here."""


# ------------------------------------------------------------------------ Unicode categories


@lru_cache(maxsize=1)
def _category_table() -> dict[str, list[tuple[int, int]]]:
    """Code point ranges of every two-letter general category (one pass, about 0.4 s)."""
    table: dict[str, list[tuple[int, int]]] = {}
    category = unicodedata.category
    previous = category("\0")
    start = 0
    for cp in range(1, sys.maxunicode + 1):
        current = category(chr(cp))
        if current != previous:
            table.setdefault(previous, []).append((start, cp - 1))
            previous, start = current, cp
    table.setdefault(previous, []).append((start, sys.maxunicode))
    return table


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _complement(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    nxt = 0
    for lo, hi in _merge(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= sys.maxunicode:
        out.append((nxt, sys.maxunicode))
    return out


def _categories(*names: str) -> list[tuple[int, int]]:
    table = _category_table()
    ranges: list[tuple[int, int]] = []
    for name in names:
        if len(name) == 1:
            for key, value in table.items():
                if key[0] == name:
                    ranges.extend(value)
        elif name in table:
            ranges.extend(table[name])
        else:
            raise Untranslatable(f"unknown category {name}")
    return _merge(ranges)


@lru_cache(maxsize=None)
def _property_ranges(name: str) -> tuple[tuple[int, int], ...]:
    """The code points of ``\\p{name}`` in Java's default (non-UNICODE_CHARACTER_CLASS) mode."""
    for prefix in ("gc=", "general_category=", "Is", "is"):
        if name.startswith(prefix) and name not in _ASCII_SETS:
            stripped = name[len(prefix):]
            if stripped:
                name = stripped
                break
    if name in _ASCII_SETS:
        return tuple(_ASCII_SETS[name])
    if name in ("Whitespace", "White_Space", "WhiteSpace"):
        return tuple(_WHITE_SPACE)
    if name in _PROPERTIES:
        return tuple(_categories(*_PROPERTIES[name]))
    table_keys = {"L", "M", "N", "P", "S", "Z", "C"}
    if name in table_keys or (len(name) == 2 and name[0] in table_keys and name[1].islower()):
        return tuple(_categories(name))
    raise Untranslatable(f"unsupported property \\p{{{name}}}")


def _class_text(ranges: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> str:
    """Ranges as the inside of a Python character class."""
    parts = []
    for lo, hi in ranges:
        parts.append(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}")
    return "".join(parts)


def _char(cp: int) -> str:
    ch = chr(cp)
    if ch.isascii() and ch.isalnum():
        return ch
    if cp <= 0xFF:
        return f"\\x{cp:02x}"
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


# ---------------------------------------------------------------------------------- translator


class _Frame:
    """One open group: where it starts in the output and which inline flags it opened."""

    def __init__(self, start: int, dotall: bool) -> None:
        self.start = start
        self.dotall = dotall
        self.inline: list[str] = []  # flag groups "(?i:" opened by mid-group "(?i)"


class _Translator:
    def __init__(self, pattern: str) -> None:
        self.src = pattern
        self.pos = 0
        self.out: list[str] = []
        self.frames: list[_Frame] = [_Frame(0, False)]
        self.last_atom: int | None = None  # output index where the last quantifiable atom starts
        self.last_kind = "none"  # none | atom | anchor | quantifier

    # -- helpers
    def _peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.src[index] if index < len(self.src) else ""

    def _emit_atom(self, text: str) -> None:
        self.last_atom = len(self.out)
        self.out.append(text)
        self.last_kind = "atom"

    def _emit_anchor(self, text: str) -> None:
        self.out.append(text)
        self.last_atom = len(self.out) - 1
        self.last_kind = "anchor"

    # -- main loop
    def run(self) -> str:
        src = self.src
        while self.pos < len(src):
            ch = src[self.pos]
            if ch == "\\":
                self._escape_outside()
            elif ch == "[":
                start = len(self.out)
                self.out.append(self._character_class())
                self.last_atom, self.last_kind = start, "atom"
            elif ch == "(":
                self._open_group()
            elif ch == ")":
                self._close_group()
            elif ch == "|":
                self._alternation()
            elif ch in "*+?{":
                self._quantifier()
            elif ch == ".":
                self.pos += 1
                self._emit_atom("." if self.frames[-1].dotall else _JAVA_DOT)
            elif ch in "^$":
                self.pos += 1
                self._emit_anchor(ch)
            else:
                self.pos += 1
                self._emit_atom(ch)
        if len(self.frames) != 1:
            raise Untranslatable("unbalanced parentheses")
        self.out.extend(")" for _ in self.frames[0].inline)
        return "".join(self.out)

    # -- groups and flags
    def _open_group(self) -> None:
        src = self.src
        start = len(self.out)
        if src.startswith("(?<", self.pos) and src[self.pos + 3:self.pos + 4] not in ("=", "!"):
            end = src.index(">", self.pos)
            self.out.append(f"(?P<{src[self.pos + 3:end]}>")
            self.pos = end + 1
        elif src.startswith("(?", self.pos) and self._peek(2) not in (":", "=", "!", ">", "<"):
            match = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])").match(src, self.pos)
            if match is None:
                raise Untranslatable("unknown group syntax")
            on, off, kind = self._flags(match.group(1)), self._flags(match.group(2) or ""), \
                match.group(3)
            self.pos = match.end()
            frame = self.frames[-1]
            if kind == ")":  # flags for the rest of the enclosing group
                if "s" in on:
                    frame.dotall = True
                if "s" in off:
                    frame.dotall = False
                flags = on + (f"-{off}" if off else "")
                if not flags:
                    return
                if start == 0 and not off and len(self.frames) == 1:
                    self.out.append(f"(?{on})")  # a leading global flag: Python accepts it
                    return
                opener = f"(?{flags}:"
                frame.inline.append(opener)
                self.out.append(opener)
                return
            dotall = ("s" in on) or (frame.dotall and "s" not in off)
            flags = on + (f"-{off}" if off else "")
            self.out.append(f"(?{flags}:" if flags else "(?:")
            self.frames.append(_Frame(start, dotall))
            return
        else:
            length = 3 if src.startswith("(?", self.pos) else 1
            if src.startswith("(?<=", self.pos) or src.startswith("(?<!", self.pos):
                length = 4
            self.out.append(src[self.pos:self.pos + length])
            self.pos += length
        self.frames.append(_Frame(start, self.frames[-1].dotall))

    @staticmethod
    def _flags(letters: str) -> str:
        kept = ""
        for letter in letters:
            if letter in "imsx":
                kept += letter
            elif letter in "ud":
                continue  # Unicode case folding / UNIX_LINES: close enough without
            else:
                raise Untranslatable(f"unsupported flag {letter}")
        return kept

    def _close_group(self) -> None:
        if len(self.frames) == 1:
            raise Untranslatable("unbalanced parentheses")
        frame = self.frames.pop()
        self.out.extend(")" for _ in frame.inline)
        self.out.append(")")
        self.pos += 1
        text = "".join(self.out[frame.start:])
        del self.out[frame.start:]
        self.out.append(text)
        self.last_atom = frame.start
        is_lookaround = text.startswith(("(?=", "(?!", "(?<=", "(?<!"))
        self.last_kind = "anchor" if is_lookaround else "atom"

    def _alternation(self) -> None:
        frame = self.frames[-1]
        self.out.extend(")" for _ in frame.inline)
        self.out.append("|")
        self.out.extend(frame.inline)
        self.pos += 1
        self.last_atom, self.last_kind = None, "none"

    # -- quantifiers
    def _quantifier(self) -> None:
        src = self.src
        ch = src[self.pos]
        if ch == "{":
            match = _QUANTIFIER.match(src, self.pos)
            if match is None:  # a literal brace, as Java reads it here
                self.pos += 1
                self._emit_atom("\\{")
                return
            text = match.group(0)
            minimum = int(match.group(1))
            self.pos = match.end()
        else:
            text = ch
            minimum = 1 if ch == "+" else 0
            self.pos += 1
        # A lazy or possessive modifier belongs to this quantifier.
        if self._peek() in ("?", "+"):
            text += self._peek()
            self.pos += 1
        if self.last_kind == "none" or self.last_atom is None:
            raise Untranslatable("quantifier without operand")
        if self.last_kind == "anchor":
            if minimum == 0:  # an optional zero-width assertion asserts nothing
                del self.out[self.last_atom:]
            self.last_kind = "anchor"
            return
        if self.last_kind == "quantifier":  # x{2}{3}: Java repeats the repetition
            inner = "".join(self.out[self.last_atom:])
            del self.out[self.last_atom:]
            self.out.append(f"(?:{inner})")
        self.out.append(text)
        self.last_kind = "quantifier"

    # -- escapes
    def _escape_outside(self) -> None:
        src = self.src
        letter = self._peek(1)
        if not letter:
            raise Untranslatable("trailing backslash")
        if letter in "pP":
            ranges = self._property()
            self._emit_atom(f"[{_class_text(ranges)}]")
            return
        if letter == "Q":
            end = src.find("\\E", self.pos + 2)
            literal = src[self.pos + 2:] if end < 0 else src[self.pos + 2:end]
            self.pos = len(src) if end < 0 else end + 2
            for ch in literal:
                self._emit_atom(re.escape(ch))
            return
        if letter in "zZ":
            self.pos += 2
            self._emit_anchor("\\Z")
            return
        if letter in "AbBG":
            if letter == "G":
                raise Untranslatable("\\G")
            self.pos += 2
            self._emit_anchor(f"\\{letter}")
            return
        if letter == "R":
            self.pos += 2
            self._emit_atom(f"(?:\\r\\n|[{_class_text(_VERTICAL)}])")
            return
        if letter == "k":
            match = re.compile(r"\\k<([A-Za-z][A-Za-z0-9]*)>").match(src, self.pos)
            if match is None:
                raise Untranslatable("bad \\k")
            self.pos = match.end()
            self._emit_atom(f"(?P={match.group(1)})")
            return
        if letter.isdigit() and letter != "0":
            match = re.compile(r"\\(\d+)").match(src, self.pos)
            assert match is not None
            self.pos = match.end()
            self._emit_atom(f"(?:\\{match.group(1)})")
            return
        item = self._escape_item()
        if isinstance(item, int):
            self._emit_atom(_char(item) if not chr(item).isalnum() else re.escape(chr(item)))
        else:
            self._emit_atom(item if item.startswith("\\") and len(item) == 2 else f"[{item}]")

    def _escape_item(self) -> int | str:
        """One escape that stands for a code point (int) or a set (class text, or ``\\w``)."""
        src = self.src
        letter = self._peek(1)
        self.pos += 2
        if letter in _ESCAPE_LETTERS_KEPT:
            simple = {"t": 9, "n": 10, "r": 13, "f": 12, "a": 7}
            return simple[letter] if letter in simple else f"\\{letter}"
        if letter == "e":
            return 0x1B
        if letter == "h":
            return _class_text(_HORIZONTAL)
        if letter == "v":
            return _class_text(_VERTICAL)
        if letter in "HV":
            return _class_text(_complement(_HORIZONTAL if letter == "H" else _VERTICAL))
        if letter == "c":
            code = ord(src[self.pos]) ^ 64
            self.pos += 1
            return code
        if letter == "x":
            if self._peek() == "{":
                end = src.index("}", self.pos)
                value = int(src[self.pos + 1:end], 16)
                self.pos = end + 1
                return value
            value = int(src[self.pos:self.pos + 2], 16)
            self.pos += 2
            return value
        if letter == "u":
            value = int(src[self.pos:self.pos + 4], 16)
            self.pos += 4
            if 0xD800 <= value <= 0xDBFF and src.startswith("\\u", self.pos):
                low = int(src[self.pos + 2:self.pos + 6], 16)
                if 0xDC00 <= low <= 0xDFFF:  # a UTF-16 pair is one code point in Java
                    self.pos += 6
                    return 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
            return value
        if letter == "0":
            match = re.compile(r"[0-3]?[0-7]{1,2}").match(src, self.pos)
            if match is None:
                raise Untranslatable("bad octal escape")
            self.pos = match.end()
            return int(match.group(0), 8)
        if letter.isascii() and letter.isalpha():
            raise Untranslatable(f"unsupported escape \\{letter}")
        return ord(letter)

    def _property(self) -> list[tuple[int, int]]:
        src = self.src
        negated = src[self.pos + 1] == "P"
        if self._peek(2) == "{":
            end = src.index("}", self.pos)
            name = src[self.pos + 3:end]
            self.pos = end + 1
        else:
            name = self._peek(2)
            self.pos += 3
        ranges = list(_property_ranges(name))
        return _complement(ranges) if negated else ranges

    # -- character classes
    def _character_class(self) -> str:
        """``[...]`` at ``self.pos`` as a Python class, or a lookahead chain for ``&&``."""
        negated, operands = self._class_operands()
        texts = [self._render_operand(operand) for operand in operands]
        if len(texts) == 1:
            negate, body = texts[0]
            return f"[{'^' if negated != negate else ''}{body}]"
        if negated:
            raise Untranslatable("negated class with intersection")
        rendered = [f"[{'^' if negate else ''}{body}]" for negate, body in texts]
        return "(?:" + "".join(f"(?={text})" for text in rendered[1:]) + rendered[0] + ")"

    def _class_operands(self) -> tuple[bool, list[list[_Item]]]:
        """Parse ``[...]``: its negation and its ``&&`` operands, each a list of items."""
        src = self.src
        self.pos += 1  # the "["
        negated = self._peek() == "^"
        if negated:
            self.pos += 1
        operands: list[list[_Item]] = [[]]
        first = True
        while True:
            if self.pos >= len(src):
                raise Untranslatable("unterminated class")
            ch = src[self.pos]
            items = operands[-1]
            if ch == "]" and not first:
                self.pos += 1
                break
            first = False
            if ch == "[":
                inner_negated, inner = self._class_operands()
                if len(inner) != 1:
                    raise Untranslatable("nested intersection")
                negate, body = self._render_operand(inner[0])
                items.append(("class", body, negate != inner_negated))
            elif src.startswith("&&", self.pos):
                self.pos += 2
                operands.append([])
            elif ch == "\\":
                if self._peek(1) in "pP":
                    items.append(("set", _class_text(self._property()), False))
                elif self._peek(1) == "Q":
                    end = src.find("\\E", self.pos + 2)
                    literal = src[self.pos + 2:] if end < 0 else src[self.pos + 2:end]
                    self.pos = len(src) if end < 0 else end + 2
                    items.extend(("lit", ord(c), False) for c in literal)
                else:
                    item = self._escape_item()
                    if isinstance(item, int):
                        items.append(("lit", item, False))
                    else:
                        items.append(("set", item, False))
            elif ch == "-":
                self.pos += 1
                items.append(("dash", 0, False))
            else:
                self.pos += 1
                items.append(("lit", ord(ch), False))
        return negated, operands

    @staticmethod
    def _render_operand(items: list[_Item]) -> tuple[bool, str]:
        """Items as class text (and whether it is negated), forming Java's ranges.

        A range needs a single character on both sides of ``-``; a dash next to a class escape,
        or at either end, is a literal. A union with a negated nested class cannot be written.
        """
        if len(items) == 1 and items[0][0] == "class":
            return bool(items[0][2]), str(items[0][1])
        out: list[str] = []
        index = 0
        while index < len(items):
            kind, value, negate = items[index]
            if (
                kind == "lit"
                and index + 2 < len(items)
                and items[index + 1][0] == "dash"
                and items[index + 2][0] == "lit"
            ):
                high = int(items[index + 2][1])
                if high < int(value):
                    raise Untranslatable("reversed range")
                out.append(f"{_char(int(value))}-{_char(high)}")
                index += 3
                continue
            if kind == "dash":
                out.append("\\-")
            elif kind == "lit":
                out.append(_char(int(value)))
            elif kind == "class" and negate:
                raise Untranslatable("union with a negated nested class")
            else:
                out.append(str(value))
            index += 1
        return False, "".join(out)


#: A parsed class member: ("lit", code point), ("set", class text), ("dash", 0) or
#: ("class", nested class text, negated).
_Item = tuple[str, "int | str", bool]


def translate(pattern: str) -> str:
    """The Python equivalent of a Java pattern; raises :class:`Untranslatable`."""
    try:
        return _Translator(pattern).run()
    except Untranslatable:
        raise
    except (ValueError, IndexError) as exc:
        raise Untranslatable(str(exc)) from exc


@lru_cache(maxsize=None)
def compile_java(pattern: str) -> re.Pattern[str] | None:
    """The compiled Python form of a Java pattern, or None when it cannot be expressed faithfully.

    Use ``.fullmatch`` on the result: that is Java's ``Matcher.matches()``.
    """
    try:
        translated = translate(pattern)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "possible nested set" etc.: meaning would differ
            return re.compile(translated, re.ASCII)
    except (Untranslatable, re.error, FutureWarning, DeprecationWarning, RecursionError):
        return None
