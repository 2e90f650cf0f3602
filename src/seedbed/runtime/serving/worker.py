"""One model server instance: ``python -m seedbed.runtime.serving.worker --socket S --model-dir D
--runtime R [--framework F] [--code-dir C]``.

It loads the model once, then listens on the Unix socket ``S`` and answers frames (see
:mod:`.protocol`) one at a time per connection. It prints ``SEEDBED-WORKER-READY`` on stdout when it
listens, or ``SEEDBED-WORKER-FAILED: <reason>`` and exits 1 when the model cannot load; everything
else it prints (and what the user's code prints) goes to the endpoint's CloudWatch log stream.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import sys
import threading
import time
import traceback
from pathlib import Path

from seedbed.runtime.serving.protocol import HEADER, decode, encode

READY = "SEEDBED-WORKER-READY"
FAILED = "SEEDBED-WORKER-FAILED:"


class Connection:
    """One client connection: bytes received so far, answered frame by frame."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buffer = bytearray()

    def frames(self) -> list[tuple[dict, bytes]]:
        out = []
        while len(self.buffer) >= HEADER.size:
            meta_len, body_len = HEADER.unpack_from(self.buffer)
            end = HEADER.size + meta_len + body_len
            if len(self.buffer) < end:
                break
            payload = bytes(self.buffer[HEADER.size:end])
            del self.buffer[:end]
            out.append(decode(payload, meta_len))
        return out


def answer(handler: object, meta: dict, body: bytes) -> bytes:
    from seedbed.runtime.serving.handlers import HandlerError

    if meta.get("op") == "ping":
        return encode({"s": 200}, b"")
    started = time.perf_counter()
    try:
        out, content_type = handler.invoke(  # type: ignore[attr-defined]
            body, meta.get("ct") or "", meta.get("accept") or "", meta.get("ca") or "")
        reply = {"s": 200, "ct": content_type}
    except HandlerError as exc:
        out, reply = exc.message.encode(), {"s": exc.status, "ct": "text/plain"}
    except Exception as exc:  # noqa: BLE001 - the model's own failure, answered as a 500
        traceback.print_exc()
        sys.stderr.flush()
        out, reply = f"{type(exc).__name__}: {exc}".encode(), {"s": 500, "ct": "text/plain"}
    reply["ms"] = int((time.perf_counter() - started) * 1e6)
    return encode(reply, out)


def serve(server: socket.socket, handler: object) -> None:
    """One thread, one request at a time (as a model server instance answers), any number of
    connections: a selector loop keeps the hot path on the main thread."""
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, None)
    spin = float(os.environ.get("SEEDBED_SERVING_SPIN_SECONDS", "0.002"))
    last = 0.0
    while True:
        # Poll without sleeping for a moment after an answer: the next request of a steady
        # client then finds this process (and its caches) awake, which halves a small model's
        # latency; an idle instance blocks as usual.
        events = selector.select(0 if time.perf_counter() - last < spin else None)
        if not events:
            continue
        for key, _ in events:
            if key.data is None:
                conn, _ = server.accept()
                selector.register(conn, selectors.EVENT_READ, Connection(conn))
                continue
            state: Connection = key.data
            try:
                chunk = state.conn.recv(1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                selector.unregister(state.conn)
                state.conn.close()
                continue
            state.buffer += chunk
            try:
                for meta, body in state.frames():
                    state.conn.sendall(answer(handler, meta, body))
                last = time.perf_counter()
            except OSError:
                selector.unregister(state.conn)
                state.conn.close()


def _exit_with_parent() -> None:
    """The server holds our stdin open: end-of-file means it is gone, so this instance goes too."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--runtime", required=True)
    parser.add_argument("--framework", default="generic")
    parser.add_argument("--code-dir", default=None)
    args = parser.parse_args(argv)
    try:
        from seedbed.runtime.serving import handlers

        handler = handlers.load(
            args.runtime, args.framework, Path(args.model_dir), dict(os.environ),
            Path(args.code_dir) if args.code_dir else None,
        )
    except BaseException as exc:  # noqa: BLE001 - whatever stops the model from loading
        traceback.print_exc()
        print(f"{FAILED} {type(exc).__name__}: {exc}".replace("\n", " "), flush=True)
        return 1
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    server.bind(args.socket)
    server.listen(64)
    print(READY, flush=True)
    serve(server, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
