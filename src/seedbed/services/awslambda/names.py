"""Function names, ARNs and qualifiers, as Lambda reads them.

A function is named by its name (``my-function``), a partial ARN (``123456789012:function:my-function``)
or its ARN, each optionally followed by ``:qualifier`` (a version number, ``$LATEST`` or an alias);
a separate ``Qualifier`` parameter must then agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from seedbed.services.awslambda.errors import InvalidParameterValue
from seedbed.state import arns

LATEST = "$LATEST"
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ALIAS = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}$")
QUALIFIER = re.compile(r"^(\$LATEST|[a-zA-Z0-9_-]{1,128})$")
_FULL = re.compile(
    r"^(?:arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?(?P<name>[a-zA-Z0-9_-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$"
)


@dataclass(frozen=True)
class FunctionRef:
    account: str
    region: str
    name: str
    qualifier: str | None

    @property
    def arn(self) -> str:
        return function_arn(self.account, self.region, self.name)

    @property
    def qualified_arn(self) -> str:
        return function_arn(self.account, self.region, self.name, self.qualifier)


def function_arn(account: str, region: str, name: str, qualifier: str | None = None) -> str:
    resource = f"function:{name}" + (f":{qualifier}" if qualifier else "")
    return arns.build("lambda", resource, account, region)


def parse(text: str, account: str, region: str, qualifier: str | None = None) -> FunctionRef:
    """The function ``text`` names, seen from ``account`` in ``region``; ``qualifier`` is the
    request's separate ``Qualifier`` parameter (it must agree with one in the name)."""
    match = _FULL.match(text or "")
    if match is None or (text.startswith("arn:") and match.group("region") is None):
        raise InvalidParameterValue(f"1 validation error detected: Value '{text}' at 'functionName' failed to satisfy constraint: "
                                    "Member must satisfy regular expression pattern: "
                                    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?"
                                    r"([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?")
    name = match.group("name")
    if len(name) > 64:
        raise InvalidParameterValue(f"1 validation error detected: Value '{text}' at 'functionName' failed to satisfy "
                                    "constraint: Member must have length less than or equal to 64")
    arn_region = match.group("region")
    if arn_region and arn_region != region:
        raise InvalidParameterValue(
            f"Functions from '{arn_region}' are not reachable in this region ('{region}')"
        )
    derived = match.group("qualifier")
    if derived and qualifier and derived != qualifier:
        raise InvalidParameterValue("The derived qualifier from the function name does not match the specified qualifier.")
    return FunctionRef(match.group("account") or account, region, name, derived or qualifier or None)


def parse_arn(resource_arn: str) -> FunctionRef | None:
    """A function ARN (qualified or not) taken apart; None when it is not one."""
    parts = resource_arn.split(":")
    if len(parts) not in (7, 8) or parts[0] != "arn" or parts[2] != "lambda" or parts[5] != "function":
        return None
    if not NAME.match(parts[6]):
        return None
    return FunctionRef(parts[4], parts[3], parts[6], parts[7] if len(parts) == 8 else None)


def check_alias_name(name: str) -> None:
    if not ALIAS.match(name):
        raise InvalidParameterValue(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        )
