"""Request field checking and wording as MLflow 3.18's server answers it (raw REST next to the client).

Every expectation here was checked against `mlflow server` 3.18 (COMPAT_SERVER=mlflow).
"""

from __future__ import annotations

import math

import pytest
import requests
from _support import unique_name
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException

T = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"


def post(api, path, body):
    return requests.post(f"{api}{T}/{path}", json=body, timeout=60)


def assert_invalid(resp, text):
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE", body
    assert text in body["message"], body["message"]


@pytest.fixture
def run_id(client):
    experiment_id = client.create_experiment(unique_name("fields"))
    return client.create_run(experiment_id).info.run_id


# --- field types -------------------------------------------------------------------------------


def test_a_number_where_a_string_belongs_is_refused_with_mlflows_sentence(api):
    assert_invalid(
        post(api, "experiments/create", {"name": 123}),
        "Invalid value 123 for parameter 'name' supplied:  Hint: Value was of type 'int'.",
    )


def test_a_float_is_quoted_as_the_client_wrote_it(api):
    assert_invalid(
        post(api, "experiments/create", {"name": unique_name("f"), "artifact_location": 9.0}),
        "Invalid value 9.0 for parameter 'artifact_location' supplied:  Hint: Value was of type 'float'.",
    )


def test_a_string_where_a_list_belongs_is_refused(api):
    assert_invalid(
        post(api, "experiments/create", {"name": unique_name("f"), "tags": "5"}),
        "Invalid value \"5\" for parameter 'tags' supplied",
    )


def test_log_metric_with_a_numeric_run_id_is_400_not_404(api):
    assert_invalid(
        post(api, "runs/log-metric", {"run_id": 31, "key": "m", "value": 41, "timestamp": 59, "step": 26}),
        "Invalid value 31 for parameter 'run_id' supplied",
    )


def test_log_metric_with_a_text_step_names_the_step(api, run_id):
    assert_invalid(
        post(api, "runs/log-metric", {"run_id": run_id, "key": "m", "value": 1, "timestamp": 59, "step": "foo"}),
        "Invalid value \"foo\" for parameter 'step' supplied",
    )


def test_log_parameter_with_a_numeric_value_is_refused(api, run_id):
    assert_invalid(
        post(api, "runs/log-parameter", {"run_id": run_id, "key": "k", "value": 41}),
        "Invalid value 41 for parameter 'value' supplied",
    )
    # The run_id is checked first, as in MLflow's schema order.
    assert_invalid(
        post(api, "runs/log-parameter", {"run_id": 31, "key": "k", "value": 41}),
        "Invalid value 31 for parameter 'run_id' supplied",
    )


def test_set_tag_with_a_numeric_value_is_refused_and_run_uuid_still_works(api, client, run_id):
    assert_invalid(post(api, "runs/set-tag", {"run_id": run_id, "key": "k", "value": 41}), "Invalid value 41 for parameter 'value'")
    assert post(api, "runs/set-tag", {"run_uuid": run_id, "key": "k", "value": "v"}).status_code == 200
    assert client.get_run(run_id).data.tags["k"] == "v"


def test_a_missing_field_inside_a_list_is_named_with_its_index(api, run_id):
    assert_invalid(
        post(api, "runs/log-batch", {"run_id": run_id, "metrics": [{"key": "mae", "value": 2.5}]}),
        "Missing value for required parameter 'metrics[0].timestamp'",
    )
    ok = post(api, "runs/log-batch", {"run_id": run_id, "metrics": [{"key": "mae", "value": 2.5, "timestamp": 1}]})
    assert ok.status_code == 200, ok.text


def test_the_client_still_logs_everything_it_sends(client, run_id):
    client.log_batch(run_id, metrics=[Metric("m", math.nan, 1, 0)], params=[], tags=[])
    client.log_param(run_id, "p", "")
    client.set_tag(run_id, "t", "")
    data = client.get_run(run_id).data
    assert math.isnan(data.metrics["m"]) and data.params["p"] == "" and data.tags["t"] == ""


# --- search limits -----------------------------------------------------------------------------


def test_an_oversized_run_search_page_is_refused_with_mlflows_sentence(client):
    experiment_id = client.create_experiment(unique_name("search"))
    with pytest.raises(MlflowException, match=r"Invalid value 123456789 for parameter 'max_results' supplied"):
        client.search_runs([experiment_id], max_results=123456789)


def test_experiment_search_limits_use_mlflows_sentences(api):
    assert_invalid(post(api, "experiments/search", {"max_results": 123456789}), "Invalid value 123456789 for parameter 'max_results' supplied. It must be at most 50000")
    assert_invalid(post(api, "experiments/search", {"max_results": 0}), "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer")


# --- metric history endpoints ------------------------------------------------------------------


def test_get_history_bulk_refuses_bad_requests_with_mlflows_sentences(api):
    url = f"{api}{AJAX}/metrics/get-history-bulk"
    assert_invalid(requests.get(url, params={"metric_key": "k"}, timeout=60), "GetMetricHistoryBulk request must specify at least one run_id.")
    assert_invalid(
        requests.get(url, params={"run_id": [f"id_{i}" for i in range(101)], "metric_key": "k"}, timeout=60),
        "GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received 101 run_ids.",
    )
    assert_invalid(requests.get(url, params={"run_id": ["123"]}, timeout=60), "GetMetricHistoryBulk request must specify a metric_key.")


def test_get_history_bulk_lists_runs_in_id_order_and_caps_the_whole_answer(api, client):
    experiment_id = client.create_experiment(unique_name("bulk"))
    run_ids = [client.create_run(experiment_id).info.run_id for _ in range(3)]
    for run in run_ids:
        for step in range(3):
            client.log_metric(run, "m", float(step), timestamp=10 - step, step=step)
    url = f"{api}{AJAX}/metrics/get-history-bulk"
    metrics = requests.get(url, params={"run_id": run_ids, "metric_key": "m"}, timeout=60).json()["metrics"]
    assert [m["run_id"] for m in metrics] == [r for r in sorted(run_ids) for _ in range(3)]
    # Each run's points in timestamp order.
    assert [m["step"] for m in metrics[:3]] == [2, 1, 0]
    capped = requests.get(url, params={"run_id": run_ids, "metric_key": "m", "max_results": 2}, timeout=60).json()["metrics"]
    assert len(capped) == 2


def test_get_history_bulk_interval_refuses_bad_requests_with_mlflows_sentences(api):
    url = f"{api}{AJAX}/metrics/get-history-bulk-interval"
    assert_invalid(requests.get(url, params={"metric_key": "k"}, timeout=60), "Missing value for required parameter 'run_ids'.")
    assert_invalid(
        requests.get(url, params={"run_ids": [f"id_{i}" for i in range(1000)], "metric_key": "k"}, timeout=60),
        "GetMetricHistoryBulkInterval request must specify at most 100 run_ids. Received 1000 run_ids.",
    )
    assert_invalid(requests.get(url, params={"run_ids": ["1"], "metric_key": "k", "max_results": 0}, timeout=60), "max_results must be between 1 and 2500")
    assert_invalid(requests.get(url, params={"run_ids": ["1"], "metric_key": ""}, timeout=60), "Missing value for required parameter 'metric_key'")
    assert_invalid(
        requests.get(url, params={"run_ids": ["1"], "metric_key": "k", "start_step": 1, "end_step": 0}, timeout=60),
        "end_step must be greater than start_step. Found start_step=1 and end_step=0.",
    )
    assert_invalid(
        requests.get(url, params={"run_ids": ["1"], "metric_key": "k", "start_step": 1}, timeout=60),
        "If either start step or end step are specified, both must be specified.",
    )


def test_get_history_bulk_interval_samples_the_points_mlflow_318_samples(api, client):
    experiment_id = client.create_experiment(unique_name("interval"))
    run_id = client.create_run(experiment_id).info.run_id
    for step in range(10):
        client.log_metric(run_id, "m", 10.0, timestamp=1, step=step)
    url = f"{api}{AJAX}/metrics/get-history-bulk-interval"
    picked = requests.get(url, params={"run_ids": [run_id], "metric_key": "m", "max_results": 5}, timeout=60).json()["metrics"]
    assert [m["step"] for m in picked] == [0, 2, 4, 6, 9]
    ranged = requests.get(
        url, params={"run_ids": [run_id], "metric_key": "m", "max_results": 5, "start_step": 0, "end_step": 4}, timeout=60
    ).json()["metrics"]
    assert [m["step"] for m in ranged] == [0, 1, 2, 3, 4]
    # Many points on one step: rows are sampled, not steps.
    for t in range(2, 8):
        client.log_metric(run_id, "m", 1.0, timestamp=t, step=9)
    dense = requests.get(url, params={"run_ids": [run_id], "metric_key": "m", "max_results": 5}, timeout=60).json()["metrics"]
    assert len(dense) == 5
    assert dense[-1]["step"] == 9 and dense[-1]["timestamp"] == 7


# --- datasets ----------------------------------------------------------------------------------


def test_search_datasets_needs_at_least_one_experiment(api):
    for body in ({}, {"experiment_ids": []}):
        assert_invalid(
            requests.post(f"{api}{AJAX}/experiments/search-datasets", json=body, timeout=60),
            "SearchDatasets request must specify at least one experiment_id.",
        )


def test_an_experiments_relative_artifact_location_is_made_absolute(client):
    experiment_id = client.create_experiment(unique_name("relative"), artifact_location="my_location")
    location = client.get_experiment(experiment_id).artifact_location
    assert location.startswith("/") and location.endswith("/my_location"), location
