"""`trove import mlruns`: an mlruns/ folder written by the real MLflow 3 client with its file store
is imported by reading the folder directly, then the real client reads the same objects back from
a Trove server and compares them with what the file store reports, field by field; the imported
model loads through runs:/, models:/name/1 and models:/name@alias. The folder is moved before the
import, as when a team copies its mlruns/ to the new machine.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import mlflow
import pytest
import requests
from _readback import assert_runs_match, assert_versions_match, history, predictions
from _support import MLFLOW_MAJOR, SERVER_KIND, log_model_kwargs, training_data
from mlflow.entities import Metric, ViewType
from mlflow.tracking import MlflowClient
from test_import import Target, _free_port, _start, _stop, _trove, REPO_ROOT

pytestmark = pytest.mark.skipif(
    MLFLOW_MAJOR < 3 or SERVER_KIND != "trove",
    reason="the import is checked with the MLflow 3 client against Trove",
)

STEPS = 2_000


@pytest.fixture(scope="module")
def mlruns(tmp_path_factory):
    """An mlruns/ folder seeded by the client, then moved; returns (client on the moved folder, ids)."""
    base = tmp_path_factory.mktemp("mlruns-source")
    written = base / "written" / "mlruns"
    old_env = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    old_uri = mlflow.get_tracking_uri()
    uri = written.as_uri()
    mlflow.set_tracking_uri(uri)
    ids: dict[str, str] = {}
    try:
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        exp = client.create_experiment("mlruns-a", tags={"team": "nlp"})
        gone = client.create_experiment("mlruns-deleted")
        run = client.create_run(exp, run_name="fit", tags={"owner": "grace"})
        rid = run.info.run_id
        for start in range(0, STEPS, 1000):
            client.log_batch(rid, metrics=[Metric("loss", 1.0 / (s + 1), 1_700_000_000_000 + s, s) for s in range(start, start + 1000)])
        client.log_metric(rid, "acc", float("nan"), step=1)
        client.log_param(rid, "lr", "0.1")
        files = base / "files"
        (files / "nested").mkdir(parents=True)
        (files / "nested" / "x.txt").write_text("x" * 1000)
        (files / "top.bin").write_bytes(os.urandom(300_000))
        client.log_artifacts(rid, str(files))
        client.set_terminated(rid, "FINISHED")
        deleted = client.create_run(exp, run_name="dropped")
        client.set_terminated(deleted.info.run_id)
        client.delete_run(deleted.info.run_id)
        client.create_run(gone, run_name="in-trash")
        client.delete_experiment(gone)

        from sklearn.linear_model import LogisticRegression

        X, y = training_data()
        mlflow.set_experiment(experiment_id=exp)
        with mlflow.start_run(run_name="trainer") as trainer:
            info = mlflow.sklearn.log_model(LogisticRegression(max_iter=300).fit(X, y), **log_model_kwargs("model"))
        client.create_registered_model("mlruns-model", tags={"k": "v"}, description="from files")
        client.create_model_version("mlruns-model", f"models:/{info.model_id}", run_id=trainer.info.run_id, model_id=info.model_id)
        client.create_model_version("mlruns-model", f"models:/{info.model_id}", run_id=trainer.info.run_id, model_id=info.model_id,
                                    description="second")
        client.set_registered_model_alias("mlruns-model", "prod", "2")
        client.transition_model_version_stage("mlruns-model", "1", "Archived")
        ids = {"exp": exp, "gone": gone, "run": rid, "deleted": deleted.info.run_id, "trainer": trainer.info.run_id, "model_id": info.model_id}
    finally:
        mlflow.set_tracking_uri(old_uri)
    moved = base / "moved" / "mlruns"
    moved.parent.mkdir()
    shutil.move(str(written), str(moved))
    shutil.rmtree(base / "written")
    yield moved, ids
    if old_env is None:
        os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
    else:
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = old_env


@pytest.fixture(scope="module")
def imported(mlruns, tmp_path_factory):
    folder, _ = mlruns
    base = tmp_path_factory.mktemp("trove-mlruns")
    target = Target(f"sqlite:///{base / 'trove.db'}", base / "artifacts", base)
    done = _trove("import", "mlruns", str(folder), "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts))
    assert done.returncode == 0, f"import failed:\n{done.stdout}\n{done.stderr}"
    cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts)]
    process, url = _start(cmd, base, base / "trove.log", 60)
    try:
        yield url, done.stdout, target
    finally:
        _stop(process)


def _file_client(folder: Path) -> MlflowClient:
    # The run metadata still names the old place; the client only needs it for metadata here.
    return MlflowClient(tracking_uri=folder.as_uri(), registry_uri=folder.as_uri())


def test_experiments_runs_params_tags_and_deleted_state_match_the_file_store(mlruns, imported):
    folder, ids = mlruns
    url, _, _ = imported
    src, dst = _file_client(folder), MlflowClient(url)
    # File-store experiment ids are too large to keep (they become new ids, which the report lists).
    exp = dst.get_experiment_by_name("mlruns-a")
    assert exp.tags == src.get_experiment(ids["exp"]).tags
    assert exp.creation_time == src.get_experiment(ids["exp"]).creation_time
    assert dst.get_experiment_by_name("mlruns-deleted").lifecycle_stage == "deleted"
    assert_runs_match(src, dst, ((key, ids[key], ids[key]) for key in ("run", "deleted", "trainer")), same_ids=True)
    runs = dst.search_runs([exp.experiment_id], run_view_type=ViewType.ALL)
    assert len(runs) == 3


def test_metric_histories_are_complete(mlruns, imported):
    folder, ids = mlruns
    url, _, _ = imported
    src, dst = _file_client(folder), MlflowClient(url)
    assert len(history(dst, ids["run"], "loss")) == STEPS
    for key in ("loss", "acc"):
        assert history(dst, ids["run"], key) == history(src, ids["run"], key), key


def test_artifacts_of_the_moved_folder_are_byte_identical(mlruns, imported, tmp_path):
    folder, ids = mlruns
    url, _, _ = imported
    got = Path(mlflow.artifacts.download_artifacts(run_id=ids["run"], tracking_uri=url, dst_path=str(tmp_path)))
    run_dir = next(folder.glob(f"*/{ids['run']}"))
    for rel in ("top.bin", "nested/x.txt"):
        assert (got / rel).read_bytes() == (run_dir / "artifacts" / rel).read_bytes(), rel


def test_registry_versions_stages_aliases_and_model_loading(mlruns, imported):
    folder, ids = mlruns
    url, _, _ = imported
    src, dst = _file_client(folder), MlflowClient(url)
    a = src.get_registered_model("mlruns-model")
    b = dst.get_registered_model("mlruns-model")
    assert (b.description, b.tags, b.aliases) == (a.description, a.tags, a.aliases)
    assert_versions_match(src, dst, "mlruns-model", ("1", "2"), ("current_stage", "description", "source", "run_id", "aliases"))
    # The client does not surface a version's model_id; the wire answer carries it.
    for version in ("1", "2"):
        answer = requests.get(f"{url}/api/2.0/mlflow/model-versions/get", params={"name": "mlruns-model", "version": version}, timeout=30).json()
        assert answer["model_version"]["model_id"] == ids["model_id"]
    X, _ = training_data()
    outputs = predictions(url, (f"runs:/{ids['trainer']}/model", "models:/mlruns-model/1", "models:/mlruns-model@prod"), X[:10])
    assert outputs[0] == outputs[1] == outputs[2]


def test_importing_the_folder_again_changes_nothing(mlruns, imported):
    folder, _ = mlruns
    _, _, target = imported
    again = _trove("import", "mlruns", str(folder), "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "metric points: 0" in again.stdout and "0 files" in again.stdout, again.stdout


def test_export_to_a_folder_and_import_into_a_fresh_trove_gives_identical_objects(mlruns, imported, tmp_path_factory):
    _, ids = mlruns
    url, _, target = imported
    base = tmp_path_factory.mktemp("trove-roundtrip")
    folder = base / "export"
    exported = _trove("export", "--to-dir", str(folder), "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert (folder / "manifest.json").exists() and (folder / "files.jsonl").read_text().count("sha256") >= 3
    fresh = Target(f"sqlite:///{base / 'trove.db'}", base / "artifacts", base)
    done = _trove("import", "dir", str(folder), "--backend-store-uri", fresh.store_uri, "--artifacts-destination", str(fresh.artifacts))
    assert done.returncode == 0, done.stdout + done.stderr
    process, url2 = _start(["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
                            "--backend-store-uri", fresh.store_uri, "--artifacts-destination", str(fresh.artifacts)], base, base / "trove.log", 60)
    try:
        a, b = MlflowClient(url), MlflowClient(url2)
        exps_a = {e.name: e for e in a.search_experiments(view_type=ViewType.ALL)}
        exps_b = {e.name: e for e in b.search_experiments(view_type=ViewType.ALL)}
        assert sorted(exps_a) == sorted(exps_b)
        for name, e in exps_a.items():
            f = exps_b[name]
            assert (f.experiment_id, f.lifecycle_stage, f.creation_time, f.tags) == (e.experiment_id, e.lifecycle_stage, e.creation_time, e.tags)
            runs_a = {r.info.run_id: r for r in a.search_runs([e.experiment_id], run_view_type=ViewType.ALL)}
            runs_b = {r.info.run_id: r for r in b.search_runs([e.experiment_id], run_view_type=ViewType.ALL)}
            assert sorted(runs_a) == sorted(runs_b)
            for run_id, r in runs_a.items():
                s = runs_b[run_id]
                assert (s.info.status, s.info.start_time, s.info.end_time, s.info.lifecycle_stage, s.info.run_name) == \
                    (r.info.status, r.info.start_time, r.info.end_time, r.info.lifecycle_stage, r.info.run_name)
                assert (s.data.params, s.data.tags) == (r.data.params, r.data.tags)
                for key in r.data.metrics:
                    ha = sorted((m.step, m.timestamp, str(m.value)) for m in a.get_metric_history(run_id, key))
                    hb = sorted((m.step, m.timestamp, str(m.value)) for m in b.get_metric_history(run_id, key))
                    assert ha == hb, (run_id, key)
        for version in ("1", "2"):
            va, vb = a.get_model_version("mlruns-model", version), b.get_model_version("mlruns-model", version)
            for attr in ("current_stage", "description", "source", "run_id", "aliases", "creation_timestamp"):
                assert getattr(vb, attr) == getattr(va, attr), (version, attr)
        tmp = base / "dl"
        got = Path(mlflow.artifacts.download_artifacts(run_id=ids["run"], tracking_uri=url2, dst_path=str(tmp)))
        assert (got / "top.bin").stat().st_size == 300_000
        X, _ = training_data()
        old = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(url2)
        try:
            assert len(mlflow.pyfunc.load_model("models:/mlruns-model@prod").predict(X[:5])) == 5
        finally:
            mlflow.set_tracking_uri(old)
    finally:
        _stop(process)


@mlflow.trace
def _traced(x: int) -> int:
    mlflow.update_current_trace(tags={"user": "u1"})
    with mlflow.start_span("inner") as span:
        span.set_inputs({"x": x})
        span.set_outputs(x + 1)
    return x + 1


def _assessments(trace) -> list:
    return sorted((a.assessment_id, a.name, repr(a.value), a.rationale, a.source.source_type, a.source.source_id, a.create_time_ms,
                   a.last_update_time_ms, a.metadata, a.overrides, a.valid) for a in trace.info.assessments)


def test_traces_of_a_file_store_come_across_with_ids_times_tags_metadata_spans_and_assessments_and_later_changes_follow(tmp_path_factory):
    base = tmp_path_factory.mktemp("mlruns-traces")
    folder = base / "mlruns"
    old_env = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    old_uri = mlflow.get_tracking_uri()
    try:
        mlflow.set_tracking_uri(folder.as_uri())
        experiment_id = mlflow.create_experiment("mlruns-traces")
        mlflow.set_experiment(experiment_id=experiment_id)
        _traced(1)
        _traced(2)
        mlflow.flush_trace_async_logging(terminate=False)
        last = mlflow.get_last_active_trace_id()
        mlflow.set_trace_tag(last, "reviewed", "yes")
        from mlflow.entities import AssessmentSource, AssessmentSourceType

        human = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="ada")
        first = mlflow.log_feedback(trace_id=last, name="quality", value=0.8, rationale="good\nline two: yes", source=human, metadata={"k": "v"})
        mlflow.log_expectation(trace_id=last, name="expected", value={"answer": 6, "list": [1, "two"]}, source=human)
        mlflow.override_feedback(trace_id=last, assessment_id=first.assessment_id, value=0.9, rationale="better")
        before = {t.info.trace_id: mlflow.get_trace(t.info.trace_id) for t in mlflow.search_traces(experiment_ids=[experiment_id], return_type="list")}
    finally:
        mlflow.set_tracking_uri(old_uri)
        if old_env is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = old_env
    assert len(before) == 2
    target = Target(f"sqlite:///{base / 'trove.db'}", base / "artifacts", base)
    args = ["import", "mlruns", str(folder), "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts)]
    done = _trove(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    # Changed in the folder after the import: a new tag and a new feedback on the other trace.
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        mlflow.set_tracking_uri(folder.as_uri())
        other = next(t for t in before if t != last)
        mlflow.set_trace_tag(other, "late", "tag")
        mlflow.log_feedback(trace_id=other, name="later", value=True, source=human)
        before = {t: mlflow.get_trace(t) for t in before}
    finally:
        mlflow.set_tracking_uri(old_uri)
        if old_env is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = old_env
    again = _trove(*args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.search(r"^traces\s+0\s+1\s+1\s", again.stdout, re.M), again.stdout
    cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts)]
    process, url = _start(cmd, base, base / "trove.log", 60)
    try:
        mlflow.set_tracking_uri(url)
        # The file store's long experiment id may be given a new one in Trove: found by name.
        imported_id = MlflowClient(url).get_experiment_by_name("mlruns-traces").experiment_id
        found = mlflow.search_traces(experiment_ids=[imported_id], return_type="list")
        assert sorted(t.info.trace_id for t in found) == sorted(before)
        for trace_id, a in before.items():
            b = mlflow.get_trace(trace_id)
            assert (b.info.request_time, b.info.execution_duration, str(b.info.state)) == (a.info.request_time, a.info.execution_duration, str(a.info.state))
            assert {k: v for k, v in b.info.tags.items() if not k.startswith("mlflow.")} == {k: v for k, v in a.info.tags.items() if not k.startswith("mlflow.")}
            assert (b.info.request_preview, b.info.response_preview) == (a.info.request_preview, a.info.response_preview)
            assert _assessments(b) == _assessments(a)
            assert sorted((s.name, s.span_id, s.parent_id, s.start_time_ns, s.end_time_ns, repr(s.inputs), repr(s.outputs)) for s in b.data.spans) == \
                sorted((s.name, s.span_id, s.parent_id, s.start_time_ns, s.end_time_ns, repr(s.inputs), repr(s.outputs)) for s in a.data.spans)
    finally:
        mlflow.set_tracking_uri(old_uri)
        _stop(process)
