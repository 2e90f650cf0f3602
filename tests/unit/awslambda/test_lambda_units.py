"""Lambda's pieces without a server: names and qualifiers, resource policy statements and the
service-principal check, requirements detection, and the worker protocol with real processes."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path

import pytest

from seedbed.runtime.lambda_ import packages
from seedbed.runtime.lambda_.pool import FunctionSpec, Pool
from seedbed.services.awslambda import names, policy
from seedbed.services.awslambda.errors import InvalidParameterValue

ACCOUNT = "123456789012"


def test_function_names_arns_and_qualifiers() -> None:
    assert names.parse("f", ACCOUNT, "us-east-1") == names.FunctionRef(ACCOUNT, "us-east-1", "f", None)
    assert names.parse("f:live", ACCOUNT, "us-east-1").qualifier == "live"
    ref = names.parse("arn:aws:lambda:us-east-1:210987654321:function:f:7", ACCOUNT, "us-east-1")
    assert (ref.account, ref.name, ref.qualifier) == ("210987654321", "f", "7")
    assert ref.qualified_arn == "arn:aws:lambda:us-east-1:210987654321:function:f:7"
    assert names.parse("210987654321:function:f", ACCOUNT, "us-east-1").account == "210987654321"
    assert names.parse("f", ACCOUNT, "us-east-1", "$LATEST").qualifier == "$LATEST"
    with pytest.raises(InvalidParameterValue, match="does not match"):
        names.parse("f:1", ACCOUNT, "us-east-1", "2")
    with pytest.raises(InvalidParameterValue, match="not reachable"):
        names.parse("arn:aws:lambda:eu-west-1:123456789012:function:f", ACCOUNT, "us-east-1")
    assert names.parse_arn("arn:aws:lambda:us-east-1:123456789012:function:f:live").qualifier == "live"
    assert names.parse_arn("arn:aws:s3:::bucket") is None
    with pytest.raises(InvalidParameterValue):
        names.check_alias_name("123")


def test_permission_statements_as_lambda_writes_them() -> None:
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f"
    s = policy.statement({"StatementId": "s3", "Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com",
                          "SourceArn": "arn:aws:s3:::b", "SourceAccount": ACCOUNT}, arn)
    assert s == {"Sid": "s3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                 "Action": "lambda:InvokeFunction", "Resource": arn,
                 "Condition": {"StringEquals": {"AWS:SourceAccount": ACCOUNT}, "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::b"}}}
    assert policy.principal_element("*") == "*"
    assert policy.principal_element(ACCOUNT) == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    document = policy.add(None, s)
    assert json.loads(document)["Id"] == "default" and policy.sids(document) == ["s3"]
    assert policy.remove(document, "s3") is None


def test_service_principal_needs_a_matching_statement() -> None:
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f"
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/r"
    document = policy.add(None, policy.statement({"StatementId": "e", "Action": "lambda:InvokeFunction",
                                                  "Principal": "events.amazonaws.com", "SourceArn": rule}, arn))
    check = lambda who, source: policy.service_may_invoke(document, arn, ACCOUNT, who, source, ACCOUNT).allowed
    assert check("events.amazonaws.com", rule)
    assert not check("events.amazonaws.com", rule + "-other")
    assert not check("s3.amazonaws.com", rule)
    assert not policy.service_may_invoke(None, arn, ACCOUNT, "events.amazonaws.com", rule, ACCOUNT).allowed


def test_requirements_already_satisfied_need_no_pip(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("boto3\n# a comment\nrequests>=0.1 ; python_version >= '3'\n"
                                              "vendored==1.0\nnot-installed-anywhere-xyz==9.9\n")
    (tmp_path / "vendored-1.0.dist-info").mkdir()
    assert packages.unmet_requirements(tmp_path) == ["not-installed-anywhere-xyz==9.9"]
    (tmp_path / "requirements.txt").write_text("boto3\n")
    assert packages.unmet_requirements(tmp_path) == []


def test_unpack_refuses_bad_archives(tmp_path: Path) -> None:
    with pytest.raises(packages.PackageError, match="Could not unzip"):
        packages.unpack(b"nope", tmp_path, "x" * 64)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("../escape.py", "")
    with pytest.raises(packages.PackageError):
        packages.unpack(buf.getvalue(), tmp_path, "y" * 64)


def _spec(root: Path, code: str, handler: str = "m.h", timeout: float = 2.0) -> FunctionSpec:
    root.mkdir(parents=True, exist_ok=True)
    (root / "m.py").write_text(code)
    return FunctionSpec(key=f"k/{root.name}", function_id="a/r/f/", version="$LATEST", task_root=root, handler=handler,
                        timeout=timeout, memory_mb=128,
                        environment=lambda stream: {"PATH": "/usr/bin:/bin", "_HANDLER": handler,
                                                    "AWS_LAMBDA_LOG_STREAM_NAME": stream})


def test_worker_runs_reuses_times_out_and_reports_init_errors(tmp_path: Path) -> None:
    async def scenario() -> None:
        pool = Pool(max_per_key=2)
        try:
            spec = _spec(tmp_path / "ok", "import os, time\ndef h(e, c):\n    print('got', e)\n"
                                          "    if e.get('sleep'): time.sleep(e['sleep'])\n    return os.getpid()\n")
            first = await pool.invoke(spec, "r1", b'{"a": 1}', "arn")
            second = await pool.invoke(spec, "r2", b"{}", "arn")
            assert first.ok and first.payload == second.payload and first.init_ms is not None and second.init_ms is None
            assert first.logs == "got {'a': 1}\n"
            slow = await pool.invoke(spec, "r3", b'{"sleep": 5}', "arn")
            assert slow.timed_out and "Task timed out after 2.00 seconds" in slow.error["errorMessage"]  # type: ignore[index]
            third = await pool.invoke(spec, "r4", b"{}", "arn")
            assert third.ok and third.payload != first.payload  # a fresh worker replaced the killed one
            both = await asyncio.gather(pool.invoke(spec, "r5", b'{"sleep": 0.3}', "arn"),
                                        pool.invoke(spec, "r6", b'{"sleep": 0.3}', "arn"))
            assert {r.payload for r in both} and all(r.ok for r in both) and len({r.payload for r in both}) == 2
            broken = _spec(tmp_path / "broken", "import not_a_module_anywhere\n")
            result = await pool.invoke(broken, "r7", b"{}", "arn")
            assert not result.ok and result.error["errorType"] == "Runtime.ImportModuleError"  # type: ignore[index]
            missing = _spec(tmp_path / "missing", "x = 1\n", handler="m.nothing")
            result = await pool.invoke(missing, "r8", b"{}", "arn")
            assert result.error["errorType"] == "Runtime.HandlerNotFound"  # type: ignore[index]
        finally:
            await pool.aclose()

    asyncio.run(scenario())
