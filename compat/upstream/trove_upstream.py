"""pytest plugin: runs MLflow's own REST integration tests against Trove.

Loaded by scripts/upstream-suite.sh (``-p trove_upstream``) into a pytest session rooted at an MLflow
checkout. It never changes MLflow's test code: it swaps the *bodies* of the three client fixtures of
tests/tracking/test_rest_tracking.py (``mlflow_client``), test_model_registry.py (``client``) and
test_mlflow_artifacts.py (``artifacts_server``) for ones that start a fresh Trove server, the way the
originals start a fresh MLflow server. It also

* runs each test once: the ``file`` variants of the store parametrisation are deselected (Trove has
  one store; MLflow's file store is its own, deprecated, backend);
* skips, with a reason starting ``N/A:``, the tests that cannot apply to another server: they start
  their own MLflow server, open MLflow's SQL store or handlers in-process, or need workspace mode;
* writes one JSON line per test (nodeid, outcome, N/A reason, first line of the failure) to
  ``TROVE_UPSTREAM_REPORT`` for scripts/upstream-report.py.

Environment:
  TROVE_UPSTREAM_SERVER   ``trove`` (default) or ``mlflow``: ``mlflow`` keeps MLflow's own fixtures
                          (its 3.x server in-process, from the venv) as the reference run.
  TROVE_REPO              the Trove checkout whose ``bin/trove.js`` is started.
  TROVE_UPSTREAM_ENTRY    a prebuilt bundle of it to start instead (scripts/upstream-suite.sh makes one).
  TROVE_UPSTREAM_PG_URI   when set (postgresql://user:pass@host:port/db), every Trove gets a fresh
                          PostgreSQL database on that cluster (created and dropped with psql)
                          instead of a SQLite file.
  TROVE_UPSTREAM_REPORT   where the JSON lines go.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests

SERVER_KIND = os.environ.get("TROVE_UPSTREAM_SERVER", "trove")
TROVE_REPO = Path(os.environ.get("TROVE_REPO", Path(__file__).resolve().parents[2]))
PG_URI = os.environ.get("TROVE_UPSTREAM_PG_URI", "")
REPORT = os.environ.get("TROVE_UPSTREAM_REPORT", "")

MODULES = {
    "test_rest_tracking.py": "mlflow_client",
    "test_model_registry.py": "client",
    "test_mlflow_artifacts.py": "artifacts_server",
}

# What in a test's own source makes it inapplicable to another server, with the reason recorded.
NOT_APPLICABLE = [
    (re.compile(r"workspace_mlflow_client|MLFLOW_ENABLE_WORKSPACES|WorkspaceContext"), "needs MLflow's workspace mode"),
    (re.compile(r"_init_server\(|ServerThread\(|_launch_server\(|\"mlflow\",\s*\"server\"|mlflow\.server\.app"),
     "starts its own MLflow server"),
    (re.compile(r"SqlAlchemyStore|handlers\.|_get_tracking_store|_get_model_registry_store|initialize_backend_stores|"
                r"_MLFLOW_GO_STORE_TESTING|mlflow\.server\.handlers|artifacts_server\.backend_store_uri"),
     "opens MLflow's store or server internals in-process"),
]


# ---------------------------------------------------------------------------- Trove process


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _psql(admin_uri: str, statement: str) -> None:
    subprocess.run(["psql", admin_uri, "-v", "ON_ERROR_STOP=1", "-q", "-c", statement], check=True,
                   stdout=subprocess.DEVNULL)


class TroveProcess:
    """One Trove server on a free port with its own database and artifact folder."""

    def __init__(self, data_dir: Path, default_artifact_root_for=None):
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.artifacts_dir = data_dir / "artifacts"
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        self.database = None
        if PG_URI:
            self.database = f"trove_upstream_{uuid.uuid4().hex[:12]}"
            _psql(PG_URI, f'CREATE DATABASE "{self.database}"')
            parts = urllib.parse.urlsplit(PG_URI)
            self.backend_uri = urllib.parse.urlunsplit(parts._replace(path=f"/{self.database}"))
        else:
            self.backend_uri = f"sqlite:///{data_dir / 'trove.db'}"
        cmd = [
            shutil.which("node") or "node",
            os.environ.get("TROVE_UPSTREAM_ENTRY") or str(TROVE_REPO / "bin" / "trove.js"),
            "server",
            "--port", str(self.port),
            "--backend-store-uri", self.backend_uri,
            "--artifacts-destination", str(self.artifacts_dir),
            "--log-level", "warn",
        ]
        if default_artifact_root_for is not None:
            cmd += ["--default-artifact-root", default_artifact_root_for(self.url)]
        self.log = open(data_dir / "trove.log", "wb")
        self.process = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"trove exited with {self.process.returncode}: {(data_dir / 'trove.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("trove did not answer /health within 60 s")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)
        self.log.close()
        if self.database:
            _psql(PG_URI, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def _point_client_at(url: str):
    import mlflow

    previous = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    return previous


def _restore_client(previous) -> None:
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


# ---------------------------------------------------------------------------- replacement fixtures


def _trove_client(**kwargs):
    """Stands in for ``mlflow_client`` / ``client``: a fresh Trove per test, a client pointed at it."""
    from mlflow import MlflowClient

    tmp_path: Path = kwargs["tmp_path"]
    server = TroveProcess(tmp_path / "trove")
    previous = _point_client_at(server.url)
    try:
        yield MlflowClient(server.url)
    finally:
        _restore_client(previous)
        server.stop()


def _make_trove_artifacts_server(artifacts_server_type):
    def _trove_artifacts_server(**kwargs):
        """Stands in for ``artifacts_server``: Trove with the artifact proxy as default artifact root."""
        with tempfile.TemporaryDirectory() as tmpdir:
            server = TroveProcess(Path(tmpdir), lambda url: f"{url}/api/2.0/mlflow-artifacts/artifacts")
            try:
                yield artifacts_server_type(
                    server.backend_uri,
                    f"{server.url}/api/2.0/mlflow-artifacts/artifacts",
                    str(server.artifacts_dir),
                    server.url,
                    server.process,
                )
            finally:
                server.stop()

    return _trove_artifacts_server


def _no_cached_db(**kwargs):
    """MLflow's pre-migrated SQLite file is not needed when the server is Trove."""
    return None


def _single_tenant_env(**kwargs):
    """MLflow's autouse fixture, minus the calls into workspace helpers the 3.18 client lacks
    (the test checkout is newer than the client): it only clears the workspace variables."""
    monkeypatch = kwargs["monkeypatch"]
    for name in ("MLFLOW_ENABLE_WORKSPACES", "MLFLOW_WORKSPACE", "MLFLOW_WORKSPACE_STORE_URI"):
        monkeypatch.delenv(name, raising=False)
    yield


def _module_name(item) -> str:
    return Path(str(item.fspath)).name


def pytest_collection_modifyitems(session, config, items):
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("store_type") == "file" or params.get("client") == "file":
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    for item in items:
        for fixturedef in item._fixtureinfo.name2fixturedefs.get("disable_workspace_mode_by_default", ()):
            fixturedef.func = _single_tenant_env
    if SERVER_KIND != "trove":
        return
    replaced = set()
    for item in items:
        module = _module_name(item)
        fixture_name = MODULES.get(module)
        if fixture_name is None:
            continue
        defs = item._fixtureinfo.name2fixturedefs
        for name, fixturedefs in defs.items():
            for fixturedef in fixturedefs:
                if id(fixturedef) in replaced or not str(fixturedef.baseid).endswith(module):
                    continue
                if name == fixture_name == "artifacts_server":
                    fixturedef.func = _make_trove_artifacts_server(fixturedef.func.__globals__["ArtifactsServer"])
                elif name == fixture_name:
                    fixturedef.func = _trove_client
                elif name == "cached_db":
                    fixturedef.func = _no_cached_db
                else:
                    continue
                replaced.add(id(fixturedef))


def _not_applicable_reason(item) -> str | None:
    module = _module_name(item)
    fixture_name = MODULES.get(module)
    if fixture_name is None:
        return None
    try:
        source = inspect.getsource(item.obj)
    except (OSError, TypeError):
        source = ""
    for pattern, reason in NOT_APPLICABLE:
        if pattern.search(source):
            return reason
    if fixture_name not in item.fixturenames:
        return "starts its own MLflow server"
    return None


def pytest_runtest_setup(item):
    reason = _not_applicable_reason(item)
    if reason:
        pytest.skip(f"N/A: {reason}")


# ---------------------------------------------------------------------------- report

_outcomes: dict[str, dict] = {}


def pytest_runtest_logreport(report):
    entry = _outcomes.setdefault(report.nodeid, {"nodeid": report.nodeid, "outcome": "passed", "message": ""})
    if report.skipped and report.when in ("setup", "call"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        entry["outcome"] = "not_applicable" if "N/A:" in reason else "skipped"
        entry["message"] = reason.replace("Skipped: ", "")
    elif report.failed:
        entry["outcome"] = "failed" if report.when == "call" else "error"
        text = getattr(report, "longreprtext", "") or str(report.longrepr)
        lines = [line for line in text.splitlines() if line.startswith("E ")]
        last = text.strip().splitlines()[-1] if text.strip() else ""
        entry["message"] = (" | ".join(line[1:].strip() for line in lines[:3]) if lines else last)[:600]
    elif report.when == "call" and report.passed and entry["outcome"] not in ("failed", "error"):
        entry["outcome"] = "passed"
    if report.when == "teardown":
        _write_report()


def _write_report() -> None:
    """Rewritten after every test, so an interrupted run still leaves what it measured."""
    if not REPORT:
        return
    with open(REPORT + ".tmp", "w") as f:
        for entry in _outcomes.values():
            f.write(json.dumps(entry) + "\n")
    os.replace(REPORT + ".tmp", REPORT)


def pytest_sessionfinish(session, exitstatus):
    _write_report()
