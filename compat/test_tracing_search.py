"""search_traces (DataFrame and list, filters, order_by, paging), trace tags, delete_traces and
traces of runs, with the real MLflow 3 client. Validated against the upstream server too
(COMPAT_SERVER=mlflow)."""

from __future__ import annotations

import time

import mlflow
import pytest
from _support import MLFLOW_MAJOR
from mlflow.entities import Trace
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.skipif(MLFLOW_MAJOR < 3, reason="MLflow 3 tracing (2.x: test_tracing_v2.py)")


def _flush():
    mlflow.flush_trace_async_logging(terminate=False)


def _traced(name: str, *, user: str, sleep_s: float = 0.0, fail: bool = False, metadata=None):
    """One trace whose root span is `name`, tagged user=<user>; returns its id."""

    @mlflow.trace(name=name)
    def work(x):
        mlflow.update_current_trace(tags={"user": user}, metadata=metadata or {})
        with mlflow.start_span("child") as child:
            child.set_inputs({"x": x})
            child.set_outputs(x * 2)
        if sleep_s:
            time.sleep(sleep_s)
        if fail:
            raise RuntimeError("nope")
        return x * 2

    try:
        work(1)
    except RuntimeError:
        pass
    return mlflow.get_last_active_trace_id()


def _wait_for_spans(experiment_id: str, trace_ids: list[str], spans_each: int, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        traces = mlflow.search_traces(experiment_ids=[experiment_id], return_type="list")
        got = {t.info.trace_id: len(t.data.spans) for t in traces}
        if all(got.get(t, 0) >= spans_each for t in trace_ids):
            return traces
        if time.monotonic() > deadline:
            pytest.fail(f"spans not all exported: {got}")
        time.sleep(0.2)


@pytest.fixture
def three_traces(experiment):
    ids = []
    for name, kwargs in (("alpha", {}), ("beta", {"sleep_s": 1.0}), ("gamma", {"fail": True, "metadata": {"team": "search"}})):
        ids.append(_traced(name, user="u2" if name == "beta" else "u1", **kwargs))
        time.sleep(0.02)  # distinct start times, so the default order is well defined
    _flush()
    _wait_for_spans(experiment[1], ids, 2)
    return experiment[1], ids


def test_search_traces_returns_a_dataframe_with_mlflows_columns_and_values(three_traces):
    experiment_id, ids = three_traces
    df = mlflow.search_traces(experiment_ids=[experiment_id])
    assert list(df.columns) == Trace.pandas_dataframe_columns()
    assert len(df) == 3
    # Newest first by default.
    assert list(df["trace_id"]) == list(reversed(ids))
    row = df[df["trace_id"] == ids[0]].iloc[0]
    assert str(row["state"]) in ("OK", "TraceState.OK")
    assert row["request"] == {"x": 1}
    assert row["response"] == 2
    assert row["tags"]["user"] == "u1"
    assert row["tags"]["mlflow.traceName"] == "alpha"
    assert len(row["spans"]) == 2
    assert {s["name"] for s in row["spans"]} == {"alpha", "child"}
    assert row["execution_duration"] is not None and row["request_time"] > 0


def test_search_traces_filters_on_tags_status_name_metadata_and_times(three_traces):
    experiment_id, ids = three_traces

    def found(filter_string):
        return [t.info.trace_id for t in mlflow.search_traces(experiment_ids=[experiment_id], filter_string=filter_string, return_type="list")]

    assert found("tags.user = 'u1'") == [ids[2], ids[0]]
    assert found("tags.user != 'u1'") == [ids[1]]
    assert found("tags.user LIKE 'u%'") == [ids[2], ids[1], ids[0]]
    assert found("trace.status = 'ERROR'") == [ids[2]]
    assert found("trace.status = 'OK'") == [ids[1], ids[0]]
    assert found("trace.name = 'beta'") == [ids[1]]
    assert found("trace.name LIKE '%a'") == [ids[2], ids[1], ids[0]]
    assert found("trace.name != 'beta'") == [ids[2], ids[0]]
    assert found("metadata.team = 'search'") == [ids[2]]
    assert found("tags.user = 'u1' AND trace.status = 'OK'") == [ids[0]]
    assert found("trace.execution_time_ms > 900") == [ids[1]]
    infos = {t.info.trace_id: t.info for t in mlflow.search_traces(experiment_ids=[experiment_id], return_type="list")}
    middle = infos[ids[1]].request_time
    assert found(f"trace.timestamp_ms >= {middle}") == [ids[2], ids[1]]
    assert found(f"trace.timestamp_ms < {middle}") == [ids[0]]
    assert found("tags.nope = 'x'") == []


def test_search_traces_orders_by_timestamp_and_execution_time(three_traces):
    experiment_id, ids = three_traces

    def ordered(order_by):
        return [t.info.trace_id for t in mlflow.search_traces(experiment_ids=[experiment_id], order_by=order_by, return_type="list")]

    assert ordered(["timestamp_ms ASC"]) == ids
    assert ordered(["timestamp_ms DESC"]) == list(reversed(ids))
    assert ordered(["execution_time_ms DESC"])[0] == ids[1]


def test_search_traces_pages_with_a_token(three_traces, client):
    experiment_id, ids = three_traces
    first = client.search_traces(locations=[experiment_id], max_results=2)
    assert [t.info.trace_id for t in first] == [ids[2], ids[1]]
    assert first.token
    second = client.search_traces(locations=[experiment_id], max_results=2, page_token=first.token)
    assert [t.info.trace_id for t in second] == [ids[0]]
    assert not second.token
    assert len(mlflow.search_traces(experiment_ids=[experiment_id], max_results=2)) == 2


def test_an_invalid_filter_is_rejected_with_invalid_parameter_value(experiment):
    with pytest.raises(mlflow.exceptions.MlflowException) as info:
        mlflow.search_traces(experiment_ids=[experiment[1]], filter_string="trace.nope = 'x'")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_trace_tags_are_set_and_deleted(experiment, client):
    trace_id = _traced("tagged", user="u1")
    _flush()
    mlflow.set_trace_tag(trace_id, "stage", "review")
    assert mlflow.get_trace(trace_id).info.tags["stage"] == "review"
    found = mlflow.search_traces(experiment_ids=[experiment[1]], filter_string="tags.stage = 'review'", return_type="list")
    assert [t.info.trace_id for t in found] == [trace_id]
    mlflow.delete_trace_tag(trace_id, "stage")
    assert "stage" not in mlflow.get_trace(trace_id).info.tags


def test_traces_are_deleted_by_id_and_by_age(experiment, client):
    ids = []
    for i in range(4):
        ids.append(_traced(f"t{i}", user="u"))
        time.sleep(0.02)  # distinct start times: the age cutoff must not split a tie
    _flush()
    _wait_for_spans(experiment[1], ids, 2)
    assert client.delete_traces(experiment_id=experiment[1], trace_ids=[ids[3]]) == 1
    assert mlflow.get_trace(ids[3], silent=True) is None
    infos = {t.info.trace_id: t.info for t in mlflow.search_traces(experiment_ids=[experiment[1]], return_type="list")}
    cutoff = infos[ids[2]].request_time
    # Traces at or before the cutoff, oldest first, at most max_traces.
    assert client.delete_traces(experiment_id=experiment[1], max_timestamp_millis=cutoff, max_traces=2) == 2
    remaining = [t.info.trace_id for t in mlflow.search_traces(experiment_ids=[experiment[1]], return_type="list")]
    assert remaining == [ids[2]]
    assert mlflow.get_trace(ids[0], silent=True) is None


def test_traces_made_inside_a_run_and_linked_to_a_run_are_found_by_run_id(experiment, client):
    with mlflow.start_run() as run:
        inside = _traced("inside", user="u")
    outside = _traced("outside", user="u")
    other = _traced("other", user="u")
    _flush()
    _wait_for_spans(experiment[1], [inside, outside, other], 2)
    assert mlflow.get_trace(inside).info.trace_metadata["mlflow.sourceRun"] == run.info.run_id
    client.link_traces_to_run([outside], run_id=run.info.run_id)
    found = mlflow.search_traces(experiment_ids=[experiment[1]], run_id=run.info.run_id, return_type="list")
    assert sorted(t.info.trace_id for t in found) == sorted([inside, outside])


def test_traces_exported_asynchronously_all_arrive(experiment, monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "true")
    ids = [_traced(f"async-{i}", user="a") for i in range(5)]
    mlflow.flush_trace_async_logging()
    traces = _wait_for_spans(experiment[1], ids, 2)
    assert sorted(t.info.trace_id for t in traces) == sorted(ids)
    assert all(t.info.tags["user"] == "a" for t in traces)


def test_a_trace_can_be_read_with_mlflow_client_get_trace(experiment):
    trace_id = _traced("client-read", user="c")
    _flush()
    _wait_for_spans(experiment[1], [trace_id], 2)
    trace = MlflowClient().get_trace(trace_id)
    assert trace.info.trace_id == trace_id
    assert sorted(s.name for s in trace.data.spans) == ["child", "client-read"]
