"""Master keys kept in the data dir (or given by environment variable for replicas).

KMS and S3 each wrap their data keys with a 32-byte master key of their own. The key comes from
an environment variable (base64, so several replicas can share it) or from a file in the data dir,
created once with mode 0600. Creation links a fully written temporary file into place, so two
processes starting at once never replace each other's key.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

KEY_BYTES = 32


def load_or_create(data_dir: Path, file_name: str, env_name: str) -> bytes:
    """The master key named by ``env_name`` or stored in ``data_dir / file_name``."""
    env = os.environ.get(env_name)
    if env:
        key = base64.b64decode(env)
        if len(key) != KEY_BYTES:
            raise ValueError(f"{env_name} must be {KEY_BYTES} bytes, base64-encoded")
        return key
    path = data_dir / file_name
    if path.exists():
        key = base64.b64decode(path.read_text().strip())
        if len(key) != KEY_BYTES:
            raise ValueError(f"{path} does not hold a {KEY_BYTES}-byte key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(f"{file_name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key).decode())
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # never replace a key that another process wrote first
    except FileExistsError:
        return load_or_create(data_dir, file_name, env_name)
    finally:
        os.unlink(tmp)
    return key
