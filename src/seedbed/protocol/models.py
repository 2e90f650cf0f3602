"""Access to the service models that botocore ships: the single source of truth for every API."""

from __future__ import annotations

from functools import lru_cache

import botocore.session
from botocore.model import OperationModel, ServiceModel


@lru_cache(maxsize=1)
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@lru_cache(maxsize=None)
def service_model(name: str) -> ServiceModel:
    """The botocore model of a service, by its botocore name (``s3``, ``sagemaker-runtime``)."""
    return _session().get_service_model(name)


@lru_cache(maxsize=None)
def operation_model(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation)


def protocol_of(model: ServiceModel) -> str:
    """The protocol Seedbed speaks for a service: the first of the model's ``protocols``.

    botocore itself picks the first protocol it supports from ``metadata.protocols``; for the
    CBOR services that is ``smithy-rpc-v2-cbor``, so Seedbed must answer in CBOR there, but it also
    accepts JSON (the second entry) from older clients.
    """
    protocols = model.metadata.get("protocols") or [model.metadata["protocol"]]
    return protocols[0]
