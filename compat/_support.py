"""Helpers shared by the compat tests (imported by conftest.py before mlflow)."""

from __future__ import annotations

import os

# Client settings must be in place before mlflow reads them: fail fast instead of retrying for
# minutes, and never phone home (there is no internet here).
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "60"
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import http.client  # noqa: E402
import json  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import mlflow  # noqa: E402
import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
MLFLOW_MAJOR = int(mlflow.__version__.split(".")[0])
SERVER_KIND = os.environ.get("COMPAT_SERVER", "trove").strip().lower() or "trove"

only_mlflow3 = pytest.mark.skipif(
    MLFLOW_MAJOR < 3, reason="logged models (models:/m-...) exist only in the MLflow 3 client"
)


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def error_code(exc: BaseException) -> str | None:
    """The MLflow error code carried by an MlflowException (RestException included)."""
    return getattr(exc, "error_code", None)


def raw_request(base_url: str, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    """Sends `path` exactly as given (no dot-segment normalisation, unlike requests/urllib3)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def json_error(status: int, body: bytes) -> dict:
    """Parses an MLflow error body, failing the test with the raw answer if it is not one."""
    try:
        payload = json.loads(body)
    except ValueError:
        pytest.fail(f"HTTP {status}: expected a JSON error body, got {body[:300]!r}")
    assert isinstance(payload, dict), payload
    assert "error_code" in payload and "message" in payload, payload
    return payload


def training_data(n_samples: int = 300):
    """A small, well separated binary classification problem (deterministic)."""
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=n_samples,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        class_sep=1.5,
        random_state=7,
    )


def log_model_kwargs(name: str, infer_requirements: bool = False) -> dict:
    """Arguments for mlflow.<flavor>.log_model naming the model `name`.

    MLflow 3 names a logged model with name=; MLflow 2 only knows artifact_path=. Unless asked,
    pip requirements are given explicitly: inferring them starts a Python subprocess that costs
    8-14 s per model on this machine and tells nothing about the server.
    """
    kwargs = {"name": name} if MLFLOW_MAJOR >= 3 else {"artifact_path": name}
    if not infer_requirements:
        kwargs["pip_requirements"] = ["mlflow", "scikit-learn"]
    return kwargs


def sha256_of(path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
