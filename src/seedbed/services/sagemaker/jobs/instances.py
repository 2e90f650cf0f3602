"""Instance types as resource requests: vCPUs, memory (MiB) and GPUs of the common ml.* types.

Locally the numbers size Ray placements and fill ``SM_NUM_CPUS`` / ``SM_NUM_GPUS`` (capped by what
the machine has: a job never waits for CPUs the machine lacks). Unknown types are read from their
size suffix (``xlarge`` = 4 vCPUs, 16 GiB, ``2xlarge`` = 8, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Resources:
    cpus: int
    memory_mb: int
    gpus: int = 0


_G = 1024
TABLE: dict[str, Resources] = {
    "ml.t3.medium": Resources(2, 4 * _G), "ml.t3.large": Resources(2, 8 * _G),
    "ml.t3.xlarge": Resources(4, 16 * _G), "ml.t3.2xlarge": Resources(8, 32 * _G),
    "ml.m4.xlarge": Resources(4, 16 * _G), "ml.m4.2xlarge": Resources(8, 32 * _G),
    "ml.m5.large": Resources(2, 8 * _G), "ml.m5.xlarge": Resources(4, 16 * _G),
    "ml.m5.2xlarge": Resources(8, 32 * _G), "ml.m5.4xlarge": Resources(16, 64 * _G),
    "ml.m5.12xlarge": Resources(48, 192 * _G), "ml.m5.24xlarge": Resources(96, 384 * _G),
    "ml.c4.xlarge": Resources(4, int(7.5 * _G)), "ml.c5.xlarge": Resources(4, 8 * _G),
    "ml.c5.2xlarge": Resources(8, 16 * _G), "ml.c5.4xlarge": Resources(16, 32 * _G),
    "ml.c5.9xlarge": Resources(36, 72 * _G), "ml.c5.18xlarge": Resources(72, 144 * _G),
    "ml.r5.large": Resources(2, 16 * _G), "ml.r5.xlarge": Resources(4, 32 * _G),
    "ml.r5.2xlarge": Resources(8, 64 * _G),
    "ml.p3.2xlarge": Resources(8, 61 * _G, 1), "ml.p3.8xlarge": Resources(32, 244 * _G, 4),
    "ml.p3.16xlarge": Resources(64, 488 * _G, 8), "ml.p4d.24xlarge": Resources(96, 1152 * _G, 8),
    "ml.g4dn.xlarge": Resources(4, 16 * _G, 1), "ml.g4dn.2xlarge": Resources(8, 32 * _G, 1),
    "ml.g4dn.12xlarge": Resources(48, 192 * _G, 4), "ml.g5.xlarge": Resources(4, 16 * _G, 1),
    "ml.g5.2xlarge": Resources(8, 32 * _G, 1), "ml.g5.12xlarge": Resources(48, 192 * _G, 4),
    "ml.g5.48xlarge": Resources(192, 768 * _G, 8),
}

_SIZE = re.compile(r"^ml\.[a-z0-9-]+\.(\d*)(x?large|medium|small)$")


def resources(instance_type: str | None) -> Resources:
    if not instance_type or instance_type == "local":
        return Resources(1, 2 * _G)
    known = TABLE.get(instance_type)
    if known is not None:
        return known
    match = _SIZE.match(instance_type)
    if match is None:
        return Resources(2, 8 * _G)
    count, size = match.group(1), match.group(2)
    if size in ("medium", "small"):
        return Resources(2, 4 * _G)
    if size == "large":
        return Resources(2, 8 * _G)
    cpus = 4 * (int(count) if count else 1)
    return Resources(cpus, cpus * 4 * _G, 1 if re.match(r"^ml\.(p|g)\d", instance_type) else 0)
