"""`trove export --to <MLflow server> --target-db <its database>`: the metric histories are written
straight into the target MLflow server's SQLite file while the server runs; everything else goes
through its REST API. A Trove seeded by the real client (nested runs, a 10,000-step metric, NaN,
+inf, -inf, the same step logged again, steps out of order) is exported twice over: into one real
`mlflow server` (pinned PyPI package) through its REST API alone, where MLflow computes its latest
metrics itself, and into another with --target-db. The real client then reads both back: every
history point by point against Trove, the latest metrics of get_run and the order of search_runs
by metrics equal to the REST-only target's (MLflow's own rule). A second export writes nothing, and
a database of another server is refused (exit code 2) before any point is written.
"""

from __future__ import annotations

import math
import re
import sqlite3
import sys
from pathlib import Path

import pytest
from _readback import history
from _support import MLFLOW_MAJOR, REPO_ROOT, SERVER_KIND
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from test_import import _free_port, _start, _stop, _trove

pytestmark = pytest.mark.skipif(
    MLFLOW_MAJOR < 3 or SERVER_KIND != "trove",
    reason="the export is checked with the MLflow 3 client against Trove",
)

LONG_STEPS = 10_000
INF = float("inf")
NAN = float("nan")
T0 = 1_700_000_000_000
MAX = 1.7976931348623157e308


def _log_awkward_runs(client: MlflowClient, exp: str, parent: str, odd_status: str = "FINISHED") -> dict[str, str]:
    """Children of `parent` whose histories and latest metrics test MLflow's rules: run "odd" (NaN,
    ±inf, a step logged again later with a NaN last, steps out of order, ties of step and timestamp)
    and runs "s1"–"s5" with one "score" each (plain values, NaN, the infinities) to order by.
    Their ids by name."""
    odd = client.create_run(exp, run_name="odd", tags={"mlflow.parentRunId": parent}).info.run_id
    client.log_batch(odd, metrics=[Metric("acc", v, T0 + i, i) for i, v in enumerate([0.5, NAN, INF, -INF, 0.75])])
    # The same step again, later and with other values (a NaN last), and steps out of order.
    client.log_metric(odd, "acc", 0.8, timestamp=T0 + 100, step=4)
    client.log_metric(odd, "acc", NAN, timestamp=T0 + 101, step=4)
    client.log_batch(odd, metrics=[Metric("late", 3.0, T0 + 5, 10), Metric("late", 9.0, T0 + 9, 7), Metric("late", 1.0, T0 + 3, 10)])
    client.log_batch(odd, metrics=[Metric("top", INF, T0, 2), Metric("top", 5.0, T0, 1)])
    client.log_batch(odd, metrics=[Metric("bottom", -INF, T0 + 1, 3), Metric("bottom", 1.0, T0, 3)])
    client.set_terminated(odd, status=odd_status)
    runs = {"odd": odd}
    for name, value in (("s1", 0.3), ("s2", NAN), ("s3", INF), ("s4", -1.0), ("s5", -INF)):
        rid = client.create_run(exp, run_name=name, tags={"mlflow.parentRunId": parent}).info.run_id
        client.log_metric(rid, "score", value, timestamp=T0, step=0)
        client.set_terminated(rid)
        runs[name] = rid
    return runs


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A Trove server on its own store, seeded through the real client: (url, store uri, artifacts, run ids, keys)."""
    base = tmp_path_factory.mktemp("trove-target-db-source")
    store_uri = f"sqlite:///{base / 'trove.db'}"
    cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--backend-store-uri", store_uri, "--artifacts-destination", str(base / "artifacts")]
    process, url = _start(cmd, base, base / "trove.log", 60)
    try:
        client = MlflowClient(url)
        exp = client.create_experiment("target-db")
        parent = client.create_run(exp, run_name="parent").info.run_id
        long = client.create_run(exp, run_name="long", tags={"mlflow.parentRunId": parent}).info.run_id
        for start in range(0, LONG_STEPS, 1000):
            client.log_batch(long, metrics=[Metric("loss", 1.0 / (s + 1), T0 + s, s) for s in range(start, start + 1000)])
        client.set_terminated(long)
        runs = {"parent": parent, "long": long, **_log_awkward_runs(client, exp, parent)}
        client.set_terminated(parent)
        keys = {"long": ["loss"], "odd": ["acc", "late", "top", "bottom"], **{f"s{i}": ["score"] for i in range(1, 6)}, "parent": []}
        yield {"url": url, "store_uri": store_uri, "artifacts": base / "artifacts", "runs": runs, "keys": keys}
    finally:
        _stop(process)


def _mlflow_server(base: Path):
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}", "--artifacts-destination", str(base / "artifacts")]
    return _start(cmd, base, base / "mlflow.log", 180)


def _export(source, url: str, *extra: str):
    return _trove("export", "--to", url, "--backend-store-uri", source["store_uri"], "--artifacts-destination", str(source["artifacts"]), "-q", *extra)


def _mapping(stdout: str) -> dict:
    return dict(re.findall(r"^\s+run (\S+) -> (\S+)$", stdout, re.M))


@pytest.fixture(scope="module")
def targets(source, tmp_path_factory):
    """Two running MLflow servers the Trove was exported into: through REST alone, and with --target-db."""
    rest_base, db_base = tmp_path_factory.mktemp("mlflow-rest-target"), tmp_path_factory.mktemp("mlflow-db-target")
    servers = []
    try:
        servers = [_mlflow_server(rest_base), _mlflow_server(db_base)]
        (_, rest_url), (_, db_url) = servers
        by_rest = _export(source, rest_url)
        assert by_rest.returncode == 0, by_rest.stdout + by_rest.stderr
        by_db = _export(source, db_url, "--target-db", f"sqlite:///{db_base / 'mlflow.db'}")
        assert by_db.returncode == 0, by_db.stdout + by_db.stderr
        yield {"rest": rest_url, "db": db_url, "db_file": db_base / "mlflow.db", "rest_map": _mapping(by_rest.stdout),
               "db_map": _mapping(by_db.stdout), "output": by_db.stdout}
    finally:
        for process, _ in servers:
            _stop(process)


def test_the_export_says_the_histories_go_into_the_database(source, targets):
    assert f"metric histories written into its database sqlite {targets['db_file']}" in targets["output"], targets["output"]
    assert "Everything was exported" in targets["output"], targets["output"]


def _as_mlflow_answers(points: list[tuple]) -> list[tuple]:
    """Trove answers an infinity as such, MLflow as ±the largest double (what its database holds)."""
    return sorted((s, t, math.copysign(MAX, v) if isinstance(v, float) and math.isinf(v) else v) for s, t, v in points)


def test_every_history_reads_back_point_by_point(source, targets):
    src, dst, by_rest = MlflowClient(source["url"]), MlflowClient(targets["db"]), MlflowClient(targets["rest"])
    for name, run_id in source["runs"].items():
        for key in source["keys"][name]:
            got = history(dst, targets["db_map"][run_id], key)
            assert got == _as_mlflow_answers(history(src, run_id, key)), (name, key)
            assert got == history(by_rest, targets["rest_map"][run_id], key), (name, key)
    assert len(dst.get_metric_history(targets["db_map"][source["runs"]["long"]], "loss")) == LONG_STEPS


def test_latest_metrics_are_what_mlflow_itself_computes(source, targets):
    by_rest, by_db = MlflowClient(targets["rest"]), MlflowClient(targets["db"])
    for name, run_id in source["runs"].items():
        a = by_rest.get_run(targets["rest_map"][run_id]).data.metrics
        b = by_db.get_run(targets["db_map"][run_id]).data.metrics
        assert {k: str(v) for k, v in b.items()} == {k: str(v) for k, v in a.items()}, name
    odd = by_db.get_run(targets["db_map"][source["runs"]["odd"]]).data.metrics
    assert str(odd["acc"]) == "nan" and odd["late"] == 3.0 and odd["top"] >= 1.7e308 and odd["bottom"] <= -1.7e308, odd


def test_search_runs_orders_by_metrics_as_mlflow_does(source, targets):
    by_rest, by_db = MlflowClient(targets["rest"]), MlflowClient(targets["db"])
    for order in ("metrics.score ASC", "metrics.score DESC", "metrics.loss DESC", "metrics.acc ASC"):
        names = []
        for client in (by_rest, by_db):
            exp = client.get_experiment_by_name("target-db").experiment_id
            names.append([r.info.run_name for r in client.search_runs([exp], order_by=[order, "attributes.run_name ASC"])])
        assert names[1] == names[0], order
    exp = by_db.get_experiment_by_name("target-db").experiment_id
    found = by_db.search_runs([exp], filter_string="metrics.score > 0")
    assert sorted(r.info.run_name for r in found) == ["s1", "s3"]


def test_nested_runs_point_at_their_new_parent(source, targets):
    by_db = MlflowClient(targets["db"])
    parent = targets["db_map"][source["runs"]["parent"]]
    for name in ("long", "odd", "s1"):
        assert by_db.get_run(targets["db_map"][source["runs"][name]]).data.tags["mlflow.parentRunId"] == parent, name


def _rows(db_file: Path) -> tuple[int, int]:
    with sqlite3.connect(db_file) as db:
        return db.execute("SELECT count(*) FROM metrics").fetchone()[0], db.execute("SELECT count(*) FROM latest_metrics").fetchone()[0]


def test_a_second_export_writes_nothing(source, targets):
    before = _rows(targets["db_file"])
    again = _export(source, targets["db"], "--target-db", f"sqlite:///{targets['db_file']}")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Exported: 0 new experiments, 0 runs, 0 metric points" in again.stdout, again.stdout
    assert re.search(r"0 runs updated, 8 runs unchanged", again.stdout), again.stdout
    assert _mapping(again.stdout) == targets["db_map"]
    assert _rows(targets["db_file"]) == before


def test_a_database_of_another_server_is_refused_before_any_point_is_written(source, tmp_path_factory):
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    elsewhere = tmp_path_factory.mktemp("other-mlflow-db")
    other_db = elsewhere / "other.db"
    store = SqlAlchemyStore(f"sqlite:///{other_db}", str(elsewhere / "artifacts"))
    store.create_run(store.create_experiment("somewhere-else"), "someone", 0, [], "run-elsewhere")
    store.engine.dispose()
    base = tmp_path_factory.mktemp("mlflow-fresh-target")
    process, url = _mlflow_server(base)
    try:
        done = _export(source, url, "--target-db", f"sqlite:///{other_db}")
        assert done.returncode == 2, done.stdout + done.stderr
        assert "are not in the database" in done.stderr and str(other_db) in done.stderr, done.stderr
        assert "No metric point was written" in done.stderr, done.stderr
        assert _rows(other_db) == (0, 0)
        assert _rows(base / "mlflow.db") == (0, 0)
    finally:
        _stop(process)


RESUME_RUNS, RESUME_METRICS, RESUME_STEPS = 12, 3, 3_000


def test_an_export_with_target_db_killed_midway_resumes_without_duplicate_or_missing_points(tmp_path_factory):
    """kill -9 of `trove export --to --target-db` once the first histories are in the target's
    database; the same command again finishes it: every run once, every point once, each history
    read back through the real client equal to Trove's."""
    import os
    import signal
    import subprocess
    import time

    base = tmp_path_factory.mktemp("trove-target-db-resume-source")
    store_uri = f"sqlite:///{base / 'trove.db'}"
    cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--backend-store-uri", store_uri, "--artifacts-destination", str(base / "artifacts")]
    trove, url = _start(cmd, base, base / "trove.log", 60)
    target_base = tmp_path_factory.mktemp("mlflow-target-db-resume")
    target_db = target_base / "mlflow.db"
    target = None
    try:
        src = MlflowClient(url)
        exp = src.create_experiment("target-db-resume")
        runs = []
        for r in range(RESUME_RUNS):
            rid = src.create_run(exp, run_name=f"r{r}").info.run_id
            points = [Metric(f"m{m}", r + 1.0 / (s + 1), T0 + r * 3_600_000 + s, s) for m in range(RESUME_METRICS) for s in range(RESUME_STEPS)]
            for i in range(0, len(points), 1000):
                src.log_batch(rid, metrics=points[i:i + 1000])
            src.set_terminated(rid)
            runs.append(rid)
        total = RESUME_RUNS * RESUME_METRICS * RESUME_STEPS
        target, target_url = _mlflow_server(target_base)
        export = ["node", str(REPO_ROOT / "bin" / "trove.js"), "export", "--to", target_url, "--target-db", f"sqlite:///{target_db}",
                  "--backend-store-uri", store_uri, "--artifacts-destination", str(base / "artifacts"), "--concurrency", "1", "-q"]
        with open(target_base / "export.log", "wb") as out:
            running = subprocess.Popen(export, stdout=out, stderr=subprocess.STDOUT, cwd=str(REPO_ROOT), start_new_session=True)
        # Killed as soon as the first points are in the target's database (one run of twelve, or part of it).
        deadline = time.monotonic() + 120
        at_kill = 0
        while running.poll() is None and time.monotonic() < deadline:
            try:
                with sqlite3.connect(f"file:{target_db}?mode=ro", uri=True, timeout=0.2) as db:
                    at_kill = db.execute("SELECT count(*) FROM metrics").fetchone()[0]
            except sqlite3.Error:
                at_kill = 0
            if at_kill > 0:
                break
            time.sleep(0.02)
        assert running.poll() is None, "the export finished before it could be killed"
        os.killpg(running.pid, signal.SIGKILL)
        running.wait()
        assert 0 < at_kill < total, at_kill

        resumed = _export({"store_uri": store_uri, "artifacts": base / "artifacts"}, target_url, "--target-db", f"sqlite:///{target_db}")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        mapping = _mapping(resumed.stdout)
        dst = MlflowClient(target_url)
        there = dst.search_runs([dst.get_experiment_by_name("target-db-resume").experiment_id], max_results=1000)
        assert sorted(r.info.run_name for r in there) == sorted(f"r{r}" for r in range(RESUME_RUNS)), "every run once"
        assert _rows(target_db) == (total, RESUME_RUNS * RESUME_METRICS), "every point once, no duplicate"
        for rid in runs:
            for m in range(RESUME_METRICS):
                got = history(dst, mapping[rid], f"m{m}")
                assert len(got) == RESUME_STEPS and got == history(src, rid, f"m{m}"), (rid, m)
    finally:
        if target is not None:
            _stop(target)
        _stop(trove)
