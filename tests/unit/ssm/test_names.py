"""Parameter names, paths, selectors and labels, without a server."""

from __future__ import annotations

import pytest

from seedbed.services.ssm import names
from seedbed.services.ssm.errors import HierarchyLevelLimitExceeded, Validation


@pytest.mark.parametrize("name", ["simple", "/a/b/c", "/x.y-z_1", "/A" * 15, "a" * 1011])
def test_valid_names(name: str) -> None:
    names.check_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "a/b",
        "/aws/x",
        "AWSx",
        "ssm-x",
        "/Ssm/x",
        "/a//b",
        "/a/",
        "/",
        "sp ace",
        "a:b",
        "é",
        "a" * 1012,
    ],
)
def test_invalid_names(name: str) -> None:
    with pytest.raises(Validation):
        names.check_name(name)


def test_hierarchy_depth() -> None:
    with pytest.raises(HierarchyLevelLimitExceeded):
        names.check_name("/a" * 16)


def test_selectors() -> None:
    assert names.parse("/a/b") == names.Selector(("/a/b",))
    assert names.parse("/a/b:3") == names.Selector(("/a/b",), version=3)
    assert names.parse("/a/b:prod").label == "prod"
    assert names.parse("/a/b:prod").text == ":prod"
    assert names.parse("/a:" + "9" * 40).version == 0
    assert names.parse("/a:²").label == "²"
    arn = "arn:aws:ssm:us-east-1:000000000000:parameter/a/b:2"
    assert names.parse(arn) == names.Selector(("/a/b",), version=2)
    top = names.parse("arn:aws:ssm:us-east-1:000000000000:parameter/top")
    assert top.names == ("top", "/top")
    assert names.parse("arn:aws:ssm:us-east-1:000000000000:document/x").names == ()


def test_paths() -> None:
    assert names.check_path("/a/b/") == "/a/b"
    assert names.check_path("/") == "/"
    assert names.check_path("/aws/service") == "/aws/service"  # public parameters are readable
    for bad in ("a/b", "/a//b", "/a b"):
        with pytest.raises(Validation):
            names.check_path(bad)
    assert names.under("/a", "/a/b", False) and not names.under("/a", "/a/b/c", False)
    assert names.under("/a", "/a/b/c", True) and not names.under("/a", "/ab", True)
    assert names.under("/", "/x", False) and not names.under("/", "x", True)


def test_labels_and_arns() -> None:
    assert names.label_ok("prod") and names.label_ok("v1.2-rc_3")
    for bad in ("1st", "awsy", "SSMx", "a b", "x" * 101, ""):
        assert not names.label_ok(bad)
    assert names.arn("1", "eu-west-1", "/a/b") == "arn:aws:ssm:eu-west-1:1:parameter/a/b"
    assert names.arn("1", "eu-west-1", "top") == "arn:aws:ssm:eu-west-1:1:parameter/top"
