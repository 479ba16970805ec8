"""`trove import mlflow` brings traces across: a real `mlflow server` 3.x is given traces by the real
client (@mlflow.trace with nested spans, trace tags, a run, log_feedback/log_expectation); after the
import into a fresh Trove store the real client reads them back from a Trove server on that store
(search_traces, get_trace) with the same ids, times, state, tags, metadata, spans and assessments.
A second import adds nothing.
"""

from __future__ import annotations

import contextlib
import re
import sys
import time

import mlflow
import pytest
from _support import MLFLOW_MAJOR, REPO_ROOT, SERVER_KIND
from mlflow.entities import AssessmentSource, AssessmentSourceType, SpanType
from test_import import _free_port, _import_args, _new_target, _start, _stop, _trove

pytestmark = pytest.mark.skipif(
    MLFLOW_MAJOR < 3 or SERVER_KIND != "trove",
    reason="traces are imported from an MLflow 3 server, checked with the MLflow 3 client against Trove",
)


@mlflow.trace(span_type=SpanType.RETRIEVER)
def _retrieve(q: str) -> list[dict]:
    return [{"doc": f"about {q}"}]


@mlflow.trace(attributes={"model": "tiny"})
def _answer(q: str) -> str:
    _retrieve(q)
    with mlflow.start_span("llm", span_type=SpanType.CHAT_MODEL) as span:
        span.set_inputs({"messages": [{"role": "user", "content": q}]})
        span.set_outputs({"content": "42"})
    mlflow.update_current_trace(tags={"user": "u1"})
    return "42"


def _traces_with_spans(experiment_id: str, count: int, spans: int) -> list:
    deadline = time.monotonic() + 30
    while True:
        traces = mlflow.search_traces(experiment_ids=[experiment_id], return_type="list")
        full = [mlflow.get_trace(t.info.trace_id) for t in traces]
        if len(full) >= count and all(len(t.data.spans) >= spans for t in full):
            return full
        if time.monotonic() > deadline:
            pytest.fail(f"the source holds {len(full)} traces, want {count} with {spans} spans each")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def source_traces(tmp_path_factory):
    """An upstream MLflow server holding three traces (one in a run, two with assessments)."""
    base = tmp_path_factory.mktemp("mlflow-trace-source")
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--workers", "1", "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}",
           "--artifacts-destination", str(base / "artifacts")]
    process, url = _start(cmd, base, base / "mlflow.log", 180)
    old = mlflow.get_tracking_uri()
    try:
        mlflow.set_tracking_uri(url)
        experiment_id = mlflow.create_experiment("import-traces")
        mlflow.set_experiment(experiment_id=experiment_id)
        with mlflow.start_run() as run:
            _answer("in a run")
        _answer("first")
        _answer("second")
        mlflow.flush_trace_async_logging(terminate=False)
        traces = _traces_with_spans(experiment_id, 3, 3)
        human = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="rev@example.com")
        for t in traces[:2]:
            mlflow.log_feedback(trace_id=t.info.trace_id, name="correct", value=True, source=human, rationale="ok")
        mlflow.log_expectation(trace_id=traces[0].info.trace_id, name="expected", value="42")
        mlflow.set_trace_tag(traces[2].info.trace_id, "reviewed", "yes")
        traces = [mlflow.get_trace(t.info.trace_id) for t in traces]
        yield url, experiment_id, run.info.run_id, traces
    finally:
        mlflow.set_tracking_uri(old)
        _stop(process)


def _created_traces(report: str) -> int:
    """The CREATED column of the report's `traces` row (no row: none were read)."""
    row = re.search(r"^traces\s+(\d+)\s", report, re.MULTILINE)
    return int(row.group(1)) if row else 0


def _summary(trace) -> dict:
    info = trace.info
    tags = {k: v for k, v in info.tags.items() if k not in ("mlflow.artifactLocation", "mlflow.trace.spansLocation")}
    return {
        "id": info.trace_id,
        "request_time": info.request_time,
        "execution_duration": info.execution_duration,
        "state": str(info.state),
        "tags": tags,
        "metadata": {k: v for k, v in info.trace_metadata.items() if k != "mlflow.trace.sizeStats"},
        "preview": (info.request_preview, info.response_preview),
        "spans": sorted((s.name, s.span_id, s.parent_id, s.start_time_ns, s.end_time_ns, s.span_type, repr(s.inputs), repr(s.outputs))
                        for s in trace.data.spans),
        "assessments": sorted((a.assessment_id, a.name, repr(a.value), a.rationale, a.source.source_type, a.source.source_id,
                               a.create_time_ms) for a in info.assessments),
    }


@contextlib.contextmanager
def _trove_on(target):
    """A Trove server on `target`'s store, with the client pointed at it; yields its URL."""
    cmd = ["node", str(REPO_ROOT / "bin" / "trove.js"), "server", "--host", "127.0.0.1", "--port", str(_free_port()),
           "--backend-store-uri", target.store_uri, "--artifacts-destination", str(target.artifacts)]
    process, trove_url = _start(cmd, target.base, target.base / "trove.log", 60)
    old = mlflow.get_tracking_uri()
    try:
        mlflow.set_tracking_uri(trove_url)
        yield trove_url
    finally:
        mlflow.set_tracking_uri(old)
        _stop(process)


def _read_back_same(experiment_id: str, before: list) -> dict:
    """The traces the client finds in the experiment are `before`, each the same; returns them by id."""
    found = mlflow.search_traces(experiment_ids=[experiment_id], return_type="list")
    assert sorted(t.info.trace_id for t in found) == sorted(t.info.trace_id for t in before)
    after = {t.info.trace_id: mlflow.get_trace(t.info.trace_id) for t in found}
    for trace in before:
        assert _summary(after[trace.info.trace_id]) == _summary(trace)
    return after


def test_traces_come_across_with_ids_times_tags_spans_and_assessments_and_a_second_import_adds_none(source_traces, tmp_path_factory):
    url, experiment_id, run_id, before = source_traces
    target = _new_target(tmp_path_factory, "trove-import-traces")
    done = _trove(*_import_args(url, target))
    assert done.returncode == 0, f"import failed:\n{done.stdout}\n{done.stderr}"
    assert _created_traces(done.stdout) == 3, done.stdout
    assert "Everything was imported." in done.stdout, done.stdout

    again = _trove(*_import_args(url, target))
    assert again.returncode == 0, f"second import failed:\n{again.stdout}\n{again.stderr}"
    assert _created_traces(again.stdout) == 0, again.stdout

    with _trove_on(target):
        after = _read_back_same(experiment_id, before)
        assert sum(len(t.info.assessments) for t in after.values()) == 3
        in_run = mlflow.search_traces(experiment_ids=[experiment_id], run_id=run_id, return_type="list")
        assert len(in_run) == 1
        assert [t.info.tags.get("user") for t in in_run] == ["u1"]


def test_traces_come_across_into_a_running_trove_over_its_import_api_and_a_second_run_adds_none(source_traces, tmp_path_factory):
    url, experiment_id, run_id, before = source_traces
    target = _new_target(tmp_path_factory, "trove-import-traces-to")
    with _trove_on(target) as trove_url:
        done = _trove("import", "mlflow", "--from", url, "--to", trove_url, "-q")
        assert done.returncode == 0, f"import --to failed:\n{done.stdout}\n{done.stderr}"
        assert _created_traces(done.stdout) == 3, done.stdout
        assert "Traces were not imported" not in done.stdout, done.stdout
        again = _trove("import", "mlflow", "--from", url, "--to", trove_url, "-q")
        assert again.returncode == 0, f"second import --to failed:\n{again.stdout}\n{again.stderr}"
        assert _created_traces(again.stdout) == 0, again.stdout
        _read_back_same(experiment_id, before)
        assert len(mlflow.search_traces(experiment_ids=[experiment_id], run_id=run_id, return_type="list")) == 1


def test_traces_survive_an_export_folder_round_trip_into_a_fresh_trove(source_traces, tmp_path_factory):
    url, experiment_id, run_id, before = source_traces
    first = _new_target(tmp_path_factory, "trove-traces-before-export")
    done = _trove(*_import_args(url, first))
    assert done.returncode == 0, f"import failed:\n{done.stdout}\n{done.stderr}"
    folder = tmp_path_factory.mktemp("trove-traces-export") / "export"
    exported = _trove("export", "--to-dir", str(folder), "--backend-store-uri", first.store_uri, "--artifacts-destination", str(first.artifacts))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert (folder / "traces.jsonl").read_text().count("\n") == 3
    fresh = _new_target(tmp_path_factory, "trove-traces-after-export")
    back = _trove("import", "dir", str(folder), "--backend-store-uri", fresh.store_uri, "--artifacts-destination", str(fresh.artifacts))
    assert back.returncode == 0, back.stdout + back.stderr
    assert _created_traces(back.stdout) == 3, back.stdout

    with _trove_on(fresh):
        _read_back_same(experiment_id, before)
        assert len(mlflow.search_traces(experiment_ids=[experiment_id], run_id=run_id, return_type="list")) == 1


def _trace_row(report: str) -> tuple[int, int, int]:
    """CREATED, UPDATED and UNCHANGED of the report's `traces` row."""
    row = re.search(r"^traces\s+(\d+)\s+(\d+)\s+(\d+)\s", report, re.MULTILINE)
    assert row, report
    return int(row.group(1)), int(row.group(2)), int(row.group(3))


def test_tags_and_assessments_added_at_the_source_after_an_import_come_across_on_the_next_one(source_traces, tmp_path_factory):
    """Runs last: it changes the source's traces (a new tag, a new feedback, an updated expectation)."""
    url, experiment_id, _, before = source_traces
    target = _new_target(tmp_path_factory, "trove-import-traces-later")
    served = _new_target(tmp_path_factory, "trove-import-traces-later-to")
    done = _trove(*_import_args(url, target))
    assert done.returncode == 0, done.stdout + done.stderr
    with _trove_on(served) as trove_url:
        first_to = _trove("import", "mlflow", "--from", url, "--to", trove_url, "-q")
        assert first_to.returncode == 0, first_to.stdout + first_to.stderr

    old = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(url)
    try:
        changed = before[1].info.trace_id
        mlflow.set_trace_tag(changed, "late", "tag")
        mlflow.log_feedback(trace_id=changed, name="later", value=0.5, rationale="second look",
                            source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="bob@example.com"))
        now = [mlflow.get_trace(t.info.trace_id) for t in before]
    finally:
        mlflow.set_tracking_uri(old)

    again = _trove(*_import_args(url, target))
    assert again.returncode == 0, again.stdout + again.stderr
    assert _trace_row(again.stdout) == (0, 1, 2)
    with _trove_on(target):
        after = _read_back_same(experiment_id, now)
        assert after[changed].info.tags["late"] == "tag"
        assert sorted(a.name for a in after[changed].info.assessments) == ["correct", "later"]

    with _trove_on(served) as trove_url:
        again_to = _trove("import", "mlflow", "--from", url, "--to", trove_url, "-q")
        assert again_to.returncode == 0, again_to.stdout + again_to.stderr
        assert _trace_row(again_to.stdout) == (0, 1, 2)
        _read_back_same(experiment_id, now)
