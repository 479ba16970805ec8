"""`trove import mlflow --from <server> --source-db <its database>`: the metric histories are read
straight from the MLflow server's SQLite file instead of its REST API. A real `mlflow server`
(pinned PyPI package) on SQLite, seeded by the real client with NaN, +inf, -inf, duplicate steps and
a 10,000-step metric, is imported twice, through the REST API alone and with --source-db; the real
client then reads back the same histories from both Troves and from the source, run ids kept.
A database of another server, and a database MLflow's URI forms do not name (MySQL), are refused
before anything is imported, with exit code 2 (the CLI's code for a refusal).

SQLite here; an MLflow server on PostgreSQL (the schema its own migrations create) is imported and
exported into by compat/test_mlflow_db_postgres.py.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from _readback import assert_runs_match, history
from _support import MLFLOW_MAJOR, SERVER_KIND
from mlflow.entities import Metric, Param
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient
from test_import import REPO_ROOT, _free_port, _new_target, _start, _stop

pytestmark = pytest.mark.skipif(
    MLFLOW_MAJOR < 3 or SERVER_KIND != "trove",
    reason="the import is checked with the MLflow 3 client against Trove",
)

LONG_STEPS = 10_000
INF = float("inf")


def _trove(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["node", str(REPO_ROOT / "bin" / "trove.js"), *args], capture_output=True, text=True,
                          timeout=600, cwd=str(cwd))


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """An MLflow server on SQLite seeded through the real client: (url, its folder, run ids)."""
    base = tmp_path_factory.mktemp("mlflow-source-db")
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--workers", "1", "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}",
           "--artifacts-destination", str(base / "artifacts")]
    process, url = _start(cmd, base, base / "mlflow.log", 180)
    try:
        client = MlflowClient(url)
        exp = client.create_experiment("source-db")
        other = client.create_experiment("source-db-other")
        t0 = 1_700_000_000_000
        odd = client.create_run(exp, run_name="odd-values").info.run_id
        client.log_batch(odd, params=[Param("lr", "0.1")], metrics=[
            Metric("acc", v, t0 + i, i) for i, v in enumerate([0.5, float("nan"), INF, -INF, 0.75])])
        # The same step twice with other timestamps and values: both points are history.
        client.log_metric(odd, "acc", 0.8, timestamp=t0 + 100, step=4)
        client.log_metric(odd, "acc", float("nan"), timestamp=t0 + 101, step=4)
        client.set_terminated(odd)
        long = client.create_run(exp, run_name="long").info.run_id
        for start in range(0, LONG_STEPS, 1000):
            client.log_batch(long, metrics=[Metric("loss", 1.0 / (s + 1), t0 + s, s) for s in range(start, start + 1000)])
        client.log_batch(long, metrics=[Metric(f"m{k}", k + 0.5, t0, 0) for k in range(5)])
        client.set_terminated(long)
        deleted = client.create_run(other, run_name="deleted").info.run_id
        client.log_metric(deleted, "x", 1.0, timestamp=t0, step=0)
        client.set_terminated(deleted)
        client.delete_run(deleted)
        yield {"url": url, "base": base, "runs": {"odd": odd, "long": long, "deleted": deleted},
               "keys": {"odd": ["acc"], "long": ["loss", *(f"m{k}" for k in range(5))], "deleted": ["x"]},
               "experiments": [exp, other]}
    finally:
        _stop(process)


def _serve(target):
    cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts)]
    return _start(cmd, target.base, target.base / "trove.log", 60)


@pytest.fixture(scope="module")
def imported(source, tmp_path_factory):
    """The source imported twice, through REST alone and with --source-db: a Trove server on each."""
    rest, db = _new_target(tmp_path_factory, "trove-rest"), _new_target(tmp_path_factory, "trove-source-db")
    by_rest = _trove("import", "mlflow", "--from", source["url"], "--backend-store-uri", rest.store_uri,
                     "--artifacts-destination", str(rest.artifacts))
    assert by_rest.returncode == 0, by_rest.stdout + by_rest.stderr
    # The relative form, from the source's folder: sqlite:///mlflow.db.
    by_db = _trove("import", "mlflow", "--from", source["url"], "--source-db", "sqlite:///mlflow.db",
                   "--backend-store-uri", db.store_uri, "--artifacts-destination", str(db.artifacts), cwd=source["base"])
    assert by_db.returncode == 0, by_db.stdout + by_db.stderr
    servers = []
    try:
        servers = [_serve(rest), _serve(db)]
        yield {"rest": servers[0][1], "db": servers[1][1], "output": by_db.stdout, "rest_output": by_rest.stdout}
    finally:
        for process, _ in servers:
            _stop(process)


def test_the_import_says_the_histories_come_from_the_database(source, imported):
    assert f"metric histories read from its database sqlite {source['base'] / 'mlflow.db'}" in imported["output"]
    # 7 + 10,000 + 5 + 1 points, as many as through the REST API.
    assert "metric points: 10.0k" in imported["output"] and "metric points: 10.0k" in imported["rest_output"], imported["output"]


def test_histories_read_from_the_database_equal_the_rest_import_and_the_source(source, imported):
    src, by_rest, by_db = MlflowClient(source["url"]), MlflowClient(imported["rest"]), MlflowClient(imported["db"])
    for name, run_id in source["runs"].items():
        for key in source["keys"][name]:
            expected = history(src, run_id, key)
            assert history(by_db, run_id, key) == expected, (name, key)
            assert history(by_rest, run_id, key) == expected, (name, key)
    odd = history(by_db, source["runs"]["odd"], "acc")
    values = [v for _, _, v in odd]
    assert values.count("nan") == 2 and len(odd) == 7, odd
    assert max(v for v in values if v != "nan") >= 1.7e308 and min(v for v in values if v != "nan") <= -1.7e308, odd
    assert len(by_db.get_metric_history(source["runs"]["long"], "loss")) == LONG_STEPS


def test_runs_keep_their_ids_and_latest_metrics(source, imported):
    src, by_db = MlflowClient(source["url"]), MlflowClient(imported["db"])
    assert_runs_match(src, by_db, ((name, run_id, run_id) for name, run_id in source["runs"].items()), same_ids=True)
    for run_id in source["runs"].values():
        a, b = src.get_run(run_id).data.metrics, by_db.get_run(run_id).data.metrics
        assert {k: str(v) for k, v in b.items()} == {k: str(v) for k, v in a.items()}, run_id
    found = by_db.search_runs(source["experiments"], run_view_type=ViewType.ALL)
    assert sorted(r.info.run_id for r in found) == sorted(source["runs"].values())


def _trove_runs(target) -> int:
    with sqlite3.connect(target.base / "trove.db") as db:
        return db.execute("SELECT count(*) FROM runs").fetchone()[0]


def test_a_database_of_another_server_is_refused_before_anything_is_imported(source, tmp_path_factory):
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    elsewhere = tmp_path_factory.mktemp("other-mlflow")
    other_db = elsewhere / "other.db"
    store = SqlAlchemyStore(f"sqlite:///{other_db}", str(elsewhere / "artifacts"))
    exp = store.create_experiment("somewhere-else")
    store.create_run(exp, "someone", 0, [], "run-elsewhere")
    store.engine.dispose()
    target = _new_target(tmp_path_factory, "trove-wrong-db")
    done = _trove("import", "mlflow", "--from", source["url"], "--source-db", f"sqlite:///{other_db}",
                  "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts))
    assert done.returncode == 2, done.stdout + done.stderr  # refused before writing, as every refusal of the CLI
    assert "is not in the database" in done.stderr and str(other_db) in done.stderr, done.stderr
    assert _trove_runs(target) == 0


def test_an_unsupported_database_is_refused_without_showing_its_password(source, tmp_path_factory):
    target = _new_target(tmp_path_factory, "trove-mysql")
    done = _trove("import", "mlflow", "--from", source["url"], "--source-db", "mysql+pymysql://mlflow:s3cret@db:3306/mlflow",
                  "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "MySQL databases are not supported" in done.stderr, done.stderr
    assert "s3cret" not in done.stdout + done.stderr
    assert not (target.base / "trove.db").exists() or _trove_runs(target) == 0
