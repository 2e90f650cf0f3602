from tests.unit.logs.conftest import Api, backend, cw, logs  # noqa: F401
