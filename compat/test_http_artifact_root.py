"""A server whose default artifact root is its own proxy route over http
(`--default-artifact-root http://<host>/api/2.0/mlflow-artifacts/artifacts`), as MLflow's own
artifact tests start it: runs get http(s) artifact URIs that the server still lists and serves.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from _support import REPO_ROOT, SERVER_KIND, unique_name
from mlflow import MlflowClient


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def http_root_server(tmp_path_factory):
    if os.environ.get("COMPAT_SERVER_URL"):
        pytest.skip("needs a server of its own started with an http default artifact root")
    base = tmp_path_factory.mktemp("http-root")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    root = f"{url}/api/2.0/mlflow-artifacts/artifacts"
    if SERVER_KIND == "trove":
        cmd = [shutil.which("node") or "node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--port", str(port),
               "--backend-store-uri", f"sqlite:///{base / 'trove.db'}", "--artifacts-destination", str(base / "artifacts"),
               "--default-artifact-root", root]
    else:
        cmd = [sys.executable, "-m", "mlflow", "server", "--port", str(port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}", "--artifacts-destination", str(base / "artifacts"),
               "--default-artifact-root", root]
    log = open(base / "server.log", "wb")
    process = subprocess.Popen(cmd, cwd=str(base), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + (30 if SERVER_KIND == "trove" else 180)
    try:
        while True:
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start: {(base / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url, base / "artifacts"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        log.close()


def test_a_runs_artifacts_under_an_http_root_are_listed(http_root_server, tmp_path):
    url, artifacts_dir = http_root_server
    client = MlflowClient(url)
    experiment_id = client.create_experiment(unique_name("http-root"))
    run = client.create_run(experiment_id)
    assert run.info.artifact_uri.startswith(f"{url}/api/2.0/mlflow-artifacts/artifacts/")
    (tmp_path / "a.txt").write_text("0")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "b.txt").write_text("1")
    client.log_artifact(run.info.run_id, str(tmp_path / "a.txt"))
    client.log_artifact(run.info.run_id, str(tmp_path / "dir"))
    listed = requests.get(f"{url}/api/2.0/mlflow/artifacts/list", params={"run_id": run.info.run_id}, timeout=60).json()
    assert listed["root_uri"] == run.info.artifact_uri
    assert listed["files"] == [{"path": "a.txt", "is_dir": False, "file_size": 1}, {"path": "dir", "is_dir": True}]
    nested = requests.get(f"{url}/api/2.0/mlflow/artifacts/list", params={"run_id": run.info.run_id, "path": "dir"}, timeout=60).json()
    assert nested["files"] == [{"path": "dir/b.txt", "is_dir": False, "file_size": 1}]
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["a.txt", "dir"]
