"""The Lambda Python runtime, as a worker process: imports the handler once, then runs invocations.

Run as ``python -I -u worker.py`` with the function's environment (see
:mod:`seedbed.runtime.lambda_.pool`), in the unpacked code directory. Standard library only, and
nothing of Seedbed: the function sees the interpreter's site-packages (boto3 and friends, as the
AWS runtime bundles boto3), its own code first on ``sys.path``, then its installed requirements.

Protocol (JSON lines): at start the worker moves the pipes Seedbed gave it as stdin/stdout to
private descriptors, points file descriptors 1 and 2 at a pipe of its own (so ``print``, the
``logging`` module and child processes all land in the function's log), and runs the Init phase.
It then writes ``{"op": "ready", "init_ms", "error"}`` and reads requests
``{"op": "invoke", "id", "payload", "deadline_ms", "arn", "client_context"}``. While a handler runs,
its output streams back as ``{"op": "log", "text"}``; the invocation ends with ``{"op": "result",
"id", "ok", "payload" | "error", "duration_ms", "max_memory_mb"}`` once all output before it has
been sent. Errors are the JSON documents the AWS Python runtime returns (``errorMessage``,
``errorType``, ``requestId``, ``stackTrace``). Within one log message, newlines are sent as
``\\r`` so that a multi-line message (a traceback, a logging record) stays one log event, as the
AWS runtime keeps it.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import sys
import threading
import time
import traceback
from typing import Any

MARKER = b"\x00seedbed-lambda-flush\x00\n"


class Channel:
    """The private pipe to Seedbed; writes from the log thread and the main thread interleave
    whole messages only."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.reader = os.fdopen(read_fd, "rb", buffering=1 << 16)
        self.writer = os.fdopen(write_fd, "wb", buffering=0)
        self.lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        with self.lock:
            self.writer.write(data)

    def receive(self) -> dict[str, Any] | None:
        line = self.reader.readline()
        return json.loads(line) if line else None


class Output:
    """Reads what the function writes to fds 1 and 2 and forwards it as log messages."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        read_fd, write_fd = os.pipe()
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.flushed = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lambda-output", daemon=True)

    def start(self) -> None:
        os.dup2(self.write_fd, 1)
        os.dup2(self.write_fd, 2)
        os.close(self.write_fd)
        self.thread.start()

    def _run(self) -> None:
        pending = b""
        while True:
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                return
            pending += chunk
            while True:
                at = pending.find(MARKER)
                if at < 0:
                    break
                if at:
                    self._forward(pending[:at])
                pending = pending[at + len(MARKER):]
                self.flushed.set()
            # Keep a possible partial marker back; forward everything else now.
            keep = 0
            for size in range(min(len(MARKER) - 1, len(pending)), 0, -1):
                if MARKER.startswith(pending[-size:]):
                    keep = size
                    break
            if len(pending) > keep:
                self._forward(pending[: len(pending) - keep])
                pending = pending[len(pending) - keep:]

    def _forward(self, data: bytes) -> None:
        self.channel.send({"op": "log", "text": data.decode("utf-8", "replace")})

    def flush(self) -> None:
        """Wait until everything written so far has been forwarded."""
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110  (user code may have replaced the streams)
                pass
        self.flushed.clear()
        os.write(1, MARKER)
        self.flushed.wait(5)


def one_event(text: str) -> str:
    """A message that must stay one log event: inner newlines become carriage returns."""
    return text.rstrip("\n").replace("\n", "\r") + "\n"


class LambdaLoggerHandler(logging.Handler):
    """The AWS runtime's root handler: ``[LEVEL]\\ttimestamp\\trequest id\\tmessage``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
            line = f"[{record.levelname}]\t{stamp}\t{CURRENT.request_id}\t{message}"
            os.write(1, one_event(line).encode("utf-8", "replace"))
        except Exception:  # noqa: BLE001
            self.handleError(record)


class _Current:
    request_id = ""


CURRENT = _Current()


class CognitoIdentity:
    cognito_identity_id = None
    cognito_identity_pool_id = None


class LambdaContext:
    """The ``context`` argument, with the members the AWS Python runtime gives it."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_arn: str, client_context: Any) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = CognitoIdentity()
        self.client_context = client_context
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(int(self._deadline_ms - time.time() * 1000), 0)

    def log(self, message: str) -> None:
        sys.stdout.write(message)
        sys.stdout.flush()

    def __repr__(self) -> str:
        return (f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
                f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
                f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
                f"invoked_function_arn={self.invoked_function_arn},client_context={self.client_context},"
                f"identity={self.identity}])")


def error_document(exc: BaseException, request_id: str, skip: int = 1) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)[skip:]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def log_error(document: dict[str, Any]) -> None:
    """The ``[ERROR]`` event the AWS runtime writes for an unhandled error."""
    text = f"[ERROR] {document['errorType']}: {document['errorMessage']}"
    if document.get("stackTrace"):
        text += "\nTraceback (most recent call last):\n" + "".join(document["stackTrace"])
    os.write(1, one_event(text).encode("utf-8", "replace"))


def load_handler(spec: str) -> Any:
    """Import the handler as the AWS runtime does; raises _InitError with its error document."""
    try:
        module_path, function_name = spec.rsplit(".", 1)
    except ValueError as exc:
        raise _InitError({"errorMessage": f"Bad handler '{spec}': {exc}", "errorType": "Runtime.MalformedHandlerName",
                          "requestId": "", "stackTrace": []}) from None
    module_name = module_path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _InitError({"errorMessage": f"Unable to import module '{module_name}': {exc}",
                          "errorType": "Runtime.ImportModuleError", "requestId": "", "stackTrace": []}) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {(exc.text or "").strip()}\n']
        raise _InitError({"errorMessage": f"Syntax error in module '{module_name}': {exc}",
                          "errorType": "Runtime.UserCodeSyntaxError", "requestId": "", "stackTrace": trace}) from None
    except Exception as exc:  # noqa: BLE001  (any error of the user's module is reported)
        raise _InitError(error_document(exc, "", skip=0) | {"stackTrace": traceback.format_list(
            [f for f in traceback.extract_tb(exc.__traceback__) if "importlib" not in f.filename][1:])}) from None
    handler = getattr(module, function_name, None)
    if handler is None:
        raise _InitError({"errorMessage": f"Handler '{function_name}' missing on module '{module_name}'",
                          "errorType": "Runtime.HandlerNotFound", "requestId": "", "stackTrace": []})
    return handler


class _InitError(Exception):
    def __init__(self, document: dict[str, Any]) -> None:
        super().__init__(document["errorMessage"])
        self.document = document


def _max_memory_mb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024) + 1


def invoke(handler: Any, request: dict[str, Any]) -> dict[str, Any]:
    request_id = request["id"]
    CURRENT.request_id = request_id
    os.environ["_X_AMZN_TRACE_ID"] = request.get("trace_id") or ""
    started = time.perf_counter()
    try:
        event = json.loads(request["payload"]) if request.get("payload") else {}
        context = LambdaContext(request_id, request["deadline_ms"], request["arn"], request.get("client_context"))
        value = handler(event, context)
    except Exception as exc:  # noqa: BLE001  (an unhandled error of the function)
        document = error_document(exc, request_id)
        log_error(document)
        return {"ok": False, "error": document, "duration_ms": (time.perf_counter() - started) * 1000}
    try:
        payload = json.dumps(value)
    except (TypeError, ValueError) as exc:
        document = {"errorMessage": f"Unable to marshal response: {exc}", "errorType": "Runtime.MarshalError",
                    "requestId": request_id, "stackTrace": []}
        log_error(document)
        return {"ok": False, "error": document, "duration_ms": (time.perf_counter() - started) * 1000}
    return {"ok": True, "payload": payload, "duration_ms": (time.perf_counter() - started) * 1000}


def main() -> None:
    control_in = os.dup(0)
    control_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    channel = Channel(control_in, control_out)
    output = Output(channel)
    output.start()

    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    extra = [p for p in os.environ.get("SEEDBED_LAMBDA_PATHS", "").split(os.pathsep) if p]
    sys.path[:0] = [task_root, *extra]
    os.environ.pop("SEEDBED_LAMBDA_PATHS", None)
    os.chdir(task_root)

    root = logging.getLogger()
    handler_obj = LambdaLoggerHandler()
    handler_obj.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler_obj)

    started = time.perf_counter()
    init_error = None
    handler = None
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except _InitError as exc:
        init_error = exc.document
        log_error(init_error)
    output.flush()
    channel.send({"op": "ready", "init_ms": (time.perf_counter() - started) * 1000, "error": init_error})
    if init_error is not None:
        return
    while True:
        request = channel.receive()
        if request is None or request.get("op") != "invoke":
            return
        result = invoke(handler, request)
        output.flush()
        result.update(op="result", id=request["id"], max_memory_mb=_max_memory_mb())
        channel.send(result)


if __name__ == "__main__":
    main()
