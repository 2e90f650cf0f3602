"""Staging-label moves and password generation, without a server."""

from __future__ import annotations

import string

import pytest

from seedbed.services.secretsmanager import staging
from seedbed.services.secretsmanager.errors import InvalidParameter, LimitExceeded
from seedbed.services.secretsmanager.passwords import PUNCTUATION, random_password


def test_new_current_version_pushes_the_old_one_to_previous() -> None:
    stages = {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
    after = staging.attach(stages, "v3", ["AWSCURRENT"])
    assert after == {"v1": [], "v2": ["AWSPREVIOUS"], "v3": ["AWSCURRENT"]}
    assert stages == {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}  # not changed in place


def test_rolling_back_swaps_current_and_previous() -> None:
    stages = {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
    after = staging.move(stages, "AWSCURRENT", "v2", "v1")
    assert after == {"v1": ["AWSCURRENT"], "v2": ["AWSPREVIOUS"]}


def test_moving_an_attached_label_needs_remove_from() -> None:
    stages = {"v1": ["AWSCURRENT"], "v2": []}
    with pytest.raises(InvalidParameter):
        staging.move(stages, "AWSCURRENT", None, "v2")
    with pytest.raises(InvalidParameter):
        staging.move(stages, "AWSCURRENT", "v2", "v2")
    with pytest.raises(InvalidParameter):
        staging.move(stages, "AWSCURRENT", "v1", None)  # current can't just be removed
    with pytest.raises(InvalidParameter):
        staging.move(stages, "custom", None, "nope")
    assert staging.move(stages, "custom", None, "v2") == {"v1": ["AWSCURRENT"], "v2": ["custom"]}


def test_label_limit_and_deprecated_versions() -> None:
    with pytest.raises(LimitExceeded):
        staging.attach({"v": []}, "v", [f"l{i}" for i in range(21)])
    versions = [f"v{i}" for i in range(102)]  # newest first
    stages = {v: [] for v in versions}
    stages["v101"] = ["keep"]
    assert staging.deprecated_to_drop(stages, versions) == ["v100", "v99"]


def test_passwords_have_each_required_class() -> None:
    for _ in range(50):
        password = random_password(8)
        assert len(password) == 8
        for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits, PUNCTUATION):
            assert set(password) & set(chars)
        assert " " not in password


def test_password_exclusions() -> None:
    password = random_password(200, exclude_punctuation=True, exclude_characters="aeiou0")
    assert not set(password) & set(PUNCTUATION + "aeiou0")
    assert set(
        random_password(50, exclude_numbers=True, exclude_punctuation=True, exclude_uppercase=True)
    ) <= set(string.ascii_lowercase)
    with pytest.raises(InvalidParameter):
        random_password(2)  # four classes required
    with pytest.raises(InvalidParameter):
        random_password(
            5,
            exclude_numbers=True,
            exclude_punctuation=True,
            exclude_uppercase=True,
            exclude_lowercase=True,
        )
