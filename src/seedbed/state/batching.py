"""A queue and one writer thread that commits rows in batches.

Used for records that every request makes (the audit trail, IAM decisions): recording one costs
the request a queue put instead of a database commit. Rows are committed every
``FLUSH_SECONDS`` or ``BATCH_SIZE`` rows; :meth:`BatchWriter.flush` waits until everything queued
so far is written, and :meth:`BatchWriter.close` flushes and stops the thread.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

BATCH_SIZE = 500
FLUSH_SECONDS = 0.05


class BatchWriter:
    """Subclasses implement :meth:`_write` (and may override :meth:`_started`)."""

    def __init__(self, thread_name: str) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self._thread.start()

    def _enqueue(self, item: Any) -> None:
        self._queue.put(item)

    def flush(self, timeout: float = 10.0) -> None:
        """Block until every row queued so far is committed."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _started(self) -> None:
        """Runs once on the writer thread before the first batch."""

    def _write(self, batch: list[Any]) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        self._started()
        while True:
            item = self._queue.get()
            batch: list[Any] = []
            waiters: list[threading.Event] = []
            stop = False
            while True:
                if item is None:
                    stop = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    batch.append(item)
                if len(batch) >= BATCH_SIZE:
                    break
                try:
                    item = self._queue.get(timeout=FLUSH_SECONDS if not waiters and not stop else 0)
                except queue.Empty:
                    break
            if batch:
                self._write(batch)
            for waiter in waiters:
                waiter.set()
            if stop:
                return
