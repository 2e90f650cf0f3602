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
