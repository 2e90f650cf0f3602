"""The entry point shape of the images Seedbed plays (Model Monitor, Clarify): run, print the
outcome, and on a known error write the container contract's failure file and exit 1, so the
processing job ends Failed with that reason."""

from __future__ import annotations

import os
from collections.abc import Callable

FAILURE = "/opt/ml/output/failure"


def image_main(run: Callable[[dict[str, str]], str], errors: type[Exception], prefix: str) -> int:
    """``run(environment)`` returns the closing message; ``errors`` are the job's own failures."""
    try:
        message = run(dict(os.environ))
    except errors as exc:
        text = f"{prefix}: {exc}"
        print(text, flush=True)
        try:
            os.makedirs(os.path.dirname(FAILURE), exist_ok=True)
            with open(FAILURE, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError:
            pass
        return 1
    print(message, flush=True)
    return 0
