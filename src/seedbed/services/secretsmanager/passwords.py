"""GetRandomPassword: passwords from a cryptographic random source, with AWS's character classes."""

from __future__ import annotations

import secrets
import string

from seedbed.services.secretsmanager.errors import InvalidParameter

PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
DEFAULT_LENGTH = 32
_random = secrets.SystemRandom()


def random_password(
    length: int = DEFAULT_LENGTH,
    *,
    exclude_characters: str = "",
    exclude_numbers: bool = False,
    exclude_punctuation: bool = False,
    exclude_uppercase: bool = False,
    exclude_lowercase: bool = False,
    include_space: bool = False,
    require_each_included_type: bool = True,
) -> str:
    """A password of ``length`` characters; with ``require_each_included_type`` it has at least
    one character of every class that is not excluded."""
    classes = [
        chars
        for chars, excluded in (
            (string.ascii_lowercase, exclude_lowercase),
            (string.ascii_uppercase, exclude_uppercase),
            (string.digits, exclude_numbers),
            (PUNCTUATION, exclude_punctuation),
        )
        if not excluded
    ]
    banned = set(exclude_characters)
    classes = [
        kept for kept in ("".join(c for c in chars if c not in banned) for chars in classes) if kept
    ]
    # A space may appear but is never required, as AWS words RequireEachIncludedType.
    alphabet = "".join(classes) + (" " if include_space and " " not in banned else "")
    if not alphabet:
        raise InvalidParameter("The password can't be generated: every character is excluded.")
    if not require_each_included_type:
        return "".join(secrets.choice(alphabet) for _ in range(length))
    if length < len(classes):
        raise InvalidParameter(
            f"The password length {length} is too short to include each of the {len(classes)} "
            "required character types."
        )
    chars = [secrets.choice(chars) for chars in classes]
    chars += [secrets.choice(alphabet) for _ in range(length - len(classes))]
    _random.shuffle(chars)
    return "".join(chars)
