"""MLflow 3 tracing with the real client: @mlflow.trace, start_span, get_trace, search_traces,
tags, deletion, runs. Spans reach the server over OTLP (/v1/traces) and the trace info through
StartTraceV3, exactly as the 3.x client sends them. Every test here also passes against the
upstream server (COMPAT_SERVER=mlflow)."""

from __future__ import annotations

import time

import mlflow
import pytest
from _support import MLFLOW_MAJOR, unique_name
from mlflow.entities import SpanType

pytestmark = pytest.mark.skipif(MLFLOW_MAJOR < 3, reason="MLflow 3 tracing (2.x: test_tracing_v2.py)")


def _flush():
    mlflow.flush_trace_async_logging(terminate=False)


def _wait_for_trace(trace_id: str, expected_spans: int, timeout: float = 20.0):
    """get_trace once every span has been exported (OTLP export runs beside the trace info)."""
    deadline = time.monotonic() + timeout
    while True:
        trace = mlflow.get_trace(trace_id)
        if trace is not None and len(trace.data.spans) >= expected_spans:
            return trace
        if time.monotonic() > deadline:
            pytest.fail(f"trace {trace_id} has {0 if trace is None else len(trace.data.spans)} spans, want {expected_spans}")
        time.sleep(0.2)


@mlflow.trace(span_type=SpanType.RETRIEVER)
def _retrieve(q: str) -> list[dict]:
    return [{"doc": f"about {q}"}]


@mlflow.trace(attributes={"model": "tiny"})
def _answer(q: str) -> str:
    docs = _retrieve(q)
    with mlflow.start_span("llm", span_type=SpanType.CHAT_MODEL) as span:
        span.set_inputs({"messages": [{"role": "user", "content": q}]})
        span.set_attribute("temperature", 0.5)
        span.set_attribute("max_tokens", 16)
        span.set_attribute("stream", False)
        span.set_attribute("stop", ["\n", "END"])
        span.set_outputs({"choices": [{"message": {"role": "assistant", "content": "42"}}], "n_docs": len(docs)})
    mlflow.update_current_trace(tags={"user": "u1"})
    return "42"


def test_a_decorated_function_with_nested_spans_round_trips_every_span_and_attribute(experiment):
    _answer("meaning of life?")
    _flush()
    trace_id = mlflow.get_last_active_trace_id()
    trace = _wait_for_trace(trace_id, 3)

    info = trace.info
    assert info.trace_id == trace_id
    assert info.state.value == "OK"
    assert info.experiment_id == experiment[1]
    assert info.tags["user"] == "u1"
    assert info.tags["mlflow.traceName"] == "_answer"
    assert info.request_preview == '{"q": "meaning of life?"}'
    assert info.response_preview == '"42"'
    assert info.execution_duration is not None and info.execution_duration >= 0

    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"_answer", "_retrieve", "llm"}
    root = spans["_answer"]
    assert root.parent_id is None
    assert spans["_retrieve"].parent_id == root.span_id
    assert spans["llm"].parent_id == root.span_id
    assert root.inputs == {"q": "meaning of life?"}
    assert root.outputs == "42"
    assert root.get_attribute("model") == "tiny"
    assert spans["_retrieve"].span_type == SpanType.RETRIEVER
    assert spans["_retrieve"].outputs == [{"doc": "about meaning of life?"}]
    llm = spans["llm"]
    assert llm.span_type == SpanType.CHAT_MODEL
    assert llm.inputs == {"messages": [{"role": "user", "content": "meaning of life?"}]}
    assert llm.outputs == {"choices": [{"message": {"role": "assistant", "content": "42"}}], "n_docs": 1}
    assert llm.get_attribute("temperature") == 0.5
    assert llm.get_attribute("max_tokens") == 16
    assert llm.get_attribute("stream") is False
    assert llm.get_attribute("stop") == ["\n", "END"]
    assert llm.start_time_ns <= llm.end_time_ns
    assert root.start_time_ns <= llm.start_time_ns and llm.end_time_ns <= root.end_time_ns
    assert all(s.trace_id == trace_id for s in trace.data.spans)


def test_start_span_context_managers_nest_and_keep_their_inputs_outputs_and_status(experiment):
    with mlflow.start_span("outer", span_type=SpanType.CHAIN) as outer:
        outer.set_inputs({"x": 1})
        with mlflow.start_span("inner", span_type=SpanType.TOOL) as inner:
            inner.set_inputs({"y": 2})
            inner.set_outputs({"z": 3})
        outer.set_outputs({"done": True})
    _flush()
    trace = _wait_for_trace(outer.trace_id, 2)
    spans = {s.name: s for s in trace.data.spans}
    assert spans["inner"].parent_id == spans["outer"].span_id
    assert spans["outer"].inputs == {"x": 1}
    assert spans["outer"].outputs == {"done": True}
    assert spans["inner"].inputs == {"y": 2} and spans["inner"].outputs == {"z": 3}
    assert spans["inner"].span_type == SpanType.TOOL
    assert spans["outer"].status.status_code.value == "OK"


def test_an_exception_inside_a_span_makes_the_trace_error_and_records_the_exception_event(experiment):
    @mlflow.trace
    def fails():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        fails()
    _flush()
    trace_id = mlflow.get_last_active_trace_id()
    trace = _wait_for_trace(trace_id, 1)
    assert trace.info.state.value == "ERROR"
    span = trace.data.spans[0]
    assert span.status.status_code.value == "ERROR"
    events = [e for e in span.events if e.name == "exception"]
    assert len(events) == 1
    assert events[0].attributes["exception.type"] == "ValueError"
    assert events[0].attributes["exception.message"] == "boom"
    assert "Traceback" in events[0].attributes["exception.stacktrace"]


def test_get_trace_info_and_batch_reads_return_the_same_trace(experiment, client):
    _answer("batch?")
    _flush()
    trace_id = mlflow.get_last_active_trace_id()
    _wait_for_trace(trace_id, 3)
    info = client.get_trace_info(trace_id) if hasattr(client, "get_trace_info") else mlflow.get_trace(trace_id).info
    assert info.trace_id == trace_id
    assert info.tags["user"] == "u1"
    traces = mlflow.search_traces(experiment_ids=[experiment[1]], return_type="list")
    assert [t.info.trace_id for t in traces] == [trace_id]
    assert len(traces[0].data.spans) == 3


def test_a_trace_that_does_not_exist_is_reported_as_missing(experiment):
    assert mlflow.get_trace("tr-" + "0" * 31 + "1", silent=True) is None
