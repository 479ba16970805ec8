"""`trove export --to <tracking URI>`: a Trove store seeded by the real client is written into a real
`mlflow server` (from the pinned PyPI package) through MLflow's REST API, then read back from that
server with the real client, field by field: experiments, runs (names, status, times, user, params,
tags with the parent link following the new ids, deleted state), every metric point, artifact
bytes, the logged model, registered models with version numbers (a deleted version's gap kept),
stages, aliases, tags and descriptions, the model loads from the target through models:/ URIs, and a
trace (nested spans, tags, request metadata, a feedback assessment) reads back the same.

MLflow mints its own run and logged-model ids, so runs are matched through the mapping the export
prints. Runs only with the MLflow 3 client, against Trove.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np
import pytest
from _readback import artifact_listing, artifact_sha256, assert_runs_match, history
from _support import MLFLOW_MAJOR, REPO_ROOT, SERVER_KIND, log_model_kwargs, training_data
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.tracking import MlflowClient
from test_import import _free_port, _start, _stop, _trove

pytestmark = pytest.mark.skipif(
    MLFLOW_MAJOR < 3 or SERVER_KIND != "trove",
    reason="the export is checked with the MLflow 3 client against Trove",
)

STEPS = 3_000
FILE_BYTES = 5 * 1024 * 1024


@dataclass
class Source:
    url: str
    store_uri: str
    artifacts: Path
    experiment_ids: dict[str, str] = field(default_factory=dict)
    run_ids: dict[str, str] = field(default_factory=dict)
    big_sha256: str = ""
    model_name: str = "export-model"
    logged_model_id: str = ""
    trace_id: str = ""
    assessment_id: str = ""


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A Trove server on its own store, seeded through the real client."""
    base = tmp_path_factory.mktemp("trove-export-source")
    store_uri = f"sqlite:///{base / 'trove.db'}"
    cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--backend-store-uri", store_uri, "--artifacts-destination", str(base / "artifacts")]
    process, url = _start(cmd, base, base / "trove.log", 60)
    try:
        yield _seed(Source(url, store_uri, base / "artifacts"), base)
    finally:
        _stop(process)


def _seed(src: Source, base: Path) -> Source:
    client = MlflowClient(tracking_uri=src.url)
    old = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(src.url)
    try:
        exp_a = client.create_experiment("export-a", tags={"team": "vision"})
        exp_gone = client.create_experiment("export-deleted")
        src.experiment_ids = {"a": exp_a, "gone": exp_gone}
        parent = client.create_run(exp_a, run_name="parent", tags={"owner": "ada"})
        child = client.create_run(exp_a, run_name="child", tags={"mlflow.parentRunId": parent.info.run_id})
        rid = child.info.run_id
        t0 = 1_700_000_000_000
        for start in range(0, STEPS, 1000):
            client.log_batch(rid, metrics=[Metric("loss", 1.0 / (s + 1), t0 + s, s) for s in range(start, start + 1000)])
        client.log_batch(rid, metrics=[Metric("acc", v, t0 + i, i) for i, v in enumerate([0.5, float("nan"), 0.9])],
                         params=[Param("lr", "0.01")], tags=[RunTag("note", "nested")])
        client.log_metric(rid, "acc", 0.95, timestamp=t0 + 99, step=2)
        files = base / "files"
        (files / "dir").mkdir(parents=True)
        (files / "hello.txt").write_text("hello mlflow\n")
        (files / "dir" / "a.json").write_text('{"a": 1}')
        big = base / "big.bin"
        big.write_bytes(np.random.default_rng(2).bytes(FILE_BYTES))
        src.big_sha256 = hashlib.sha256(big.read_bytes()).hexdigest()
        client.log_artifact(rid, str(files / "hello.txt"))
        client.log_artifacts(rid, str(files / "dir"), artifact_path="dir")
        client.log_artifact(rid, str(big), artifact_path="data")
        client.set_terminated(rid, "FINISHED", end_time=t0 + 50_000)
        client.set_terminated(parent.info.run_id, "FAILED", end_time=t0 + 60_000)
        deleted = client.create_run(exp_a, run_name="to-delete")
        client.set_terminated(deleted.info.run_id)
        client.delete_run(deleted.info.run_id)
        in_gone = client.create_run(exp_gone, run_name="in-deleted-experiment")
        client.set_terminated(in_gone.info.run_id)
        client.delete_experiment(exp_gone)

        from sklearn.linear_model import LogisticRegression

        X, y = training_data()
        mlflow.set_experiment(experiment_id=exp_a)
        with mlflow.start_run(run_name="trainer") as run:
            mlflow.log_param("C", "1.0")
            info = mlflow.sklearn.log_model(LogisticRegression(max_iter=300).fit(X, y), **log_model_kwargs("model"))
        src.logged_model_id = info.model_id
        trainer = run.info.run_id
        src.run_ids = {"parent": parent.info.run_id, "child": rid, "deleted": deleted.info.run_id, "trainer": trainer,
                       "in_gone": in_gone.info.run_id}
        name = src.model_name
        client.create_registered_model(name, tags={"domain": "fraud"}, description="exported model")
        v1 = client.create_model_version(name, f"runs:/{trainer}/model", run_id=trainer, tags={"validated": "yes"}, description="first")
        v2 = client.create_model_version(name, f"models:/{info.model_id}", run_id=trainer, model_id=info.model_id)
        v3 = client.create_model_version(name, f"models:/{info.model_id}", run_id=trainer, model_id=info.model_id)
        client.delete_model_version(name, v3.version)
        v4 = client.create_model_version(name, f"models:/{info.model_id}", run_id=trainer, model_id=info.model_id)
        client.set_registered_model_alias(name, "champion", v4.version)
        client.transition_model_version_stage(name, v2.version, "Production")
        assert [v1.version, v2.version, v4.version] == ["1", "2", "4"]
        _seed_trace(src)
    finally:
        mlflow.set_tracking_uri(old)
    return src


def _seed_trace(src: Source) -> None:
    """A trace made by the real client in Trove: nested spans, a tag, metadata, a feedback."""
    from mlflow.entities import AssessmentSource, AssessmentSourceType

    @mlflow.trace(span_type="RETRIEVER")
    def retrieve(q):
        return [{"doc": f"about {q}"}]

    @mlflow.trace(attributes={"model": "tiny"})
    def answer(q):
        docs = retrieve(q)
        with mlflow.start_span("llm", span_type="CHAT_MODEL") as span:
            span.set_inputs({"messages": [{"role": "user", "content": q}]})
            span.set_attribute("temperature", 0.5)
            span.set_outputs({"n_docs": len(docs)})
        mlflow.update_current_trace(tags={"user": "u1"}, metadata={"app.version": "7"})
        return "42"

    mlflow.set_experiment(experiment_id=src.experiment_ids["a"])
    answer("meaning of life?")
    mlflow.flush_trace_async_logging()
    src.trace_id = mlflow.get_last_active_trace_id()
    feedback = mlflow.log_feedback(trace_id=src.trace_id, name="quality", value=0.8, rationale="good",
                                   source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="ada"))
    src.assessment_id = feedback.assessment_id


@pytest.fixture(scope="module")
def exported(source, tmp_path_factory):
    """A real MLflow server the Trove store was exported into, and the printed id mapping."""
    base = tmp_path_factory.mktemp("mlflow-export-target")
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--workers", "1", "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}",
           "--artifacts-destination", str(base / "artifacts")]
    process, url = _start(cmd, base, base / "mlflow.log", 180)
    try:
        # An experiment the target had before: the exported ones get other ids there than in Trove.
        MlflowClient(url).create_experiment("already-in-target")
        done = _trove("export", "--to", url, "--backend-store-uri", source.store_uri,
                      "--artifacts-destination", str(source.artifacts), "-q")
        assert done.returncode == 0, f"export failed:\n{done.stdout}\n{done.stderr}"
        mapping = dict(re.findall(r"^\s+(?:run|logged model|trace|assessment) (\S+) -> (\S+)$", done.stdout, re.M))
        yield url, mapping, done.stdout
    finally:
        _stop(process)


def source_store_mark(dst: MlflowClient, src: MlflowClient, source) -> str:
    """The exporting Trove's mark (its store id and project) as an exported experiment carries it."""
    first = src.get_experiment(next(iter(source.experiment_ids.values())))
    mark = dst.get_experiment_by_name(first.name).tags.get("trove.source_store", "")
    assert re.fullmatch(r"[0-9a-f-]{36}/project-\d+", mark), mark
    return mark


def test_every_run_and_logged_model_gets_a_printed_new_id(source, exported):
    _, mapping, stdout = exported
    for name, run_id in source.run_ids.items():
        assert run_id in mapping, (name, stdout)
    assert source.logged_model_id in mapping, stdout
    assert "Everything was exported" in stdout


def test_experiments_keep_names_tags_and_deleted_state(source, exported):
    url, _, _ = exported
    src, dst = MlflowClient(source.url), MlflowClient(url)
    mark = source_store_mark(dst, src, source)
    for key, exp_id in source.experiment_ids.items():
        a = src.get_experiment(exp_id)
        b = dst.get_experiment_by_name(a.name)
        assert b is not None, a.name
        assert b.lifecycle_stage == a.lifecycle_stage, key
        # The marks by which a later export tells the experiments it created, and which Trove did.
        assert b.tags == {**a.tags, "trove.source_experiment_id": exp_id, "trove.source_store": mark}, key


def test_runs_keep_names_status_times_user_params_tags_and_deleted_state(source, exported):
    url, mapping, _ = exported
    src, dst = MlflowClient(source.url), MlflowClient(url)
    mark = source_store_mark(dst, src, source)

    def expected_tags(run_id: str, tags: dict) -> dict:
        # The mark by which a later export finds the run again; the parent link follows the new ids.
        tags["trove.source_run_id"] = run_id
        tags["trove.source_store"] = mark
        if "mlflow.parentRunId" in tags:
            tags["mlflow.parentRunId"] = mapping[tags["mlflow.parentRunId"]]
        return tags

    assert_runs_match(src, dst, ((name, run_id, mapping[run_id]) for name, run_id in source.run_ids.items()),
                      same_ids=False, expected_tags=expected_tags)
    child = dst.get_run(mapping[source.run_ids["child"]])
    assert child.data.tags["mlflow.parentRunId"] == mapping[source.run_ids["parent"]]


def test_every_metric_point_comes_across(source, exported):
    url, mapping, _ = exported
    src, dst = MlflowClient(source.url), MlflowClient(url)
    child = source.run_ids["child"]
    for key in ("loss", "acc"):
        assert history(dst, mapping[child], key) == history(src, child, key), key
    assert len(dst.get_metric_history(mapping[child], "loss")) == STEPS


def test_artifacts_are_byte_identical(source, exported, tmp_path):
    url, mapping, _ = exported
    src, dst = MlflowClient(source.url), MlflowClient(url)
    child = source.run_ids["child"]
    assert artifact_listing(dst, mapping[child]) == artifact_listing(src, child)
    assert artifact_sha256(url, mapping[child], "data/big.bin", tmp_path) == source.big_sha256


def test_registered_model_versions_keep_numbers_stages_aliases_tags_and_follow_the_new_ids(source, exported):
    url, mapping, _ = exported
    src, dst = MlflowClient(source.url), MlflowClient(url)
    name = source.model_name
    a, b = src.get_registered_model(name), dst.get_registered_model(name)
    assert (b.description, b.tags, b.aliases) == (a.description, a.tags, a.aliases)
    va = sorted(src.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
    vb = sorted(dst.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
    assert [v.version for v in vb] == [v.version for v in va] == ["1", "2", "4"]
    for x, y in zip(va, vb):
        for attr in ("current_stage", "tags"):
            assert getattr(y, attr) == getattr(x, attr), (x.version, attr)
        assert (y.description or "") == (x.description or ""), x.version
        assert y.run_id == mapping[x.run_id], x.version
        # Versions of a logged model are registered from it in the target (its files are there).
        assert y.model_id == (mapping[x.model_id] if x.model_id else None), x.version
        assert y.source == f"models:/{mapping[source.logged_model_id]}", x.version


def test_the_model_loads_from_the_target_through_models_uris(source, exported):
    url, mapping, _ = exported
    X, _ = training_data()
    old = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(url)
    try:
        expected = None
        for uri in (f"models:/{source.model_name}/1", f"models:/{source.model_name}@champion", f"models:/{mapping[source.logged_model_id]}"):
            predicted = mlflow.pyfunc.load_model(uri).predict(X[:20])
            expected = predicted if expected is None else expected
            assert list(predicted) == list(expected), uri
    finally:
        mlflow.set_tracking_uri(old)


def _span_tree(trace) -> list[tuple]:
    by_id = {s.span_id: s.name for s in trace.data.spans}
    return sorted((s.name, by_id.get(s.parent_id), s.span_type, s.start_time_ns, s.end_time_ns, json.dumps(s.attributes, sort_keys=True))
                  for s in trace.data.spans)


def test_a_trace_reads_back_with_its_id_spans_tags_metadata_and_feedback(source, exported):
    url, mapping, stdout = exported
    assert re.search(r"\b1 traces with 1 assessments\b", stdout), stdout
    a = MlflowClient(source.url).get_trace(source.trace_id)
    target_id = mapping.get(source.trace_id, source.trace_id)
    assert target_id == source.trace_id, "a trace made by the MLflow 3 client keeps its id"
    b = MlflowClient(url).get_trace(target_id)
    assert b.info.trace_id == target_id
    moved_to = MlflowClient(url).get_experiment_by_name("export-a").experiment_id
    assert moved_to != a.info.experiment_id, "the target gave the experiment another id"
    assert b.info.experiment_id == moved_to, "the trace followed its experiment"
    assert b.info.state == a.info.state
    assert b.info.request_time == a.info.request_time
    assert b.info.tags["user"] == "u1"
    assert b.info.trace_metadata["app.version"] == "7"
    assert len(b.data.spans) == 3
    assert _span_tree(b) == _span_tree(a)
    parents = {s.name: s.parent_id for s in b.data.spans}
    ids = {s.name: s.span_id for s in b.data.spans}
    assert parents["answer"] is None and parents["retrieve"] == ids["answer"] and parents["llm"] == ids["answer"]
    llm = next(s for s in b.data.spans if s.name == "llm")
    assert llm.get_attribute("temperature") == 0.5
    assert llm.inputs == {"messages": [{"role": "user", "content": "meaning of life?"}]}
    (feedback,) = [x for x in b.info.assessments if x.name == "quality"]
    assert feedback.value == 0.8 and feedback.rationale == "good"
    assert feedback.source.source_type == "HUMAN" and feedback.source.source_id == "ada"
    assert mapping[source.assessment_id] == feedback.assessment_id
    found = MlflowClient(url).search_traces(locations=[b.info.experiment_id], filter_string="tags.user = 'u1'")
    assert [t.info.trace_id for t in found] == [target_id]


# ---------------------------------------------------------------------------------------------
# Running the export again: nothing is duplicated, only what changed in Trove is written.


def _export(source: Source, url: str) -> subprocess.CompletedProcess:
    return _trove("export", "--to", url, "--backend-store-uri", source.store_uri, "--artifacts-destination", str(source.artifacts), "-q")


def _inventory(source: Source, url: str) -> dict:
    """Everything the target holds of the export, counted: runs (deleted ones too) with their params,
    tags, every metric point and files; logged models; versions; traces and their assessments."""
    src, dst = MlflowClient(source.url), MlflowClient(url)
    out: dict = {}
    for key, exp_id in sorted(source.experiment_ids.items()):
        exp = dst.get_experiment_by_name(src.get_experiment(exp_id).name)
        runs = dst.search_runs([exp.experiment_id], run_view_type=ViewType.ALL)
        names = {r.info.run_id: r.info.run_name for r in runs}
        # Run ids differ from target to target: a parent is named by its run's name.
        tags = {r.info.run_id: {k: (names.get(v, v) if k == "mlflow.parentRunId" else v) for k, v in r.data.tags.items()} for r in runs}
        out[f"runs {key}"] = sorted(
            (r.info.run_name, r.info.status, r.info.lifecycle_stage, json.dumps(r.data.params, sort_keys=True),
             json.dumps(tags[r.info.run_id], sort_keys=True),
             json.dumps({k: len(dst.get_metric_history(r.info.run_id, k)) for k in r.data.metrics}, sort_keys=True),
             json.dumps(sorted((f.path, f.file_size) for f in dst.list_artifacts(r.info.run_id)))) for r in runs)
        if key == "a":
            out["logged models"] = sorted(m.name for m in dst.search_logged_models(experiment_ids=[exp.experiment_id]))
            traces = dst.search_traces(locations=[exp.experiment_id])
            # The artifact location names the target's experiment id: left out.
            out["traces"] = sorted((t.info.trace_id, json.dumps({k: v for k, v in t.info.tags.items() if k != "mlflow.artifactLocation"}, sort_keys=True), len(t.data.spans),
                                    sorted((x.name, str(x.value), x.source.source_id) for x in t.info.assessments)) for t in traces)
    out["versions"] = sorted((v.version, v.current_stage, json.dumps(v.tags, sort_keys=True)) for v in dst.search_model_versions(f"name='{source.model_name}'"))
    out["aliases"] = dst.get_registered_model(source.model_name).aliases
    return out


def _mapping(stdout: str) -> dict:
    return dict(re.findall(r"^\s+(?:run|logged model|trace|assessment) (\S+) -> (\S+)$", stdout, re.M))


def test_a_second_export_writes_nothing_and_the_target_holds_every_object_once(source, exported):
    url, mapping, _ = exported
    before = _inventory(source, url)
    again = _export(source, url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Exported: 0 new experiments, 0 runs, 0 metric points, 0 logged models, 0 registered models with 0 versions, 0 traces with 0 assessments, 0 files" in again.stdout, again.stdout
    assert re.search(r"0 runs updated, 5 runs unchanged, 1 logged models, 3 model versions and 1 traces unchanged", again.stdout), again.stdout
    assert _mapping(again.stdout) == mapping, "the same target objects are found again"
    assert _inventory(source, url) == before


def test_a_later_export_brings_only_what_changed_in_trove(source, exported):
    """New metric points, a new tag, a new run, a new version and a new assessment reach the target once."""
    from mlflow.entities import AssessmentSource, AssessmentSourceType

    url, mapping, _ = exported
    client = MlflowClient(source.url)
    child = source.run_ids["child"]
    t0 = 1_700_000_000_000
    client.log_batch(child, metrics=[Metric("loss", 0.001, t0 + STEPS + s, STEPS + s) for s in range(5)], tags=[RunTag("late", "yes")])
    late = client.create_run(source.experiment_ids["a"], run_name="late-run")
    client.log_metric(late.info.run_id, "m", 1.0, step=0)
    client.set_terminated(late.info.run_id)
    client.create_model_version(source.model_name, f"runs:/{source.run_ids['trainer']}/model", run_id=source.run_ids["trainer"])
    client.set_trace_tag(source.trace_id, "reviewed", "yes")
    old = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(source.url)
    try:
        mlflow.log_expectation(trace_id=source.trace_id, name="expected", value="42",
                               source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="bob"))
    finally:
        mlflow.set_tracking_uri(old)

    done = _export(source, url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Exported: 0 new experiments, 1 runs, 6 metric points" in done.stdout, done.stdout
    assert "1 traces with 1 assessments" in done.stdout, done.stdout
    new_mapping = _mapping(done.stdout)
    assert {k: new_mapping[k] for k in mapping} == mapping
    dst = MlflowClient(url)
    assert len(dst.get_metric_history(mapping[child], "loss")) == STEPS + 5
    assert dst.get_run(mapping[child]).data.tags["late"] == "yes"
    assert dst.get_run(new_mapping[late.info.run_id]).data.metrics == {"m": 1.0}
    assert [v.version for v in sorted(dst.search_model_versions(f"name='{source.model_name}'"), key=lambda v: int(v.version))] == ["1", "2", "4", "5"]
    trace = dst.get_trace(source.trace_id)
    assert trace.info.tags["reviewed"] == "yes"
    assert sorted(a.name for a in trace.info.assessments) == ["expected", "quality"]
    # And once more: all of it is there exactly once.
    before = _inventory(source, url)
    again = _export(source, url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Exported: 0 new experiments, 0 runs, 0 metric points" in again.stdout, again.stdout
    assert _inventory(source, url) == before


def test_an_export_killed_midway_resumes_without_duplicates(source, exported, tmp_path_factory):
    url, _, _ = exported
    base = tmp_path_factory.mktemp("mlflow-export-resume")
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--workers", "1", "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}",
           "--artifacts-destination", str(base / "artifacts")]
    process, target = _start(cmd, base, base / "mlflow.log", 180)
    try:
        export = ["node", str(REPO_ROOT / "bin" / "trove.js"), "export", "--to", target, "--backend-store-uri", source.store_uri,
                  "--artifacts-destination", str(source.artifacts), "--concurrency", "1"]
        log = base / "export.log"
        with open(log, "wb") as out:
            running = subprocess.Popen(export, stdout=out, stderr=subprocess.STDOUT, cwd=str(REPO_ROOT), start_new_session=True)
        # Killed once the runs are being filled (some written, the big file and histories on the way).
        deadline = time.monotonic() + 120
        while b"runs" not in log.read_bytes() and running.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        killed = running.poll() is None
        if killed:
            os.killpg(running.pid, signal.SIGKILL)
            running.wait()
        resumed = _export(source, target)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert _inventory(source, target) == _inventory(source, url), "the resumed export holds what an uninterrupted one does"
    finally:
        _stop(process)


def test_delete_missing_removes_in_the_target_what_trove_deleted_for_good(source, exported):
    """Runs and experiments purged by `trove gc`, and registered models, versions and aliases deleted in
    Trove, are kept in the target by a plain export (a warning names them) and deleted there with
    --delete-missing; the target's own experiment is untouched."""
    url, _, _ = exported
    src, dst = MlflowClient(source.url), MlflowClient(url)
    trainer = source.run_ids["trainer"]
    purge = src.create_run(source.experiment_ids["a"], run_name="purged-later")
    src.set_terminated(purge.info.run_id)
    src.create_registered_model("mirror-model")
    for _ in range(2):
        src.create_model_version("mirror-model", f"runs:/{trainer}/model", run_id=trainer)
    src.set_registered_model_alias("mirror-model", "best", "1")
    src.create_registered_model("mirror-gone")
    src.create_model_version("mirror-gone", f"runs:/{trainer}/model", run_id=trainer)
    purged_exp = src.create_experiment("purged-experiment")
    src.set_terminated(src.create_run(purged_exp, run_name="in-purged-experiment").info.run_id)
    first = _export(source, url)
    assert first.returncode == 0, first.stdout + first.stderr
    target_run = _mapping(first.stdout)[purge.info.run_id]
    target_exp = dst.get_experiment_by_name("purged-experiment")
    assert target_exp.lifecycle_stage == "active"
    assert sorted(v.version for v in dst.search_model_versions("name='mirror-model'")) == ["1", "2"]

    src.delete_run(purge.info.run_id)
    gc = _trove("gc", "--backend-store-uri", source.store_uri, "--artifacts-destination", str(source.artifacts), "--run-ids", purge.info.run_id)
    assert gc.returncode == 0, gc.stdout + gc.stderr
    src.delete_model_version("mirror-model", "2")
    src.delete_registered_model_alias("mirror-model", "best")
    src.delete_registered_model("mirror-gone")
    src.delete_experiment(purged_exp)
    gc = _trove("gc", "--backend-store-uri", source.store_uri, "--artifacts-destination", str(source.artifacts), "--experiment-ids", purged_exp)
    assert gc.returncode == 0, gc.stdout + gc.stderr

    kept = _export(source, url)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "--delete-missing" in kept.stdout, kept.stdout
    assert "'purged-experiment'" in kept.stdout, kept.stdout
    assert dst.get_run(target_run).info.lifecycle_stage == "active"
    assert dst.get_experiment(target_exp.experiment_id).lifecycle_stage == "active"
    assert dst.get_registered_model("mirror-gone").name == "mirror-gone"

    deleted = _trove("export", "--to", url, "--backend-store-uri", source.store_uri, "--artifacts-destination", str(source.artifacts),
                     "-q", "--delete-missing")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert "Deleted in the target (gone from Trove since an earlier export): 1 experiments, 1 runs, 1 registered models, 1 model versions." in deleted.stdout, deleted.stdout
    assert dst.get_run(target_run).info.lifecycle_stage == "deleted"
    assert dst.get_experiment(target_exp.experiment_id).lifecycle_stage == "deleted"
    assert dst.get_experiment_by_name("already-in-target").lifecycle_stage == "active"
    with pytest.raises(mlflow.exceptions.MlflowException):
        dst.get_registered_model("mirror-gone")
    assert sorted(v.version for v in dst.search_model_versions("name='mirror-model'")) == ["1"]
    assert dst.get_registered_model("mirror-model").aliases == src.get_registered_model("mirror-model").aliases == {}
    # The model every other test checks is untouched.
    assert sorted(v.version for v in dst.search_model_versions(f"name='{source.model_name}'")) == \
        sorted(v.version for v in src.search_model_versions(f"name='{source.model_name}'"))


def test_a_second_trove_exporting_into_the_same_experiment_deletes_nothing_of_the_first(source, exported, tmp_path_factory):
    """Two Troves export into one target, one experiment name shared: each export's --delete-missing
    judges only the runs and experiments its own Trove exported (marked trove.source_store), so the
    other Trove's runs and experiments stay active."""
    url, mapping, _ = exported
    base = tmp_path_factory.mktemp("trove-export-second")
    store_uri = f"sqlite:///{base / 'trove.db'}"
    cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--backend-store-uri", store_uri, "--artifacts-destination", str(base / "artifacts")]
    process, second_url = _start(cmd, base, base / "trove.log", 60)
    try:
        other = MlflowClient(second_url)
        shared = other.create_experiment("export-a")
        b_run = other.create_run(shared, run_name="from-the-second-trove")
        other.log_metric(b_run.info.run_id, "m", 1.0, step=0)
        other.set_terminated(b_run.info.run_id)
        own = other.create_experiment("second-trove-only")
        other.set_terminated(other.create_run(own, run_name="in-second-only").info.run_id)
    finally:
        _stop(process)
    second = Source(second_url, store_uri, base / "artifacts")
    dst = MlflowClient(url)
    first_runs = {r.info.run_id for r in dst.search_runs([dst.get_experiment_by_name("export-a").experiment_id], run_view_type=ViewType.ACTIVE_ONLY)}
    assert mapping[source.run_ids["child"]] in first_runs

    into = _trove("export", "--to", url, "--backend-store-uri", second.store_uri, "--artifacts-destination", str(second.artifacts),
                  "-q", "--delete-missing")
    assert into.returncode == 0, into.stdout + into.stderr
    assert "Deleted in the target" not in into.stdout, into.stdout
    b_target = _mapping(into.stdout)[b_run.info.run_id]
    shared_there = dst.get_experiment_by_name("export-a").experiment_id
    active = {r.info.run_id for r in dst.search_runs([shared_there], run_view_type=ViewType.ACTIVE_ONLY)}
    assert first_runs | {b_target} == active, "the first Trove's runs are all still active beside the second's"

    back = _trove("export", "--to", url, "--backend-store-uri", source.store_uri, "--artifacts-destination", str(source.artifacts),
                  "-q", "--delete-missing")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "Deleted in the target" not in back.stdout, back.stdout
    assert "0 runs updated" in back.stdout, back.stdout
    assert dst.get_run(b_target).info.lifecycle_stage == "active"
    assert dst.get_experiment_by_name("second-trove-only").lifecycle_stage == "active"
    assert {r.info.run_id for r in dst.search_runs([shared_there], run_view_type=ViewType.ACTIVE_ONLY)} == active
