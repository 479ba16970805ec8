"""Compatibility suite: the real MLflow Python client against a live server.

One server is started per pytest session (see ``server`` below) and every test talks to it through
``MLFLOW_TRACKING_URI``. Tests stay independent by working in experiments with fresh, unique names.

Environment:
  COMPAT_SERVER        ``trove`` (default): ``node bin/trove.js server ...`` from this repository;
                       ``mlflow``: the upstream ``mlflow server`` of the running venv (the reference
                       behaviour every test here was validated against).
  COMPAT_MLFLOW_MAJOR  ``3`` or ``2``; must match the installed client (set by
                       scripts/test-compat.sh). Defaults to the installed client's major version.
  COMPAT_SERVER_URL    use a server that is already running at this URL instead of starting one
                       (e.g. under a debugger, or behind a logging proxy). Set COMPAT_SERVER to say
                       which kind it is, and COMPAT_ARTIFACTS_DIR to its --artifacts-destination
                       (the few tests that look at the files on disk skip without it).
  COMPAT_STARTUP_TIMEOUT  seconds to wait for GET /health (default 30; 120 for upstream mlflow).
  COMPAT_BACKEND_STORE_URI      the started trove server's --backend-store-uri instead of a fresh
                                SQLite file (e.g. postgresql://user:pass@127.0.0.1:54329/db).
  COMPAT_ARTIFACTS_DESTINATION  its --artifacts-destination instead of a temp folder (e.g.
                                s3://bucket/prefix; the server reads MLFLOW_S3_ENDPOINT_URL and
                                AWS_* from this environment). Tests that look at files on disk skip.
  COMPAT_TROVE_WORKERS          run the trove server with --workers N (several processes).
  TROVE_TEST_POSTGRES_URI       a PostgreSQL cluster for the tests that run `mlflow server` on
                                PostgreSQL (test_mlflow_db_postgres.py; they skip without it), from
                                COMPAT_MLFLOW_PG_PYTHON (default .venvs/bench/bin/python: MLflow + psycopg).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import _support  # noqa: F401  (sets the client's environment before mlflow is imported)
import mlflow
import pytest
import requests
from _support import MLFLOW_MAJOR, REPO_ROOT, SERVER_KIND, unique_name
from mlflow.tracking import MlflowClient

# Trove must be up within 30 s. Upstream `mlflow server` needs 15-40 s on this 2-core machine just to
# run its ~60 alembic migrations on a fresh SQLite file, so the reference server gets more time.
STARTUP_TIMEOUT_S = float(
    os.environ.get("COMPAT_STARTUP_TIMEOUT") or (30.0 if SERVER_KIND == "trove" else 120.0)
)


@dataclass
class Server:
    kind: str
    url: str
    data_dir: Path | None
    artifacts_dir: Path | None
    process: subprocess.Popen | None
    stdout_path: Path
    stderr_path: Path

    def logs(self) -> str:
        out = []
        for label, path in (("stdout", self.stdout_path), ("stderr", self.stderr_path)):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                text = ""
            out.append(f"--- server {label} (last 4000 chars) ---\n{text[-4000:]}")
        return "\n".join(out)


def pytest_report_header(config):
    return f"compat: mlflow client {mlflow.__version__}, server under test: {SERVER_KIND}"


def pytest_configure(config):
    wanted = os.environ.get("COMPAT_MLFLOW_MAJOR")
    if wanted and int(wanted) != MLFLOW_MAJOR:
        raise pytest.UsageError(
            f"COMPAT_MLFLOW_MAJOR={wanted} but the installed mlflow is {mlflow.__version__}"
        )
    if SERVER_KIND not in ("trove", "mlflow"):
        raise pytest.UsageError(f"COMPAT_SERVER must be 'trove' or 'mlflow', not {SERVER_KIND!r}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_command(kind: str, port: int, data_dir: Path, artifacts_dir: Path) -> list[str]:
    if kind == "trove":
        node = shutil.which("node")
        if node is None:
            pytest.exit("node is not on PATH; it is needed to start the trove server", returncode=3)
        return [
            node,
            str(REPO_ROOT / "bin" / "trove.js"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            os.environ.get("COMPAT_BACKEND_STORE_URI") or f"sqlite:///{data_dir / 'trove.db'}",
            "--artifacts-destination",
            os.environ.get("COMPAT_ARTIFACTS_DESTINATION") or str(artifacts_dir),
            "--workers",
            os.environ.get("COMPAT_TROVE_WORKERS") or "1",
        ]
    # The upstream reference server, from the same venv as the client under test.
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{data_dir / 'mlflow.db'}",
        "--artifacts-destination",
        str(artifacts_dir),
    ]


def _stop(process: subprocess.Popen | None) -> None:
    """Ends the server and anything it spawned (uvicorn/gunicorn workers): its own process group."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def _wait_for_health(srv: Server, cmd: list[str] | None) -> None:
    process = srv.process
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_error = "no attempt"
    while True:
        if process is not None and process.poll() is not None:
            pytest.fail(
                f"{srv.kind} server exited with code {process.returncode} before answering "
                f"GET /health.\ncommand: {' '.join(cmd or [])}\n{srv.logs()}",
                pytrace=False,
            )
        try:
            r = requests.get(f"{srv.url}/health", timeout=2)
            if r.status_code == 200:
                return
            last_error = f"HTTP {r.status_code}: {r.text[:200]}"
        except requests.RequestException as e:
            last_error = repr(e)
        if time.monotonic() > deadline:
            _stop(process)
            pytest.fail(
                f"{srv.kind} server did not answer GET /health with 200 within "
                f"{STARTUP_TIMEOUT_S:.0f}s (last: {last_error}).\n"
                f"command: {' '.join(cmd or ['(external server)'])}\n{srv.logs()}",
                pytrace=False,
            )
        time.sleep(0.2)


def _use_tracking_uri(url: str):
    old_uri = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = url
    mlflow.set_tracking_uri(url)

    def restore():
        while mlflow.active_run() is not None:
            mlflow.end_run()
        if old_uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old_uri

    return restore


@pytest.fixture(scope="session", autouse=True)
def server(tmp_path_factory) -> Server:
    external = os.environ.get("COMPAT_SERVER_URL", "").rstrip("/")
    if external:
        artifacts = os.environ.get("COMPAT_ARTIFACTS_DIR")
        base = tmp_path_factory.mktemp("external")
        srv = Server(
            SERVER_KIND, external, None, Path(artifacts) if artifacts else None, None,
            base / "none.stdout", base / "none.stderr",
        )
        _wait_for_health(srv, None)
        restore = _use_tracking_uri(external)
        try:
            yield srv
        finally:
            restore()
        return

    base = tmp_path_factory.mktemp("server")
    data_dir = base / "data"
    artifacts_dir = base / "artifacts"
    data_dir.mkdir()
    artifacts_dir.mkdir()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    stdout_path = base / "server.stdout.log"
    stderr_path = base / "server.stderr.log"
    cmd = _server_command(SERVER_KIND, port, data_dir, artifacts_dir)
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(
            cmd,
            cwd=str(base),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # own process group, so _stop reaches its workers too
        )
    # Artifacts in object storage have no folder the on-disk checks could look at.
    local_artifacts = None if os.environ.get("COMPAT_ARTIFACTS_DESTINATION") else artifacts_dir
    srv = Server(SERVER_KIND, url, data_dir, local_artifacts, process, stdout_path, stderr_path)

    _wait_for_health(srv, cmd)
    restore = _use_tracking_uri(url)
    try:
        yield srv
    finally:
        restore()
        _stop(process)


@pytest.fixture(autouse=True)
def _no_leftover_active_run():
    """A failing test must not leave a run active for the next one."""
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run(status="FAILED")


@pytest.fixture
def client(server) -> MlflowClient:
    return MlflowClient(tracking_uri=server.url)


@pytest.fixture
def api(server):
    """Base URL for raw REST calls."""
    return server.url


@pytest.fixture
def experiment(server):
    """A fresh experiment, set as the active one. Returns (name, experiment_id)."""
    name = unique_name("compat")
    exp = mlflow.set_experiment(name)
    return name, exp.experiment_id


# --------------------------------------------------------------------------------------------
# An auth-enabled trove server (compat/test_auth.py), set up through the admin CLI first.


@dataclass
class AuthServer:
    url: str
    #: user name -> password
    passwords: dict[str, str]
    #: label -> access token
    tokens: dict[str, str]
    #: project name -> id
    project_ids: dict[str, int]
    process: subprocess.Popen
    stdout_path: Path
    stderr_path: Path

    def logs(self) -> str:
        return Server("trove", self.url, None, None, self.process, self.stdout_path, self.stderr_path).logs()


def _trove_cli(args: list[str], backend_uri: str, stdin: str | None = None) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.exit("node is not on PATH; it is needed to run the trove CLI", returncode=3)
    done = subprocess.run(
        [node, str(REPO_ROOT / "bin" / "trove.js"), *args, "--backend-store-uri", backend_uri],
        input=stdin, capture_output=True, text=True, timeout=60, cwd=str(REPO_ROOT),
    )
    if done.returncode != 0:
        pytest.fail(f"trove {' '.join(args)} failed: {done.stderr}", pytrace=False)
    return done.stdout


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory) -> AuthServer:
    """`trove server --auth` on a database prepared with the CLI: users admin, alice (developer
    of `fraud`), rita (reporter of `fraud`), mallory (member of `other` only); tokens for alice
    (write, read) and a token limited to `other`."""
    if SERVER_KIND != "trove" or os.environ.get("COMPAT_SERVER_URL"):
        pytest.skip("authentication tests need a trove server started by the suite")
    import re

    base = tmp_path_factory.mktemp("auth-server")
    backend = os.environ.get("COMPAT_AUTH_BACKEND_STORE_URI") or f"sqlite:///{base / 'trove.db'}"
    passwords = {
        "admin": "admin-Compat-Pass1",
        "alice": "alice-Compat-Pass1",
        "rita": "rita-Compat-Pass1",
        "mallory": "mallory-Compat-Pass1",
    }
    _trove_cli(["user", "create", "admin", "--admin", "--password-stdin"], backend, passwords["admin"])
    for name in ("alice", "rita", "mallory"):
        _trove_cli(["user", "create", name, "--password-stdin"], backend, passwords[name])
    project_ids = {}
    for project, owner in (("fraud", "admin"), ("other", "mallory")):
        out = _trove_cli(["project", "create", project, "--owner", owner], backend)
        project_ids[project] = int(re.search(r"\(id (\d+)\)", out).group(1))
    _trove_cli(["member", "add", "fraud", "alice", "--role", "developer"], backend)
    _trove_cli(["member", "add", "fraud", "rita", "--role", "reporter"], backend)
    _trove_cli(["member", "add", "other", "alice", "--role", "reporter"], backend)

    def token(*args: str) -> str:
        out = _trove_cli(["token", "create", *args], backend)
        return re.search(r"Token \(shown once; store it now\): (\S+)", out).group(1)

    tokens = {
        "alice": token("--user", "alice", "--scope", "write", "--expires", "1d"),
        "alice-read": token("--user", "alice", "--scope", "read"),
        "alice-other-only": token("--user", "alice", "--project", "other", "--scope", "write"),
    }

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    artifacts_dir = base / "artifacts"
    artifacts_dir.mkdir()
    cmd = _server_command("trove", port, base, artifacts_dir)
    cmd[cmd.index("--backend-store-uri") + 1] = backend
    cmd.append("--auth")
    stdout_path = base / "server.stdout.log"
    stderr_path = base / "server.stderr.log"
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(
            cmd, cwd=str(base), env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            start_new_session=True,
        )
    srv = AuthServer(url, passwords, tokens, project_ids, process, stdout_path, stderr_path)
    _wait_for_health(Server("trove", url, base, artifacts_dir, process, stdout_path, stderr_path), cmd)
    try:
        yield srv
    finally:
        _stop(process)
