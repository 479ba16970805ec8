"""`trove export --to` with a trace an MLflow 2.x client made: the 2.22 client logs a trace into
Trove through the v2 API (a `tr-<uuid>` request id the server chose, spans uploaded as the trace's
`traces.json` artifact). MLflow 3 derives a trace's id from its spans' OpenTelemetry trace id, so
the trace gets another id in the target: the export prints the mapping, the target serves the trace
under the new id with its spans, tags and request metadata (`mlflow.sourceRun` following the run's
new id), and a second export finds it under that id and duplicates nothing.

Runs with the MLflow 2 client (`scripts/test-compat.sh 2`); the target is a real `mlflow server`
from the MLflow 3 venv (2.x servers have no routes for traces logged the MLflow 3 way).
"""

from __future__ import annotations

import re

import mlflow
import pytest
import requests
from _support import MLFLOW_MAJOR, REPO_ROOT, SERVER_KIND
from mlflow.tracking import MlflowClient
from test_import import _free_port, _start, _stop, _trove
from test_tracing_v2 import _answer, _otel_sdk_shim  # noqa: F401  (the fixture is autouse here too)

MLFLOW3_PYTHON = REPO_ROOT / ".venvs" / "mlflow3" / "bin" / "python"

pytestmark = [
    pytest.mark.skipif(MLFLOW_MAJOR != 2 or SERVER_KIND != "trove", reason="a trace made by the MLflow 2.x client, exported from Trove"),
    pytest.mark.skipif(not MLFLOW3_PYTHON.exists(), reason="the MLflow 3 venv (.venvs/mlflow3) runs the export target"),
]


@pytest.fixture(scope="module")
def trove_source(tmp_path_factory):
    base = tmp_path_factory.mktemp("trove-v2-trace-source")
    store_uri = f"sqlite:///{base / 'trove.db'}"
    cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--backend-store-uri", store_uri, "--artifacts-destination", str(base / "artifacts")]
    process, url = _start(cmd, base, base / "trove.log", 60)
    try:
        yield url, store_uri, base / "artifacts"
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def mlflow3_target(tmp_path_factory):
    base = tmp_path_factory.mktemp("mlflow3-v2-trace-target")
    cmd = [str(MLFLOW3_PYTHON), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--workers", "1", "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}", "--artifacts-destination", str(base / "artifacts")]
    process, url = _start(cmd, base, base / "mlflow.log", 180)
    try:
        yield url
    finally:
        _stop(process)


def test_a_trace_of_a_2x_client_gets_its_span_id_in_the_target_printed_and_is_not_duplicated_by_a_second_export(trove_source, mlflow3_target):
    url, store_uri, artifacts = trove_source
    client = MlflowClient(url)
    old = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(url)
    try:
        experiment_id = client.create_experiment("v2-traces")
        mlflow.set_experiment(experiment_id=experiment_id)
        with mlflow.start_run() as run:
            _answer("meaning?")
        trace = mlflow.get_last_active_trace()
        old_id = trace.info.request_id
        client.set_trace_tag(old_id, "user", "u1")
    finally:
        mlflow.set_tracking_uri(old)
    otel_hex = format(trace.data.spans[0]._span.context.trace_id, "032x")
    assert old_id != f"tr-{otel_hex}", "the 2.x request id is not made from the spans' trace id"

    args = ["export", "--to", mlflow3_target, "--backend-store-uri", store_uri, "--artifacts-destination", str(artifacts), "-q"]
    done = _trove(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    mapping = dict(re.findall(r"^\s+(?:run|trace) (\S+) -> (\S+)$", done.stdout, re.M))
    new_id = mapping.get(old_id)
    assert new_id == f"tr-{otel_hex}", done.stdout

    got = requests.get(f"{mlflow3_target}/api/3.0/mlflow/traces/get", params={"trace_id": new_id}, timeout=30)
    assert got.status_code == 200, got.text
    body = got.json()["trace"]
    info = body["trace_info"]
    assert info["trace_id"] == new_id
    assert info["tags"]["user"] == "u1"
    assert info["trace_metadata"]["mlflow.sourceRun"] == mapping[run.info.run_id]
    assert sorted(s["name"] for s in body["spans"]) == ["_answer", "_retrieve", "llm"]
    target_experiment = MlflowClient(mlflow3_target).get_experiment_by_name("v2-traces").experiment_id
    assert info["trace_location"]["mlflow_experiment"]["experiment_id"] == target_experiment

    again = _trove(*args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert dict(re.findall(r"^\s+(?:run|trace) (\S+) -> (\S+)$", again.stdout, re.M)) == mapping
    assert "0 traces with 0 assessments" in again.stdout, again.stdout
    found = requests.post(f"{mlflow3_target}/api/3.0/mlflow/traces/search", timeout=30,
                          json={"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": target_experiment}}]})
    assert found.status_code == 200, found.text
    assert [t["trace_id"] for t in found.json().get("traces", [])] == [new_id]
