"""`--source-db` and `--target-db` against the schema a real `mlflow server` creates on PostgreSQL
(its own alembic migrations: double precision values, boolean is_nan, bigint steps and timestamps,
the `latest_metrics` table and its keys), not a table our tests made.

1. A real `mlflow server` (pinned PyPI package) whose --backend-store-uri is a fresh PostgreSQL
   database is seeded by the real client: nested runs, a few thousand steps, NaN, ±infinity, the
   same step logged again, steps out of order, params, tags, a deleted run. `trove import mlflow
   --from <it> --source-db <the same URI>` copies it into a Trove, and the real client reads every
   run back from that Trove, field by field, every history point by point.
2. That Trove is exported into a second, fresh `mlflow server` on PostgreSQL with `--target-db`: the
   client reads back from it every history, the latest metrics of get_run and the order of
   search_runs by a metric, equal to what the source MLflow server (MLflow's own rules) answers. A
   second export writes no row.

Needs PostgreSQL (TROVE_TEST_POSTGRES_URI: scripts/test.sh exports it) and a PostgreSQL driver for
MLflow's SQLAlchemy store, which the client venv lacks: the MLflow servers run from .venvs/bench
(the same pinned mlflow plus psycopg; scripts/test-compat.sh ensures it when PostgreSQL is
configured; COMPAT_MLFLOW_PG_PYTHON names another interpreter). Each server gets a database of its
own, dropped afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from _readback import assert_runs_match, history
from _support import MLFLOW_MAJOR, REPO_ROOT, SERVER_KIND
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.tracking import MlflowClient
from test_export_target_db import _log_awkward_runs, _mapping
from test_import import _free_port, _new_target, _start, _stop, _trove

ADMIN_URI = os.environ.get("TROVE_TEST_POSTGRES_URI", "")

pytestmark = [
    pytest.mark.skipif(
        MLFLOW_MAJOR < 3 or SERVER_KIND != "trove",
        reason="the import and export are checked with the MLflow 3 client against Trove",
    ),
    pytest.mark.skipif(
        not ADMIN_URI,
        reason="PostgreSQL is not configured: set TROVE_TEST_POSTGRES_URI "
        '(export TROVE_TEST_POSTGRES_URI="$(bash scripts/start-postgres.sh)"; scripts/test.sh does)',
    ),
]

LONG_STEPS = 3_000
T0 = 1_700_000_000_000
ORDERS = ("metrics.score ASC", "metrics.score DESC", "metrics.loss DESC", "metrics.acc ASC", "metrics.late DESC")


def _server_python() -> str:
    python = os.environ.get("COMPAT_MLFLOW_PG_PYTHON") or str(REPO_ROOT / ".venvs" / "bench" / "bin" / "python")
    if not Path(python).exists():
        pytest.fail(f"{python} is missing: an MLflow with a PostgreSQL driver is needed to run `mlflow server` on "
                    "PostgreSQL (bash scripts/ensure-venv.sh bench compat/requirements-mlflow3.txt bench/requirements-bench.txt)")
    return python


def _psql(uri: str, sql: str) -> str:
    done = subprocess.run(["psql", "-qtAX", "-v", "ON_ERROR_STOP=1", uri, "-c", sql], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"psql: {sql}: {done.stderr}"
    return done.stdout.strip()


def _database_uri(name: str, scheme: str = "postgresql") -> str:
    """The admin URI with another database (and scheme)."""
    parts = urlsplit(ADMIN_URI)
    return urlunsplit((scheme, parts.netloc, f"/{name}", "", ""))


class PgMlflow:
    """A running `mlflow server` on a database of its own. `uri` is its --backend-store-uri, given to
    our flags as it is: `scheme` says which of MLflow's forms (`postgresql+psycopg` names the driver)."""

    def __init__(self, tmp_path_factory, label: str, scheme: str = "postgresql"):
        self.database = f"compat_{label}_{uuid.uuid4().hex[:10]}"
        self.uri = _database_uri(self.database, scheme)
        self.psql_uri = _database_uri(self.database)
        self.base = tmp_path_factory.mktemp(label)
        _psql(ADMIN_URI, f"CREATE DATABASE {self.database}")
        cmd = [_server_python(), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(_free_port()),
               "--workers", "1", "--backend-store-uri", self.uri, "--artifacts-destination", str(self.base / "artifacts")]
        try:
            # Some 60 alembic migrations on an empty database, on a busy 2-core machine.
            self.process, self.url = _start(cmd, self.base, self.base / "mlflow.log", 300)
        except BaseException:
            self.drop()
            raise

    def rows(self) -> tuple[int, int]:
        return int(_psql(self.psql_uri, "SELECT count(*) FROM metrics")), int(_psql(self.psql_uri, "SELECT count(*) FROM latest_metrics"))

    def close(self) -> None:
        _stop(self.process)
        self.drop()

    def drop(self) -> None:
        _psql(ADMIN_URI, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """The source MLflow server on PostgreSQL, seeded through the real client."""
    server = PgMlflow(tmp_path_factory, "mlflow_pg_source")
    try:
        client = MlflowClient(server.url)
        exp = client.create_experiment("pg-source", tags={"team": "vision"})
        other = client.create_experiment("pg-other")
        parent = client.create_run(exp, run_name="parent", tags={"owner": "ada"}).info.run_id
        client.log_batch(parent, params=[Param("lr", "0.01"), Param("layers", "3")], tags=[RunTag("note", "top")])
        long = client.create_run(exp, run_name="long", tags={"mlflow.parentRunId": parent}).info.run_id
        # Chunks logged last first: the steps reach the server out of order.
        for start in reversed(range(0, LONG_STEPS, 1000)):
            client.log_batch(long, metrics=[Metric("loss", 1.0 / (s + 1), T0 + s, s) for s in range(start, start + 1000)])
        client.log_param(long, "batch", "64")
        client.set_terminated(long)
        runs = {"parent": parent, "long": long, **_log_awkward_runs(client, exp, parent, odd_status="FAILED")}
        client.set_terminated(parent)
        deleted = client.create_run(other, run_name="deleted").info.run_id
        client.log_metric(deleted, "x", 1.0, timestamp=T0, step=0)
        client.set_terminated(deleted)
        client.delete_run(deleted)
        runs["deleted"] = deleted
        keys = {"parent": [], "long": ["loss"], "odd": ["acc", "late", "top", "bottom"], "deleted": ["x"],
                **{f"s{i}": ["score"] for i in range(1, 6)}}
        yield {"server": server, "url": server.url, "runs": runs, "keys": keys, "experiments": [exp, other]}
    finally:
        server.close()


@pytest.fixture(scope="module")
def imported(source, tmp_path_factory):
    """The source imported with --source-db into a Trove store, and a Trove server on it."""
    target = _new_target(tmp_path_factory, "trove-from-pg")
    done = _trove("import", "mlflow", "--from", source["url"], "--source-db", source["server"].uri,
                  "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts))
    assert done.returncode == 0, done.stdout + done.stderr
    cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts)]
    process, url = _start(cmd, target.base, target.base / "trove.log", 60)
    try:
        yield {"target": target, "url": url, "output": done.stdout + done.stderr}
    finally:
        _stop(process)


def test_the_import_reads_the_histories_from_mlflows_postgresql_database(source, imported):
    db = source["server"].database
    assert re.search(rf"metric histories read from its database postgresql://[^ ]*\*\*\*@[^ ]*/{db}\b", imported["output"]), imported["output"]
    password = urlsplit(ADMIN_URI).password
    assert f":{password}@" not in imported["output"], "the password is shown"


def test_the_source_database_has_mlflows_own_postgresql_schema(source):
    """What the readers and writers meet here and not in test/cli/'s tables: MLflow's migrated column types and keys."""
    uri = source["server"].psql_uri
    columns = _psql(uri, "SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns "
                         "WHERE table_schema = 'public' AND table_name IN ('metrics', 'latest_metrics') "
                         "AND column_name IN ('value', 'is_nan', 'step', 'timestamp') ORDER BY 1").splitlines()
    assert columns == [f"{t}.{c}" for t in ("latest_metrics", "metrics") for c in (
        "is_nan boolean", "step bigint", "timestamp bigint", "value double precision")], columns
    keys = _psql(uri, "SELECT c.conrelid::regclass || ' ' || string_agg(a.attname, ',' ORDER BY a.attname) FROM pg_constraint c "
                      "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
                      "WHERE c.contype = 'p' AND c.conrelid::regclass::text IN ('metrics', 'latest_metrics') GROUP BY c.conrelid ORDER BY 1").splitlines()
    assert keys == ["latest_metrics key,run_uuid", "metrics is_nan,key,run_uuid,step,timestamp,value"], keys


def test_imported_runs_read_back_field_by_field_with_their_ids(source, imported):
    src, dst = MlflowClient(source["url"]), MlflowClient(imported["url"])
    assert_runs_match(src, dst, ((name, rid, rid) for name, rid in source["runs"].items()), same_ids=True)
    for name, rid in source["runs"].items():
        a, b = src.get_run(rid).data.metrics, dst.get_run(rid).data.metrics
        assert {k: str(v) for k, v in b.items()} == {k: str(v) for k, v in a.items()}, name
    found = dst.search_runs(source["experiments"], run_view_type=ViewType.ALL)
    assert sorted(r.info.run_id for r in found) == sorted(source["runs"].values())
    assert dst.get_run(source["runs"]["deleted"]).info.lifecycle_stage == "deleted"
    assert dst.get_experiment_by_name("pg-source").tags.get("team") == "vision"


def test_imported_histories_read_back_point_by_point(source, imported):
    src, dst = MlflowClient(source["url"]), MlflowClient(imported["url"])
    for name, rid in source["runs"].items():
        for key in source["keys"][name]:
            assert history(dst, rid, key) == history(src, rid, key), (name, key)
    assert len(dst.get_metric_history(source["runs"]["long"], "loss")) == LONG_STEPS
    odd = history(dst, source["runs"]["odd"], "acc")
    values = [v for _, _, v in odd]
    assert len(odd) == 7 and values.count("nan") == 2, odd
    assert max(v for v in values if v != "nan") >= 1.7e308 and min(v for v in values if v != "nan") <= -1.7e308, odd


def _export(imported, url: str, target_db: str):
    target = imported["target"]
    return _trove("export", "--to", url, "--target-db", target_db, "--backend-store-uri", target.store_uri,
                  "--artifacts-destination", str(target.artifacts), "-q")


@pytest.fixture(scope="module")
def exported(imported, tmp_path_factory):
    """The Trove exported into a second, fresh MLflow server on PostgreSQL with --target-db (the URI naming its driver)."""
    server = PgMlflow(tmp_path_factory, "mlflow_pg_target", scheme="postgresql+psycopg")
    try:
        done = _export(imported, server.url, server.uri)
        assert done.returncode == 0, done.stdout + done.stderr
        yield {"server": server, "url": server.url, "map": _mapping(done.stdout), "output": done.stdout}
    finally:
        server.close()


def test_the_export_writes_the_histories_into_mlflows_postgresql_database(exported):
    db = exported["server"].database
    assert re.search(rf"metric histories written into its database postgresql\+psycopg://[^ ]*\*\*\*@[^ ]*/{db}\b", exported["output"]), exported["output"]
    assert "Everything was exported" in exported["output"], exported["output"]


def test_exported_histories_read_back_point_by_point(source, exported):
    src, dst = MlflowClient(source["url"]), MlflowClient(exported["url"])
    for name, rid in source["runs"].items():
        assert rid in exported["map"], name
        for key in source["keys"][name]:
            assert history(dst, exported["map"][rid], key) == history(src, rid, key), (name, key)
    assert len(dst.get_metric_history(exported["map"][source["runs"]["long"]], "loss")) == LONG_STEPS


def test_exported_runs_have_mlflows_own_latest_metrics(source, exported):
    src, dst = MlflowClient(source["url"]), MlflowClient(exported["url"])
    mapping = exported["map"]
    # The marks by which a later export finds a run again (the store's own is checked by test_export_to_mlflow).
    mark = dst.get_run(mapping[source["runs"]["parent"]]).data.tags["trove.source_store"]

    def expected_tags(run_id: str, tags: dict) -> dict:
        linked = {k: mapping[v] if k == "mlflow.parentRunId" else v for k, v in tags.items()}
        return {**linked, "trove.source_run_id": run_id, "trove.source_store": mark}

    assert_runs_match(src, dst, ((name, rid, mapping[rid]) for name, rid in source["runs"].items()), same_ids=False,
                      expected_tags=expected_tags)
    for name, rid in source["runs"].items():
        a, b = src.get_run(rid).data.metrics, dst.get_run(exported["map"][rid]).data.metrics
        assert {k: str(v) for k, v in b.items()} == {k: str(v) for k, v in a.items()}, name
    odd = dst.get_run(exported["map"][source["runs"]["odd"]]).data.metrics
    assert str(odd["acc"]) == "nan" and odd["late"] == 3.0 and odd["top"] >= 1.7e308 and odd["bottom"] <= -1.7e308, odd


def test_search_runs_orders_by_metrics_as_the_source_mlflow_does(source, exported):
    src, dst = MlflowClient(source["url"]), MlflowClient(exported["url"])
    for order in ORDERS:
        names = []
        for client in (src, dst):
            exp = client.get_experiment_by_name("pg-source").experiment_id
            names.append([r.info.run_name for r in client.search_runs([exp], order_by=[order, "attributes.run_name ASC"])])
        assert names[1] == names[0], order
    exp = dst.get_experiment_by_name("pg-source").experiment_id
    assert sorted(r.info.run_name for r in dst.search_runs([exp], filter_string="metrics.score > 0")) == ["s1", "s3"]


def test_a_second_export_writes_nothing(imported, exported):
    server = exported["server"]
    before = server.rows()
    again = _export(imported, server.url, server.uri)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Exported: 0 new experiments, 0 runs, 0 metric points" in again.stdout, again.stdout
    assert _mapping(again.stdout) == exported["map"]
    assert server.rows() == before
