"""Spans from the plain OpenTelemetry Python SDK (its OTLP/HTTP protobuf exporter, no MLflow
code on the sending side) pointed at the server with the experiment header, then found with
mlflow.search_traces. Validated against the upstream server too (COMPAT_SERVER=mlflow)."""

from __future__ import annotations

import time

import mlflow
import pytest
from _support import MLFLOW_MAJOR

pytestmark = pytest.mark.skipif(MLFLOW_MAJOR < 3, reason="OTLP ingest is read back with the MLflow 3 client")


def _provider(server_url: str, experiment_id: str, compression=None):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    exporter = OTLPSpanExporter(
        endpoint=f"{server_url}/v1/traces",
        headers={"x-mlflow-experiment-id": experiment_id},
        compression=compression or Compression.NoCompression,
    )
    # A provider of its own: MLflow's global tracer provider stays untouched.
    provider = TracerProvider(resource=Resource.create({"service.name": "plain-otel"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _search(experiment_id, want, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        traces = mlflow.search_traces(experiment_ids=[experiment_id], return_type="list")
        if len(traces) >= want and all(len(t.data.spans) > 0 for t in traces):
            return traces
        if time.monotonic() > deadline:
            pytest.fail(f"found {len(traces)} traces, want {want}")
        time.sleep(0.2)


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_spans_from_the_plain_opentelemetry_sdk_are_found_with_search_traces(server, experiment, compressed):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.trace import Status, StatusCode

    provider = _provider(server.url, experiment[1], Compression.Gzip if compressed else None)
    tracer = provider.get_tracer("compat")
    with tracer.start_as_current_span("http-request") as root:
        root.set_attribute("http.method", "GET")
        root.set_attribute("retries", 2)
        with tracer.start_as_current_span("db-query") as child:
            child.set_attribute("db.statement", "select 1")
            child.add_event("rows", {"count": 1})
        with tracer.start_as_current_span("fails") as bad:
            bad.set_status(Status(StatusCode.ERROR, "broken"))
    provider.force_flush()
    provider.shutdown()

    otel_trace_id = format(root.get_span_context().trace_id, "032x")
    [trace] = _search(experiment[1], 1)
    assert trace.info.trace_id == f"tr-{otel_trace_id}"
    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"http-request", "db-query", "fails"}
    assert spans["db-query"].parent_id == spans["http-request"].span_id
    assert spans["http-request"].parent_id is None
    assert spans["http-request"].get_attribute("http.method") == "GET"
    assert spans["http-request"].get_attribute("retries") == 2
    assert spans["db-query"].get_attribute("db.statement") == "select 1"
    assert [e.name for e in spans["db-query"].events] == ["rows"]
    assert spans["db-query"].events[0].attributes == {"count": 1}
    assert spans["fails"].status.status_code.value == "ERROR"
    assert spans["fails"].status.description == "broken"
    assert trace.info.tags.get("mlflow.traceName") in (None, "http-request")

    by_trace_id = mlflow.get_trace(trace.info.trace_id)
    assert len(by_trace_id.data.spans) == 3
