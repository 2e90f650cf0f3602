"""The model runtimes of a worker, in-process: XGBoost formats, pickled boosters, inference scripts."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from seedbed.runtime.serving import handlers
from seedbed.runtime.serving.handlers import HandlerError, ScriptHandler, XGBoostHandler


@pytest.fixture(scope="module")
def booster() -> xgb.Booster:
    rng = np.random.default_rng(0)
    x = rng.random((100, 4))
    return xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(x, (x[:, 0] > 0.5).astype(float)), 5)


@pytest.mark.parametrize("fmt", ["ubj", "json", "pickle"])
def test_xgboost_model_file_in_every_format(tmp_path: Path, booster: xgb.Booster, fmt: str) -> None:
    path = tmp_path / "xgboost-model"
    path.write_bytes(pickle.dumps(booster) if fmt == "pickle" else bytes(booster.save_raw(fmt)))
    handler = XGBoostHandler(tmp_path, {})
    body, content_type = handler.invoke(b"0.1,0.2,0.3,0.4\n0.9,0.1,0.1,0.1", "text/csv", "", "")
    expected = booster.predict(xgb.DMatrix(np.array([[0.1, 0.2, 0.3, 0.4], [0.9, 0.1, 0.1, 0.1]])))
    assert content_type == "text/csv"
    assert np.allclose([float(v) for v in body.decode().split(",")], expected, rtol=1e-6)


def test_xgboost_input_and_output_formats(tmp_path: Path, booster: xgb.Booster) -> None:
    (tmp_path / "xgboost-model").write_bytes(bytes(booster.save_raw("ubj")))
    handler = XGBoostHandler(tmp_path, {})
    row = [0.3, 0.7, 0.1, 0.5]
    expected = float(booster.predict(xgb.DMatrix(np.array([row])))[0])
    body, kind = handler.invoke(json.dumps({"instances": [row]}).encode(), "application/json", "application/json", "")
    assert kind == "application/json" and np.isclose(json.loads(body)["predictions"][0]["score"], expected)
    body, kind = handler.invoke(json.dumps([{"features": row}]).encode(), "application/json; charset=utf-8",
                                "application/jsonlines", "")
    assert kind == "application/jsonlines" and np.isclose(json.loads(body.splitlines()[0])["score"], expected)
    libsvm = " ".join(f"{i}:{v}" for i, v in enumerate(row)).encode()
    body, _ = handler.invoke(b"1 " + libsvm, "text/libsvm", "*/*", "")
    assert np.isclose(float(body), expected)
    with pytest.raises(HandlerError) as err:
        handler.invoke(b"..", "application/x-recordio-protobuf", "", "")
    assert err.value.status == 415
    with pytest.raises(HandlerError) as err:
        handler.invoke(b"1,2,3,4", "text/csv", "image/png", "")
    assert err.value.status == 406
    with pytest.raises(HandlerError):
        handler.invoke(b"1,2\n1,2,3", "text/csv", "", "")


def test_inference_script_contract(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(
        "import json\n"
        "def model_fn(model_dir):\n    return {'scale': 2}\n"
        "def input_fn(body, content_type):\n    assert isinstance(body, str)\n    return json.loads(body)\n"
        "def predict_fn(data, model):\n    return [v * model['scale'] for v in data]\n"
    )
    handler = ScriptHandler(tmp_path, {}, "sklearn", None)
    body, kind = handler.invoke(b"[1, 2]", "application/json", "", "")
    assert json.loads(body) == [2, 4] and kind == "application/json"
    body, kind = handler.invoke(b"[1, 2]", "application/json", "text/csv", "")
    assert body == b"2\n4" and kind == "text/csv"


def test_transform_fn_and_program_from_environment(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "serve.py").write_text(
        "def model_fn(model_dir, context=None):\n    return 'm'\n"
        "def transform_fn(model, body, content_type, accept):\n    return body[::-1], 'text/plain'\n"
    )
    handler = handlers.load("script", "generic", tmp_path, {"SAGEMAKER_PROGRAM": "serve.py"}, src)
    assert handler.invoke(b"abc", "application/octet-stream", "", "") == (b"cba", "text/plain")


def test_missing_model_fn_is_a_load_failure(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="model_fn"):
        ScriptHandler(tmp_path, {}, "sklearn", None)
