"""Parameter names, paths, selectors, labels and ARNs, checked as Parameter Store checks them.

A name is one segment (``db-password``) or a fully qualified path (``/app/prod/db-password``) of
at most :data:`MAX_DEPTH` levels; segments use letters, digits, ``.``, ``-`` and ``_``; the
first may not begin with ``aws`` or ``ssm`` in any case. Reads also take ``name:version``,
``name:label`` and the parameter's ARN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from seedbed.services.ssm.errors import HierarchyLevelLimitExceeded, Validation
from seedbed.state import arns

MAX_NAME_LENGTH = 1011
MAX_DEPTH = 15
_SEGMENT = re.compile(r"^[a-zA-Z0-9_.\-]+$")
_LABEL = re.compile(r"^[a-zA-Z0-9_.\-]{1,100}$")
_RESERVED = ("aws", "ssm")

INVALID_NAME = (
    'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a '
    "path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a "
    "mix of letters, numbers and the following 3 symbols .-_"
)
INVALID_PATH = (
    "The parameter doesn't meet the parameter name requirements. The parameter name must begin "
    'with a forward slash "/". It must use only letters, numbers, or the following symbols: . '
    "(period), - (hyphen), _ (underscore). All sub-paths, if specified, must use the forward "
    'slash symbol "/". Valid example: /get/parameters2-/by1./path0_.'
)


@dataclass(frozen=True)
class Selector:
    """What a read names: a parameter, and optionally one version or label of it."""

    names: tuple[str, ...]  # candidate names (an ARN of ``parameter/x`` may mean x or /x)
    version: int | None = None
    label: str | None = None

    @property
    def text(self) -> str | None:
        """The ``Selector`` member of the answer (``:3`` or ``:label``)."""
        if self.version is not None:
            return f":{self.version}"
        if self.label is not None:
            return f":{self.label}"
        return None


def _segments(name: str) -> list[str]:
    return name[1:].split("/") if name.startswith("/") else [name]


def check_name(name: str) -> None:
    """Raise what PutParameter raises for a name it refuses."""
    if len(name) > MAX_NAME_LENGTH:
        raise Validation(
            f"Parameter name: the name is {len(name)} characters "
            f"long; the maximum is {MAX_NAME_LENGTH}."
        )
    if "/" in name and not name.startswith("/"):
        raise Validation("Parameter name must be a fully qualified name.")
    segments = _segments(name)
    if not all(_SEGMENT.match(s) for s in segments) or segments[0].lower().startswith(_RESERVED):
        raise Validation(INVALID_NAME)
    if name.count("/") > MAX_DEPTH:
        raise HierarchyLevelLimitExceeded(
            f"A hierarchy can have a maximum of {MAX_DEPTH} levels. {name} has {name.count('/')}."
        )


def valid_name(name: str) -> bool:
    try:
        check_name(name)
    except (Validation, HierarchyLevelLimitExceeded):
        return False
    return True


def check_path(path: str) -> str:
    """A path for GetParametersByPath or a Path filter, without its trailing slash (``/`` stays)."""
    if not path.startswith("/"):
        raise Validation(INVALID_PATH)
    trimmed = path.rstrip("/") or "/"
    if trimmed != "/" and not all(_SEGMENT.match(s) for s in _segments(trimmed)):
        raise Validation(INVALID_PATH)
    if trimmed.count("/") > MAX_DEPTH:
        raise HierarchyLevelLimitExceeded(f"A hierarchy can have a maximum of {MAX_DEPTH} levels.")
    return trimmed


def under(path: str, name: str, recursive: bool) -> bool:
    """Whether ``name`` is below ``path`` (one level down unless ``recursive``)."""
    prefix = "/" if path == "/" else path + "/"
    if not name.startswith(prefix):
        return False
    return recursive or "/" not in name[len(prefix) :]


def parse(text: str) -> Selector:
    """``name``, ``name:3``, ``name:label``, or the ARN of any of those."""
    if text.startswith("arn:"):
        parts = text.split(":", 5)
        resource = parts[5] if len(parts) == 6 else ""
        if not resource.startswith("parameter/"):
            return Selector(())
        base, _, choice = resource[len("parameter/") :].partition(":")
        candidates = tuple(n for n in (base, "/" + base) if valid_name(n))
    else:
        base, _, choice = text.partition(":")
        candidates = (base,)
    if not choice:
        return Selector(candidates)
    if choice.isascii() and choice.isdigit():
        # A number beyond any version (and any database integer) names no version: 0.
        number = int(choice) if len(choice) <= 18 else 0
        return Selector(candidates, version=number)
    return Selector(candidates, label=choice)


def arn(account_id: str, region: str, name: str) -> str:
    """``arn:aws:ssm:<region>:<account>:parameter/<name without its leading slash>``."""
    return arns.build("ssm", "parameter/" + name.removeprefix("/"), account_id, region)


def label_ok(label: str) -> bool:
    """Labels: up to 100 of letters, digits, ``.-_``; not starting with a digit, aws or ssm."""
    return (
        bool(_LABEL.match(label))
        and not label[0].isdigit()
        and not label.lower().startswith(_RESERVED)
    )
