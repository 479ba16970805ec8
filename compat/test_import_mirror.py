"""`trove import mlflow` run again and again as a mirror of a live MLflow server: runs and
experiments deleted or restored at the source follow on the next import; runs purged by `mlflow gc`,
registered models, versions and aliases deleted at the source are kept (and counted) unless the
import is run with --delete-missing. The real client checks both sides.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from _support import MLFLOW_MAJOR, SERVER_KIND
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from test_import import REPO_ROOT, _free_port, _import_args, _new_target, _start, _stop, _trove

pytestmark = pytest.mark.skipif(
    MLFLOW_MAJOR < 3 or SERVER_KIND != "trove",
    reason="the import is checked with the MLflow 3 client against Trove",
)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """A seeded MLflow server, a Trove store it was imported into once, and a Trove server on that store."""
    base = tmp_path_factory.mktemp("mlflow-mirror-source")
    store = f"sqlite:///{base / 'mlflow.db'}"
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--workers", "1", "--backend-store-uri", store, "--artifacts-destination", str(base / "artifacts")]
    source, source_url = _start(cmd, base, base / "mlflow.log", 180)
    target = _new_target(tmp_path_factory, "trove-mirror")
    trove = None
    try:
        client = MlflowClient(source_url)
        exp = client.create_experiment("mirror-main")
        other = client.create_experiment("mirror-other")
        runs = {name: client.create_run(exp, run_name=name).info.run_id for name in ("kept", "toggled", "purged")}
        runs["inside"] = client.create_run(other, run_name="inside").info.run_id
        for run_id in runs.values():
            client.log_metric(run_id, "loss", 0.5, step=0)
            client.set_terminated(run_id)
        client.create_registered_model("mirror-stays")
        for _ in range(2):
            client.create_model_version("mirror-stays", f"runs:/{runs['kept']}/model", run_id=runs["kept"])
        client.set_registered_model_alias("mirror-stays", "champion", "1")
        client.create_registered_model("mirror-goes")
        client.create_model_version("mirror-goes", f"runs:/{runs['kept']}/model", run_id=runs["kept"])

        first = _trove(*_import_args(source_url, target, "-q"))
        assert first.returncode == 0, first.stdout + first.stderr
        cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
               "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts)]
        trove, trove_url = _start(cmd, target.base, target.base / "trove.log", 60)
        yield {"source": source_url, "store": store, "target": target, "trove": trove_url, "exp": exp, "other": other, "runs": runs}
    finally:
        if trove is not None:
            _stop(trove)
        _stop(source)


def _reimport(m, *extra: str) -> str:
    done = _trove(*_import_args(m["source"], m["target"], "-q", *extra))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _stages(client: MlflowClient, m) -> dict:
    return {name: client.get_run(run_id).info.lifecycle_stage for name, run_id in m["runs"].items()}


def test_deleting_and_restoring_runs_and_experiments_at_the_source_follows_on_the_next_import(mirror):
    src, dst = MlflowClient(mirror["source"]), MlflowClient(mirror["trove"])
    src.delete_run(mirror["runs"]["toggled"])
    src.delete_experiment(mirror["other"])
    _reimport(mirror)
    assert _stages(dst, mirror) == _stages(src, mirror)
    assert dst.get_run(mirror["runs"]["toggled"]).info.lifecycle_stage == "deleted"
    assert dst.get_experiment(mirror["other"]).lifecycle_stage == src.get_experiment(mirror["other"]).lifecycle_stage == "deleted"
    assert [r.info.run_id for r in dst.search_runs([mirror["exp"]])] == [r.info.run_id for r in src.search_runs([mirror["exp"]])]

    src.restore_run(mirror["runs"]["toggled"])
    src.restore_experiment(mirror["other"])
    _reimport(mirror)
    assert _stages(dst, mirror) == _stages(src, mirror)
    assert dst.get_experiment(mirror["other"]).lifecycle_stage == "active"
    assert sorted(r.info.run_id for r in dst.search_runs([mirror["exp"]], run_view_type=ViewType.ACTIVE_ONLY)) == \
        sorted(r.info.run_id for r in src.search_runs([mirror["exp"]], run_view_type=ViewType.ACTIVE_ONLY))


def test_what_is_gone_from_the_source_for_good_is_kept_until_delete_missing_removes_it(mirror):
    src, dst = MlflowClient(mirror["source"]), MlflowClient(mirror["trove"])
    purged = mirror["runs"]["purged"]
    src.delete_run(purged)
    env = {**os.environ, "MLFLOW_TRACKING_URI": mirror["source"]}
    gc = subprocess.run([sys.executable, "-m", "mlflow", "gc", "--backend-store-uri", mirror["store"], "--run-ids", purged],
                        capture_output=True, text=True, env=env, timeout=300)
    assert gc.returncode == 0, gc.stdout + gc.stderr
    with pytest.raises(MlflowException):
        src.get_run(purged)
    src.delete_model_version("mirror-stays", "2")
    src.delete_registered_model_alias("mirror-stays", "champion")
    src.delete_registered_model("mirror-goes")

    kept = _reimport(mirror)
    assert "--delete-missing" in kept and "1 run, 1 registered model, 1 model version" in kept, kept
    assert dst.get_run(purged).info.lifecycle_stage == "active"
    assert dst.get_registered_model("mirror-goes").name == "mirror-goes"
    assert sorted(v.version for v in dst.search_model_versions("name='mirror-stays'")) == ["1", "2"]

    # A dry run lists, kind by kind, what the same command would delete, and deletes nothing.
    dry = _reimport(mirror, "--dry-run", "--delete-missing")
    assert "would be deleted here" in dry, dry
    for line in (f"runs: 1 ({purged})", "registered models: 1 (mirror-goes)", "model versions: 1 (mirror-stays/2)",
                 "aliases: 1 (mirror-stays@champion)"):
        assert line in dry, (line, dry)
    assert dst.get_run(purged).info.lifecycle_stage == "active"
    assert dst.get_registered_model("mirror-goes").name == "mirror-goes"
    assert dst.get_registered_model("mirror-stays").aliases == {"champion": "1"}

    deleted = _reimport(mirror, "--delete-missing")
    assert "DELETED" in deleted, deleted
    assert dst.get_run(purged).info.lifecycle_stage == "deleted"
    with pytest.raises(MlflowException):
        dst.get_registered_model("mirror-goes")
    stays_src, stays_dst = src.get_registered_model("mirror-stays"), dst.get_registered_model("mirror-stays")
    assert stays_dst.aliases == stays_src.aliases == {}
    assert sorted(v.version for v in dst.search_model_versions("name='mirror-stays'")) == \
        sorted(v.version for v in src.search_model_versions("name='mirror-stays'")) == ["1"]
    assert _stages(dst, {"runs": {k: v for k, v in mirror["runs"].items() if k != "purged"}}) == \
        _stages(src, {"runs": {k: v for k, v in mirror["runs"].items() if k != "purged"}})
