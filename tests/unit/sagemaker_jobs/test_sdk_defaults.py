"""Code Seedbed runs gets SageMaker SDK defaults that opt out of the SDK's telemetry, which would
otherwise go straight to an AWS host."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.runtime.credentials import sdk_defaults


def test_the_sdk_reads_the_opt_out_through_the_admin_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("sagemaker")
    from sagemaker.config import load_sagemaker_config
    from sagemaker.config.config_schema import TELEMETRY_OPT_OUT_PATH
    from sagemaker.utils import get_config_value

    path = sdk_defaults(tmp_path)
    assert sdk_defaults(tmp_path) == path  # written once, same place
    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(path))
    assert get_config_value(TELEMETRY_OPT_OUT_PATH, load_sagemaker_config()) is True


def test_the_default_bucket_is_named_for_the_account_and_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK would read the account from STS at a fixed AWS address to name its default bucket."""
    pytest.importorskip("sagemaker")
    from sagemaker.config import load_sagemaker_config
    from sagemaker.config.config_schema import SESSION_DEFAULT_S3_BUCKET_PATH
    from sagemaker.utils import get_config_value

    path = sdk_defaults(tmp_path, "123456789012", "eu-west-1")
    assert path != sdk_defaults(tmp_path)
    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(path))
    config = load_sagemaker_config()
    assert get_config_value(SESSION_DEFAULT_S3_BUCKET_PATH, config) == "sagemaker-eu-west-1-123456789012"
