"""Listing pages against a brute-force model of S3's prefix/delimiter/max-keys semantics."""

from __future__ import annotations

import bisect
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from seedbed.services.s3 import listing
from seedbed.services.s3.listing import Position


def reference(keys: list[str], prefix: str, delimiter: str | None) -> list[str]:
    """Every entry of the full listing: keys and roll-ups, in order."""
    out: list[str] = []
    for key in sorted(set(keys), key=lambda k: k.encode()):
        if not key.startswith(prefix):
            continue
        rolled = listing.common_prefix(key, prefix, delimiter)
        entry = rolled if rolled is not None else key
        if not out or out[-1] != entry:
            out.append(entry)
    return out


def fetcher(keys: list[str], prefix: str):  # type: ignore[no-untyped-def]
    ordered = sorted(set(keys))
    upper = listing.prefix_upper(prefix) if prefix else None

    def fetch(position: Position, limit: int) -> list[SimpleNamespace]:
        rows = []
        start = 0
        if position.key is not None:
            start = (bisect.bisect_left if position.inclusive else bisect.bisect_right)(ordered, position.key)
        for key in ordered[start:]:
            if key < prefix:
                continue
            if upper is not None and key >= upper:
                break
            rows.append(SimpleNamespace(key=key))
            if len(rows) == limit:
                break
        return rows

    return fetch


ALPHABET = st.sampled_from(["a", "b", "/", "-", "é", "z"])
KEYS = st.lists(st.text(ALPHABET, min_size=1, max_size=6), max_size=25)


@settings(max_examples=150, deadline=None)
@given(KEYS, st.text(ALPHABET, max_size=2), st.sampled_from([None, "/", "-", "ab"]), st.integers(1, 5))
def test_pages_cover_the_listing(keys: list[str], prefix: str, delimiter: str | None, max_keys: int) -> None:
    expected = reference(keys, prefix, delimiter)
    seen: list[str] = []
    marker: str | None = None
    for _ in range(100):
        start = listing.resume_after(marker, prefix, delimiter)
        page, _ = listing.walk(fetcher(keys, prefix), prefix, delimiter, start, max_keys)
        assert len(page.entries) <= max_keys
        seen += [e if isinstance(e, str) else e.key for e in page.entries]
        if not page.truncated:
            break
        marker = page.last
    assert seen == expected


def test_prefix_upper() -> None:
    assert listing.prefix_upper("dir/") == "dir0"
    assert listing.prefix_upper("") is None
    assert listing.prefix_upper("a\U0010ffff") == "b"


def test_tokens_round_trip() -> None:
    assert listing.decode_token(listing.encode_token("ключ/x")) == "ключ/x"
