"""MLflow 2.x tracing with the real 2.22 client: the v2 trace API (start/end/info/search/tags,
delete-traces) and spans uploaded to the trace's artifact location. Validated against the upstream
server too (COMPAT_SERVER=mlflow)."""

from __future__ import annotations

import time

import mlflow
import pytest
from _support import MLFLOW_MAJOR, SERVER_KIND
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.skipif(MLFLOW_MAJOR != 2, reason="the MLflow 2.x trace API (3.x: test_tracing.py)")


@pytest.fixture(autouse=True)
def _otel_sdk_shim(monkeypatch):
    """MLflow 2.22's span processor subclasses OpenTelemetry's SimpleSpanProcessor without calling
    its __init__; the OpenTelemetry SDK pinned in requirements-mlflow2.txt (1.45) keeps state set
    there (`_shutdown`, `_metrics`), so every traced call fails inside the client before anything
    reaches a server (upstream's included). Initialise the base class first; nothing else changes."""
    if MLFLOW_MAJOR != 2:
        return
    from mlflow.tracing.processor.mlflow import MlflowSpanProcessor
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    original = MlflowSpanProcessor.__init__

    def init(self, span_exporter, *args, **kwargs):
        SimpleSpanProcessor.__init__(self, span_exporter)
        original(self, span_exporter, *args, **kwargs)

    monkeypatch.setattr(MlflowSpanProcessor, "__init__", init)
    # The tracer provider is built once per process; rebuild it with the shimmed processor.
    from mlflow.tracing import provider

    provider.reset()


@mlflow.trace(span_type="RETRIEVER")
def _retrieve(q):
    return [{"doc": f"about {q}"}]


@mlflow.trace(attributes={"model": "tiny"})
def _answer(q):
    docs = _retrieve(q)
    with mlflow.start_span("llm", span_type="CHAT_MODEL") as span:
        span.set_inputs({"messages": [{"role": "user", "content": q}]})
        span.set_outputs({"content": "42", "n_docs": len(docs)})
    return "42"


def _last_trace_id():
    return mlflow.get_last_active_trace().info.request_id


def test_a_decorated_function_with_nested_spans_round_trips_through_the_v2_api(experiment):
    _answer("meaning?")
    trace_id = _last_trace_id()
    trace = mlflow.get_trace(trace_id)
    assert trace.info.request_id == trace_id
    assert trace.info.experiment_id == experiment[1]
    assert trace.info.status.value == "OK" if hasattr(trace.info.status, "value") else trace.info.status == "OK"
    assert trace.info.execution_time_ms is not None and trace.info.execution_time_ms >= 0
    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"_answer", "_retrieve", "llm"}
    assert spans["_retrieve"].parent_id == spans["_answer"].span_id
    assert spans["_answer"].inputs == {"q": "meaning?"}
    assert spans["_answer"].outputs == "42"
    assert spans["_answer"].get_attribute("model") == "tiny"
    assert spans["llm"].outputs == {"content": "42", "n_docs": 1}


def test_an_exception_makes_a_v2_trace_error(experiment):
    @mlflow.trace
    def fails():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        fails()
    trace = mlflow.get_trace(_last_trace_id())
    status = trace.info.status
    assert getattr(status, "value", status) == "ERROR"
    events = [e for e in trace.data.spans[0].events if e.name == "exception"]
    assert events and events[0].attributes["exception.message"] == "boom"


def test_search_traces_tags_and_deletion_with_the_v2_api(experiment):
    client = MlflowClient()
    ids = []
    for i in range(3):
        _answer(f"q{i}")
        ids.append(_last_trace_id())
        time.sleep(0.02)
    df = mlflow.search_traces(experiment_ids=[experiment[1]])
    assert len(df) == 3
    assert list(df["request_id"]) == list(reversed(ids))
    assert "spans" in df.columns and "request" in df.columns and "response" in df.columns
    client.set_trace_tag(ids[0], "stage", "review")
    found = client.search_traces(experiment_ids=[experiment[1]], filter_string="tags.stage = 'review'")
    assert [t.info.request_id for t in found] == [ids[0]]
    client.delete_trace_tag(ids[0], "stage")
    assert "stage" not in client.get_trace(ids[0]).info.tags
    page = client.search_traces(experiment_ids=[experiment[1]], max_results=2)
    assert len(page) == 2 and page.token
    assert client.delete_traces(experiment_id=experiment[1], request_ids=[ids[1]]) == 1
    remaining = [t.info.request_id for t in client.search_traces(experiment_ids=[experiment[1]])]
    assert remaining == [ids[2], ids[0]]


def test_traces_made_inside_a_run_are_found_by_its_run_id(experiment):
    with mlflow.start_run() as run:
        _answer("in run")
        inside = _last_trace_id()
    _answer("outside")
    found = mlflow.search_traces(experiment_ids=[experiment[1]], run_id=run.info.run_id)
    assert list(found["request_id"]) == [inside]


@pytest.mark.skipif(SERVER_KIND != "trove", reason="Trove's own addition: MLflow's server does not read span artifacts")
def test_trove_serves_the_uploaded_spans_of_a_v2_trace_through_traces_get(experiment, api):
    import requests

    _answer("served?")
    trace_id = _last_trace_id()
    res = requests.get(f"{api}/api/3.0/mlflow/traces/get", params={"trace_id": trace_id, "allow_partial": "true"}, timeout=30)
    assert res.status_code == 200, res.text
    spans = res.json()["trace"]["spans"]
    assert sorted(s["name"] for s in spans) == ["_answer", "_retrieve", "llm"]
