"""The authorizer inside a Backend: in-process calls (Backend.call) are authorized like requests,
PassRole is checked by helper, and the modes behave as documented."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from seedbed.config import Settings
from seedbed.errors import AccessDenied
from seedbed.server.backend import Backend
from seedbed.server.context import Principal, RequestContext
from seedbed.services.iam import store
from tests.conftest import isolated_database_url

ACCOUNT = "000000000000"


def _backend(tmp_path: Path, mode: str = "enforce") -> Backend:
    return Backend(Settings(data_dir=tmp_path / "data", database_url=isolated_database_url(), iam_mode=mode))


def _user(backend: Backend, name: str, policy: dict | None) -> Principal:
    with backend.db.begin() as conn:
        user = store.create_user(conn, ACCOUNT, name, "/")
        if policy is not None:
            store.put_inline(conn, ACCOUNT, "user", name, "p", json.dumps(policy))
    backend.authorizer.invalidate()
    return Principal(ACCOUNT, user.arn, user.user_id, "IAMUser", "AKIAEXAMPLE", name)


def _ctx(principal: Principal | None, service: str = "sagemaker", operation: str = "CreateProject") -> RequestContext:
    return RequestContext("req-1", service, operation, "us-east-1", ACCOUNT, principal, source_ip="127.0.0.1")


@pytest.fixture
def backend(tmp_path: Path):  # type: ignore[no-untyped-def]
    instance = _backend(tmp_path)
    yield instance
    instance.close()


def test_in_process_calls_are_authorized(backend: Backend) -> None:
    reader = _user(backend, "reader", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]})
    with pytest.raises(AccessDenied) as exc:
        asyncio.run(backend.call(reader, "s3", "CreateBucket", {"Bucket": "in-process"}))
    assert "s3:CreateBucket on resource: arn:aws:s3:::in-process" in exc.value.message
    assert asyncio.run(backend.call(reader, "s3", "ListBuckets", {}))["Buckets"] == []
    root = Principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root", "AKIAROOT")
    asyncio.run(backend.call(root, "s3", "CreateBucket", {"Bucket": "in-process"}))
    # Seedbed's own calls (no principal) are not stopped by IAM.
    internal = RequestContext("req-2", "s3", "CreateBucket", "us-east-1", "", None, source_ip="seedbed.internal")
    backend.authorizer.authorize(internal, "CreateBucket", {"Bucket": "x"})


def test_check_pass_role(backend: Backend) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMakerProjectsLaunchRole"
    ds = _user(backend, "ds", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": role, "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}}],
    })
    backend.authorizer.check_pass_role(_ctx(ds), role, "sagemaker.amazonaws.com")
    with pytest.raises(AccessDenied) as exc:
        backend.authorizer.check_pass_role(_ctx(ds), role, "lambda.amazonaws.com")
    assert "iam:PassRole on resource: " + role in exc.value.message
    with pytest.raises(AccessDenied):
        backend.authorizer.check_pass_role(_ctx(ds), f"arn:aws:iam::{ACCOUNT}:role/Other", "sagemaker.amazonaws.com")
    root = Principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root", "AKIAROOT")
    backend.authorizer.check_pass_role(_ctx(root), role, "lambda.amazonaws.com")


def test_service_can_assume_a_role_its_trust_names(backend: Backend) -> None:
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    with backend.db.begin() as conn:
        role = store.create_role(conn, ACCOUNT, "Exec", "/service-role/", json.dumps(trust), None, 3600)
    assert backend.authorizer.service_can_assume(role.arn, "sagemaker.amazonaws.com").allowed
    assert not backend.authorizer.service_can_assume(role.arn, "lambda.amazonaws.com").allowed
    sts = backend.provider("sts")
    session = sts.assume_role_for_service(role.arn, "sagemaker.amazonaws.com", "job")  # type: ignore[union-attr]
    assert session.principal_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/Exec/job"
    with pytest.raises(AccessDenied):
        sts.assume_role_for_service(role.arn, "lambda.amazonaws.com", "fn")  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["audit", "off"])
def test_modes(tmp_path: Path, mode: str) -> None:
    backend = _backend(tmp_path, mode)
    try:
        nobody = _user(backend, "nobody", None)
        backend.authorizer.authorize(_ctx(nobody), "CreateProject", {"ProjectName": "p"})
        backend.authorizer.check_pass_role(_ctx(nobody), f"arn:aws:iam::{ACCOUNT}:role/r", "sagemaker.amazonaws.com")
        backend.authorizer.decisions.flush()
        with backend.db.connect() as conn:
            rows = store.get_decisions(conn, "req-1")
        if mode == "audit":
            assert [(r.action, r.decision, r.mode) for r in rows] == [
                ("sagemaker:CreateProject", "ImplicitDeny", "audit"),
                ("iam:PassRole", "ImplicitDeny", "audit"),
            ]
        else:
            assert rows == []
    finally:
        backend.close()
