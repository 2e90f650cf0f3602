"""The model registry in-process: groups, versions, approval, listing, events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seedbed.config import Settings
from seedbed.errors import ServiceError
from seedbed.server.backend import Backend
from seedbed.services.events import publish
from tests.conftest import isolated_database_url

SPEC = {"Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                        "ModelDataUrl": "s3://b/model.tar.gz"}],
        "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    instance = Backend(Settings(data_dir=tmp_path / "data", database_url=isolated_database_url()))
    yield instance
    instance.close()


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def fake_emit(backend: Any, account: str, region: str, source: str, detail_type: str,
                        detail: dict[str, Any], resources: list[str] | None = None) -> None:
        json.dumps(detail)  # what goes on the bus must be JSON
        seen.append({"source": source, "detail-type": detail_type, "detail": detail, "resources": resources})

    monkeypatch.setattr(publish, "emit", fake_emit)
    return seen


def call(backend: Backend, op: str, **params: Any) -> dict[str, Any]:
    cred = backend.credentials.resolve(backend.admin_key.access_key_id)
    assert cred is not None
    return asyncio.run(backend.call(cred.principal, "sagemaker", op, params))


def test_versions_approval_and_events(backend: Backend, events: list[dict[str, Any]]) -> None:
    arn = call(backend, "CreateModelPackageGroup", ModelPackageGroupName="Abalone", ModelPackageGroupDescription="d",
               Tags=[{"Key": "team", "Value": "ml"}])["ModelPackageGroupArn"]
    assert arn.endswith(":model-package-group/abalone")
    group = call(backend, "DescribeModelPackageGroup", ModelPackageGroupName="Abalone")
    assert group["ModelPackageGroupStatus"] == "Completed" and group["ModelPackageGroupDescription"] == "d"
    first = call(backend, "CreateModelPackage", ModelPackageGroupName="Abalone", InferenceSpecification=SPEC,
                 ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://b/e.json"}},
                               "Bias": {}},
                 CustomerMetadataProperties={"a": "1", "b": "2"})["ModelPackageArn"]
    second = call(backend, "CreateModelPackage", ModelPackageGroupName=arn, InferenceSpecification=SPEC,
                  ModelApprovalStatus="Approved", ClientToken="tok")["ModelPackageArn"]
    assert first.endswith("model-package/abalone/1") and second.endswith("model-package/abalone/2")
    # The same client token gives the same package back.
    again = call(backend, "CreateModelPackage", ModelPackageGroupName="Abalone", InferenceSpecification=SPEC, ClientToken="tok")
    assert again["ModelPackageArn"] == second
    desc = call(backend, "DescribeModelPackage", ModelPackageName=first)
    assert desc["ModelPackageVersion"] == 1 and desc["ModelApprovalStatus"] == "PendingManualApproval"
    assert desc["ModelPackageStatus"] == "Completed" and desc["ModelPackageGroupName"] == "Abalone"
    assert "Bias" not in desc["ModelMetrics"] and desc["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == "s3://b/e.json"
    assert [e["detail"]["ModelApprovalStatus"] for e in events] == ["PendingManualApproval", "Approved"]
    assert events[0]["detail-type"] == "SageMaker Model Package State Change" and events[0]["source"] == "aws.sagemaker"
    assert events[0]["resources"] == [first] and events[0]["detail"]["CreationTime"].endswith("Z")

    call(backend, "UpdateModelPackage", ModelPackageArn=first, ModelApprovalStatus="Approved", ApprovalDescription="ok",
         CustomerMetadataProperties={"c": "3"}, CustomerMetadataPropertiesToRemove=["a"])
    desc = call(backend, "DescribeModelPackage", ModelPackageName=first)
    assert desc["ModelApprovalStatus"] == "Approved" and desc["ApprovalDescription"] == "ok"
    assert desc["CustomerMetadataProperties"] == {"b": "2", "c": "3"} and "LastModifiedTime" in desc
    assert events[-1]["detail"]["ModelApprovalStatus"] == "Approved" and len(events) == 3
    call(backend, "UpdateModelPackage", ModelPackageArn=first, ApprovalDescription="no status change")
    assert len(events) == 3

    listed = call(backend, "ListModelPackages", ModelPackageGroupName="Abalone", ModelApprovalStatus="Approved",
                  SortBy="CreationTime", SortOrder="Descending")["ModelPackageSummaryList"]
    assert [p["ModelPackageVersion"] for p in listed] == [2, 1]
    assert call(backend, "ListModelPackages")["ModelPackageSummaryList"] == []  # default: unversioned
    page = call(backend, "ListModelPackages", ModelPackageType="Both", MaxResults=1)
    assert len(page["ModelPackageSummaryList"]) == 1 and page["NextToken"]
    batch = call(backend, "BatchDescribeModelPackage", ModelPackageArnList=[first, first + "0"])
    assert first in batch["ModelPackageSummaries"] and first + "0" in batch["BatchDescribeModelPackageErrorMap"]

    with pytest.raises(ServiceError) as err:
        call(backend, "DeleteModelPackageGroup", ModelPackageGroupName="Abalone")
    assert err.value.code == "ConflictException"
    call(backend, "DeleteModelPackage", ModelPackageName=first)
    call(backend, "DeleteModelPackage", ModelPackageName=second)
    third = call(backend, "CreateModelPackage", ModelPackageGroupName="Abalone", InferenceSpecification=SPEC)["ModelPackageArn"]
    assert third.endswith("/3")  # versions are never reused
    call(backend, "DeleteModelPackage", ModelPackageName=third)
    call(backend, "DeleteModelPackageGroup", ModelPackageGroupName="Abalone")
    with pytest.raises(ServiceError) as err:
        call(backend, "DescribeModelPackageGroup", ModelPackageGroupName="Abalone")
    assert err.value.code == "ResourceNotFound"


def test_unversioned_policies_tags_and_listing(backend: Backend, events: list[dict[str, Any]]) -> None:
    arn = call(backend, "CreateModelPackage", ModelPackageName="solo", InferenceSpecification=SPEC)["ModelPackageArn"]
    desc = call(backend, "DescribeModelPackage", ModelPackageName="solo")
    assert desc["ModelPackageArn"] == arn and "ModelApprovalStatus" not in desc and "ModelPackageVersion" not in desc
    with pytest.raises(ServiceError) as err:
        call(backend, "CreateModelPackage", ModelPackageName="solo", InferenceSpecification=SPEC)
    assert err.value.code == "ConflictException"
    with pytest.raises(ServiceError):
        call(backend, "CreateModelPackage", ModelPackageGroupName="missing", InferenceSpecification=SPEC)
    with pytest.raises(ServiceError) as err:
        call(backend, "CreateModelPackage", ModelPackageName="x", ModelPackageGroupName="y", InferenceSpecification=SPEC)
    assert err.value.code == "ValidationException"
    for name in ("beta", "alpha", "gamma"):
        call(backend, "CreateModelPackageGroup", ModelPackageGroupName=name)
    names = [g["ModelPackageGroupName"] for g in call(backend, "ListModelPackageGroups", SortBy="Name")["ModelPackageGroupSummaryList"]]
    assert names == ["alpha", "beta", "gamma"]
    first = call(backend, "ListModelPackageGroups", MaxResults=2)
    rest = call(backend, "ListModelPackageGroups", MaxResults=2, NextToken=first["NextToken"])
    assert [g["ModelPackageGroupName"] for g in first["ModelPackageGroupSummaryList"] + rest["ModelPackageGroupSummaryList"]] == ["beta", "alpha", "gamma"]
    assert [g["ModelPackageGroupName"] for g in call(backend, "ListModelPackageGroups", NameContains="AM")["ModelPackageGroupSummaryList"]] == ["gamma"]
    with pytest.raises(ServiceError) as err:
        call(backend, "GetModelPackageGroupPolicy", ModelPackageGroupName="alpha")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                                                                 "Action": "sagemaker:DescribeModelPackage", "Resource": "*"}]})
    call(backend, "PutModelPackageGroupPolicy", ModelPackageGroupName="alpha", ResourcePolicy=policy)
    assert call(backend, "GetModelPackageGroupPolicy", ModelPackageGroupName="alpha")["ResourcePolicy"] == policy
    call(backend, "DeleteModelPackageGroupPolicy", ModelPackageGroupName="alpha")
    group_arn = call(backend, "DescribeModelPackageGroup", ModelPackageGroupName="alpha")["ModelPackageGroupArn"]
    call(backend, "AddTags", ResourceArn=group_arn, Tags=[{"Key": "k", "Value": "v"}])
    assert call(backend, "ListTags", ResourceArn=group_arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    call(backend, "AddTags", ResourceArn=arn, Tags=[{"Key": "k", "Value": "w"}])
    assert call(backend, "ListTags", ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "w"}]


def test_model_card_sections_are_checked(backend: Backend, events: list[dict[str, Any]]) -> None:
    call(backend, "CreateModelPackageGroup", ModelPackageGroupName="cards")
    card = {"ModelCardContent": json.dumps({"model_overview": {"model_creator": "me"}}), "ModelCardStatus": "Draft"}
    arn = call(backend, "CreateModelPackage", ModelPackageGroupName="cards", InferenceSpecification=SPEC, ModelCard=card)["ModelPackageArn"]
    assert call(backend, "DescribeModelPackage", ModelPackageName=arn)["ModelCard"]["ModelCardStatus"] == "Draft"
    with pytest.raises(ServiceError) as err:
        call(backend, "UpdateModelPackage", ModelPackageArn=arn, ModelCard={"ModelCardContent": json.dumps({"model_id": "x"})})
    assert err.value.code == "ValidationException"
