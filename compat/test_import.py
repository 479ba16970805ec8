"""`trove import mlflow`: a real `mlflow server` (from the pinned PyPI package) is seeded by the real
client, imported into a fresh Trove store, and the real client then reads everything back from a Trove
server on that store, field by field: ids, metric histories, artifact bytes, registry versions,
aliases and stages, and loads the model through runs:/, models:/name/1 and models:/name@alias.

The upstream server is started once for this module (it needs 15-40 s on 2 cores). Runs only with
the MLflow 3 client (logged models, aliases), against Trove.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np
import pytest
import requests
from _readback import artifact_listing, artifact_sha256, assert_runs_match, history, predictions
from _support import MLFLOW_MAJOR, REPO_ROOT, SERVER_KIND, log_model_kwargs, training_data
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.skipif(
    MLFLOW_MAJOR < 3 or SERVER_KIND != "trove",
    reason="the import is checked with the MLflow 3 client against Trove",
)

HISTORY_STEPS = 10_000
BIG_FILE_BYTES = 50 * 1024 * 1024


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _start(cmd: list[str], cwd: Path, log: Path, timeout: float) -> tuple[subprocess.Popen, str]:
    port = int(cmd[cmd.index("--port") + 1])
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, cwd=str(cwd), env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"{cmd[0]} exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            _stop(process)
            pytest.fail(f"server did not start in {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)


def _trove(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["node", str(REPO_ROOT / "bin" / "trove.js"), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=str(REPO_ROOT))


@dataclass
class Seeded:
    url: str
    experiment_ids: dict[str, str] = field(default_factory=dict)
    run_ids: dict[str, str] = field(default_factory=dict)
    big_sha256: str = ""
    model_name: str = "import-model"
    logged_model_id: str = ""


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Seeded:
    """An upstream MLflow server, seeded through the real client."""
    base = tmp_path_factory.mktemp("mlflow-source")
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--workers", "1", "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}",
           "--artifacts-destination", str(base / "artifacts")]
    process, url = _start(cmd, base, base / "mlflow.log", 180)
    try:
        yield _seed(url, base)
    finally:
        _stop(process)


def _seed(url: str, base: Path) -> Seeded:
    seeded = Seeded(url)
    client = MlflowClient(tracking_uri=url)
    old = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(url)
    try:
        exp_a = client.create_experiment("import-a", tags={"team": "vision", "stage": "dev"})
        exp_b = client.create_experiment("import-b")
        exp_gone = client.create_experiment("import-deleted")
        seeded.experiment_ids = {"a": exp_a, "b": exp_b, "gone": exp_gone}

        parent = client.create_run(exp_a, run_name="parent", tags={"owner": "ada"})
        child = client.create_run(exp_a, run_name="child", tags={"mlflow.parentRunId": parent.info.run_id})
        rid = child.info.run_id
        t0 = 1_700_000_000_000
        for start in range(0, HISTORY_STEPS, 1000):
            client.log_batch(rid, metrics=[Metric("loss", 1.0 / (s + 1), t0 + s, s) for s in range(start, start + 1000)])
        client.log_batch(rid, metrics=[Metric("acc", v, t0 + i, i) for i, v in enumerate([0.5, 0.7, float("nan"), 0.9])],
                         params=[Param("lr", "0.01"), Param("layers", "3")], tags=[RunTag("note", "nested")])
        # Two points at the same step with different timestamps: both are history.
        client.log_metric(rid, "acc", 0.95, timestamp=t0 + 99, step=3)

        src = base / "files"
        (src / "dir" / "sub").mkdir(parents=True)
        (src / "hello.txt").write_text("hello trove\n")
        (src / "dir" / "a.json").write_text('{"a": 1}')
        (src / "dir" / "sub" / "b.bin").write_bytes(bytes(range(256)) * 10)
        big = base / "big.bin"
        rng = np.random.default_rng(1)
        with open(big, "wb") as f:
            for _ in range(BIG_FILE_BYTES // (1 << 20)):
                f.write(rng.bytes(1 << 20))
        seeded.big_sha256 = hashlib.sha256(big.read_bytes()).hexdigest()
        client.log_artifact(rid, str(src / "hello.txt"))
        client.log_artifacts(rid, str(src / "dir"), artifact_path="dir")
        client.log_artifact(rid, str(big), artifact_path="data")
        client.set_terminated(rid, "FINISHED", end_time=t0 + 50_000)
        client.set_terminated(parent.info.run_id, "FAILED", end_time=t0 + 60_000)

        deleted = client.create_run(exp_b, run_name="to-delete")
        client.log_param(deleted.info.run_id, "p", "1")
        client.set_terminated(deleted.info.run_id)
        client.delete_run(deleted.info.run_id)

        in_gone = client.create_run(exp_gone, run_name="in-deleted-experiment")
        client.set_terminated(in_gone.info.run_id)
        client.delete_experiment(exp_gone)

        from sklearn.linear_model import LogisticRegression

        X, y = training_data()
        mlflow.set_experiment(experiment_id=exp_b)
        with mlflow.start_run(run_name="trainer") as run:
            mlflow.log_param("C", "1.0")
            mlflow.log_metric("train_acc", 0.93)
            info = mlflow.sklearn.log_model(LogisticRegression(max_iter=300).fit(X, y), **log_model_kwargs("model"))
        seeded.logged_model_id = info.model_id
        trainer = run.info.run_id
        seeded.run_ids = {"parent": parent.info.run_id, "child": rid, "deleted": deleted.info.run_id,
                          "trainer": trainer, "in_gone": in_gone.info.run_id}

        client.create_registered_model(seeded.model_name, tags={"domain": "fraud"}, description="imported model")
        v1 = client.create_model_version(seeded.model_name, f"runs:/{trainer}/model", run_id=trainer,
                                         tags={"validated": "yes"}, description="first")
        v2 = client.create_model_version(seeded.model_name, f"models:/{info.model_id}", run_id=trainer, model_id=info.model_id)
        v3 = client.create_model_version(seeded.model_name, f"models:/{info.model_id}", run_id=trainer, model_id=info.model_id)
        client.delete_model_version(seeded.model_name, v3.version)
        v4 = client.create_model_version(seeded.model_name, f"models:/{info.model_id}", run_id=trainer, model_id=info.model_id)
        client.set_registered_model_alias(seeded.model_name, "champion", v1.version)
        client.set_registered_model_alias(seeded.model_name, "latest-good", v4.version)
        client.transition_model_version_stage(seeded.model_name, v2.version, "Production")
        client.transition_model_version_stage(seeded.model_name, v1.version, "Staging")
        assert [v1.version, v2.version, v4.version] == ["1", "2", "4"]
    finally:
        mlflow.set_tracking_uri(old)
    return seeded


@dataclass
class Target:
    store_uri: str
    artifacts: Path
    base: Path


def _new_target(tmp_path_factory, label: str) -> Target:
    base = tmp_path_factory.mktemp(label)
    return Target(f"sqlite:///{base / 'trove.db'}", base / "artifacts", base)


def _import_args(source_url: str, target: Target, *extra: str) -> list[str]:
    return ["import", "mlflow", "--from", source_url, "--backend-store-uri", target.store_uri,
            "--artifacts-destination", str(target.artifacts), *extra]


@pytest.fixture(scope="module")
def imported(source, tmp_path_factory):
    """A Trove store the source was imported into, and a Trove server on it."""
    target = _new_target(tmp_path_factory, "trove-import")
    done = _trove(*_import_args(source.url, target))
    assert done.returncode == 0, f"import failed:\n{done.stdout}\n{done.stderr}"
    cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts)]
    process, url = _start(cmd, target.base, target.base / "trove.log", 60)
    try:
        yield target, url, done.stdout
    finally:
        _stop(process)


def test_experiments_come_across_with_their_ids_tags_lifecycle_and_times(source, imported):
    _, url, _ = imported
    src, dst = MlflowClient(source.url), MlflowClient(url)
    for exp in src.search_experiments(view_type=ViewType.ALL):
        got = dst.get_experiment(exp.experiment_id)
        assert (got.name, got.lifecycle_stage, got.creation_time) == (exp.name, exp.lifecycle_stage, exp.creation_time)
        assert {k: v for k, v in got.tags.items()} == exp.tags
    assert dst.get_experiment(source.experiment_ids["gone"]).lifecycle_stage == "deleted"


def test_runs_keep_ids_names_times_status_params_tags_and_deleted_state(source, imported):
    _, url, _ = imported
    src, dst = MlflowClient(source.url), MlflowClient(url)
    assert_runs_match(src, dst, ((name, run_id, run_id) for name, run_id in source.run_ids.items()), same_ids=True)
    for name, run_id in source.run_ids.items():
        assert dst.get_run(run_id).data.metrics == src.get_run(run_id).data.metrics or name == "child", name
    assert dst.get_run(source.run_ids["child"]).data.tags["mlflow.parentRunId"] == source.run_ids["parent"]
    assert dst.get_run(source.run_ids["deleted"]).info.lifecycle_stage == "deleted"


def test_every_metric_point_is_imported_with_step_and_timestamp(source, imported):
    _, url, _ = imported
    src, dst = MlflowClient(source.url), MlflowClient(url)
    child = source.run_ids["child"]
    for key in ("loss", "acc"):
        assert history(dst, child, key) == history(src, child, key)
    assert len(dst.get_metric_history(child, "loss")) == HISTORY_STEPS
    assert len(dst.get_metric_history(child, "acc")) == 5


def test_artifacts_are_byte_identical_including_the_50_mb_file(source, imported, tmp_path):
    _, url, _ = imported
    src, dst = MlflowClient(source.url), MlflowClient(url)
    child = source.run_ids["child"]
    assert artifact_listing(dst, child) == artifact_listing(src, child)
    assert artifact_sha256(url, child, "data/big.bin", tmp_path) == source.big_sha256
    text = mlflow.artifacts.download_artifacts(run_id=child, artifact_path="dir/sub/b.bin", tracking_uri=url, dst_path=str(tmp_path / "b"))
    assert Path(text).read_bytes() == bytes(range(256)) * 10


def test_the_logged_model_keeps_its_id_params_and_files(source, imported):
    _, url, _ = imported
    src, dst = MlflowClient(source.url), MlflowClient(url)
    a, b = src.get_logged_model(source.logged_model_id), dst.get_logged_model(source.logged_model_id)
    for attr in ("model_id", "name", "experiment_id", "source_run_id", "creation_timestamp", "status"):
        assert getattr(b, attr) == getattr(a, attr), attr
    assert b.tags == a.tags
    assert b.params == a.params


def test_registered_models_keep_version_numbers_stages_aliases_tags_and_descriptions(source, imported):
    _, url, _ = imported
    src, dst = MlflowClient(source.url), MlflowClient(url)
    name = source.model_name
    a, b = src.get_registered_model(name), dst.get_registered_model(name)
    assert (b.description, b.tags, b.aliases, b.creation_timestamp) == (a.description, a.tags, a.aliases, a.creation_timestamp)
    versions_a = sorted(src.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
    versions_b = sorted(dst.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
    assert [v.version for v in versions_b] == [v.version for v in versions_a] == ["1", "2", "4"]
    for va, vb in zip(versions_a, versions_b):
        for attr in ("current_stage", "description", "source", "run_id", "tags", "creation_timestamp", "status", "model_id"):
            assert getattr(vb, attr) == getattr(va, attr), (va.version, attr)
        # MLflow's search leaves aliases out; get has them.
        assert dst.get_model_version(name, vb.version).aliases == src.get_model_version(name, va.version).aliases
    assert dst.get_model_version_by_alias(name, "champion").version == "1"


def test_models_load_through_runs_and_models_uris_after_the_import(source, imported):
    _, url, _ = imported
    X, _ = training_data()
    outputs = predictions(url, (f"runs:/{source.run_ids['trainer']}/model", f"models:/{source.model_name}/1",
                                f"models:/{source.model_name}@champion", f"models:/{source.logged_model_id}"), X[:20])
    assert all(o == outputs[0] for o in outputs), outputs


def test_a_second_import_finds_nothing_changed_then_brings_only_new_points_and_late_files(source, imported, tmp_path):
    target, url, _ = imported
    again = _trove(*_import_args(source.url, target))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "metric points: 0" in again.stdout, again.stdout
    assert "0 files" in again.stdout, again.stdout

    src = MlflowClient(source.url)
    child = source.run_ids["child"]
    src.log_metric(child, "loss", 0.0001, timestamp=1_800_000_000_000, step=HISTORY_STEPS)
    src.set_model_version_tag(source.model_name, "2", "checked", "true")
    # A file added later to a run that finished long ago changes nothing else about the run.
    parent = source.run_ids["parent"]
    late = Path(tmp_path) / "late.txt"
    late.write_text("added after the first import\n")
    src.log_artifact(parent, str(late), artifact_path="later")
    third = _trove(*_import_args(source.url, target))
    assert third.returncode == 0, third.stdout + third.stderr
    dst = MlflowClient(url)
    assert [(f.path, f.file_size) for f in dst.list_artifacts(parent, "later")] == [("later/late.txt", late.stat().st_size)]
    got = mlflow.artifacts.download_artifacts(run_id=parent, artifact_path="later/late.txt", tracking_uri=url, dst_path=str(tmp_path / "late"))
    assert Path(got).read_text() == "added after the first import\n"
    assert len(dst.get_metric_history(child, "loss")) == HISTORY_STEPS + 1
    assert dst.get_model_version(source.model_name, "2").tags == {"checked": "true"}
    assert f"metric points: {HISTORY_STEPS + 1}" in third.stdout or "metric points: 10.0k" in third.stdout, third.stdout


def test_dry_run_lists_what_would_come_and_writes_nothing(source, tmp_path_factory):
    target = _new_target(tmp_path_factory, "trove-dry")
    done = _trove(*_import_args(source.url, target, "--dry-run"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Dry run" in done.stdout and "import-a" in done.stdout
    assert "Registered models: 1 with 3 versions" in done.stdout, done.stdout
    assert not target.artifacts.exists() or not any(target.artifacts.rglob("*.bin"))


def test_a_name_conflict_stops_before_writing_unless_a_policy_is_chosen(source, tmp_path_factory):
    target = _new_target(tmp_path_factory, "trove-conflict")
    # Trove already has an experiment of the same name, with a run in it.
    seed = _trove(*_import_args(source.url, target, "--experiment", "import-a", "--skip-artifacts", "--skip-registry", "-q"))
    assert seed.returncode == 0, seed.stdout + seed.stderr
    other = _new_target(tmp_path_factory, "trove-conflict-src")
    del other
    # A second source (the same server under another URL) is a different source for the state.
    alias_url = source.url.replace("127.0.0.1", "localhost")
    refused = _trove(*_import_args(alias_url, target, "--experiment", "import-a", "--skip-artifacts"))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "import-a" in refused.stderr and "--on-conflict" in refused.stderr
    renamed = _trove(*_import_args(alias_url, target, "--experiment", "import-a", "--skip-artifacts", "--skip-registry",
                                   "--on-conflict", "rename", "--remap-ids"))
    assert renamed.returncode == 0, renamed.stdout + renamed.stderr
    assert "import-a (imported)" in renamed.stdout and "->" in renamed.stdout


def test_an_import_killed_midway_resumes_without_duplicates_or_gaps(source, tmp_path_factory):
    target = _new_target(tmp_path_factory, "trove-resume")
    cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), *_import_args(source.url, target, "--concurrency", "1")]
    log = target.base / "import.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=str(REPO_ROOT), start_new_session=True)
    deadline = time.monotonic() + 120
    while b"runs:" not in log.read_bytes() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    resumed = _trove(*_import_args(source.url, target))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    port = _free_port()
    server, url = _start(["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(port),
                          "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts)],
                         target.base, target.base / "trove.log", 60)
    try:
        src, dst = MlflowClient(source.url), MlflowClient(url)
        child = source.run_ids["child"]
        assert history(dst, child, "loss") == history(src, child, "loss")
        assert len(dst.search_runs([source.experiment_ids["a"]], run_view_type=ViewType.ALL)) == 2
        assert sorted(v.version for v in dst.search_model_versions(f"name='{source.model_name}'")) == ["1", "2", "4"]
        sizes = {f.path: f.file_size for f in dst.list_artifacts(child, "data")}
        assert sizes == {"data/big.bin": BIG_FILE_BYTES}
    finally:
        _stop(server)


@pytest.fixture(scope="module")
def imported_via_api(source, tmp_path_factory):
    """A running Trove server on an empty store, imported into over its bulk import API (--to)."""
    target = _new_target(tmp_path_factory, "trove-import-to")
    cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts)]
    process, url = _start(cmd, target.base, target.base / "trove.log", 60)
    try:
        done = _trove("import", "mlflow", "--from", source.url, "--to", url, "-q")
        assert done.returncode == 0, f"import --to failed:\n{done.stdout}\n{done.stderr}"
        yield url, done.stdout
    finally:
        _stop(process)


def test_importing_into_a_running_trove_over_its_api_gives_the_same_objects(source, imported_via_api, tmp_path):
    url, _ = imported_via_api
    src, dst = MlflowClient(source.url), MlflowClient(url)
    assert_runs_match(src, dst, ((name, run_id, run_id) for name, run_id in source.run_ids.items()), same_ids=True)
    child = source.run_ids["child"]
    assert history(dst, child, "loss") == history(src, child, "loss")
    assert artifact_sha256(url, child, "data/big.bin", tmp_path) == source.big_sha256
    name = source.model_name
    assert sorted(v.version for v in dst.search_model_versions(f"name='{name}'")) == ["1", "2", "4"]
    assert dst.get_model_version_by_alias(name, "champion").version == "1"
    X, _ = training_data()
    champion, trainer = predictions(url, (f"models:/{name}@champion", f"runs:/{source.run_ids['trainer']}/model"), X[:20])
    assert champion == trainer
    again = _trove("import", "mlflow", "--from", source.url, "--to", url, "-q")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "artifacts: 0 files" in again.stdout, again.stdout
