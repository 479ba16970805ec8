"""MLflow's GraphQL endpoint (`POST /graphql`), as the MLflow web UI and scripts use it.

The data is created with the real client; the queries are sent with `requests`, as MLflow's own
server tests do, and include the MLflow 3.18 UI's own run page query field for field.
"""

from __future__ import annotations

import math

import mlflow
import pytest
import requests
from _support import unique_name
from mlflow.data.pandas_dataset import from_pandas

UI_GET_RUN_QUERY = """
query GetRun($data: MlflowGetRunInput!) @component(name: "MLflow.ExperimentRunTracking") {
  mlflowGetRun(input: $data) {
    apiError { helpUrl code message }
    run {
      info { runName status runUuid experimentId artifactUri endTime lifecycleStage startTime userId }
      experiment { experimentId name tags { key value } artifactLocation lifecycleStage lastUpdateTime }
      modelVersions { status version name source }
      data { metrics { key value step timestamp } params { key value } tags { key value } }
      inputs {
        datasetInputs { dataset { digest name profile schema source sourceType } tags { key value } }
        modelInputs { modelId }
      }
      outputs { modelOutputs { modelId step } }
    }
  }
}
"""


UI_GET_EXPERIMENT_QUERY = """
query MlflowGetExperimentQuery($input: MlflowGetExperimentInput!) @component(name: "MLflow.ExperimentRunTracking") {
  mlflowGetExperiment(input: $input) {
    apiError { code message }
    experiment { artifactLocation creationTime effectiveTraceArchivalRetention experimentId lastUpdateTime lifecycleStage name tags { key value } }
  }
}
"""


def gql(api: str, query: str, variables: dict | None = None, operation: str | None = None) -> dict:
    payload: dict = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    if operation is not None:
        payload["operationName"] = operation
    response = requests.post(
        f"{api}/graphql", json=payload, headers={"content-type": "application/json; charset=utf-8"}, timeout=60
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "errors"}, body
    return body


@pytest.fixture
def populated(api, client, experiment, tmp_path):
    """A finished run with metrics (one NaN), a param, a dataset input, two artifacts and a
    registered version; and a second, newer run."""
    name, experiment_id = experiment
    import pandas as pd

    (tmp_path / "notes.txt").write_text("hello world")
    with mlflow.start_run(run_name="first") as run:
        for step in range(5):
            mlflow.log_metric("loss", step / 2, step=step)
        mlflow.log_metric("broken", math.nan, step=1)
        mlflow.log_param("lr", "0.1")
        mlflow.log_input(from_pandas(pd.DataFrame({"a": [1, 2]}), name="train"), context="training")
        mlflow.log_artifact(str(tmp_path / "notes.txt"))
        mlflow.log_artifact(str(tmp_path / "notes.txt"), "folder")
    model_name = unique_name("gql-model")
    client.create_registered_model(model_name)
    client.create_model_version(model_name, f"runs:/{run.info.run_id}/folder", run.info.run_id)
    with mlflow.start_run() as newer:
        pass
    return {
        "experiment_name": name,
        "experiment_id": experiment_id,
        "run_id": run.info.run_id,
        "newer_run_id": newer.info.run_id,
        "model_name": model_name,
    }


def test_the_echo_field_answers_with_a_null_errors_list(api):
    body = gql(api, 'query testQuery { test(inputString: "abc") { output } }', operation="testQuery")
    assert body == {"data": {"test": {"output": "abc"}}, "errors": None}


def test_the_ui_run_page_query_returns_the_run_in_mlflow_shapes(api, populated):
    body = gql(api, UI_GET_RUN_QUERY, {"data": {"runId": populated["run_id"]}}, "GetRun")
    assert body["errors"] is None
    result = body["data"]["mlflowGetRun"]
    assert result["apiError"] is None
    run = result["run"]
    info = run["info"]
    assert info["runUuid"] == populated["run_id"]
    assert info["runName"] == "first"
    assert info["status"] == "FINISHED"
    assert info["experimentId"] == populated["experiment_id"]
    assert info["startTime"].isdigit() and info["endTime"].isdigit()
    assert int(info["endTime"]) >= int(info["startTime"])
    assert run["experiment"]["name"] == populated["experiment_name"]
    assert run["experiment"]["experimentId"] == populated["experiment_id"]
    assert run["modelVersions"] == [
        {"status": "READY", "version": "1", "name": populated["model_name"], "source": f"runs:/{populated['run_id']}/folder"}
    ]
    metrics = {m["key"]: m for m in run["data"]["metrics"]}
    assert metrics["loss"]["value"] == 2.0
    assert metrics["loss"]["step"] == "4"
    assert metrics["loss"]["timestamp"].isdigit()
    # GraphQL's Float has no NaN: the value reads as null rather than failing the query.
    assert metrics["broken"]["value"] is None
    assert {"key": "lr", "value": "0.1"} in run["data"]["params"]
    [dataset_input] = run["inputs"]["datasetInputs"]
    assert dataset_input["dataset"]["name"] == "train"
    assert dataset_input["dataset"]["sourceType"]
    assert {"key": "mlflow.data.context", "value": "training"} in dataset_input["tags"]
    assert run["inputs"]["modelInputs"] == []
    assert run["outputs"] == {"modelOutputs": []}


def test_an_unknown_run_is_reported_in_errors_with_null_data(api):
    run_id = "0123456789abcdef0123456789abcdef"
    body = gql(api, f'query {{ mlflowGetRun(input: {{runId: "{run_id}"}}) {{ run {{ info {{ runId }} }} apiError {{ message }} }} }}')
    assert body["data"]["mlflowGetRun"] is None
    assert any(f"Run with id={run_id} not found" in message for message in body["errors"])


def test_get_experiment_by_variables(api, populated):
    body = gql(
        api,
        "query Q($input: MlflowGetExperimentInput!) { mlflowGetExperiment(input: $input) { experiment { name lifecycleStage } } }",
        {"input": {"experimentId": populated["experiment_id"]}},
    )
    assert body == {
        "data": {"mlflowGetExperiment": {"experiment": {"name": populated["experiment_name"], "lifecycleStage": "active"}}},
        "errors": None,
    }


def test_the_ui_experiment_page_query_returns_the_experiment(api, populated):
    body = gql(api, UI_GET_EXPERIMENT_QUERY, {"input": {"experimentId": populated["experiment_id"]}}, "MlflowGetExperimentQuery")
    assert body["errors"] is None
    result = body["data"]["mlflowGetExperiment"]
    assert result["apiError"] is None
    experiment = result["experiment"]
    assert experiment["name"] == populated["experiment_name"]
    assert experiment["experimentId"] == populated["experiment_id"]
    assert experiment["lifecycleStage"] == "active"
    assert experiment["creationTime"].isdigit()
    assert experiment["effectiveTraceArchivalRetention"] == ""


def test_search_runs_as_query_and_mutation_newest_first(api, populated):
    for operation in ("query", "mutation"):
        body = gql(
            api,
            f"{operation} S($ids: [String!]!) {{ mlflowSearchRuns(input: {{experimentIds: $ids}}) "
            "{ runs { info { runId } experiment { name } modelVersions { name } } } }",
            {"ids": [populated["experiment_id"]]},
        )
        assert body["errors"] is None, body
        runs = body["data"]["mlflowSearchRuns"]["runs"]
        assert [r["info"]["runId"] for r in runs] == [populated["newer_run_id"], populated["run_id"]]
        assert runs[0]["modelVersions"] == []
        assert runs[1]["modelVersions"] == [{"name": populated["model_name"]}]
        assert {r["experiment"]["name"] for r in runs} == {populated["experiment_name"]}


def test_metric_history_bulk_interval(api, populated):
    body = gql(
        api,
        "query M($data: MlflowGetMetricHistoryBulkIntervalInput!) { mlflowGetMetricHistoryBulkInterval(input: $data) "
        "{ __typename metrics { key value step runId timestamp } apiError { code message } } }",
        {"data": {"runIds": [populated["run_id"]], "metricKey": "loss"}},
    )
    assert body["errors"] is None
    result = body["data"]["mlflowGetMetricHistoryBulkInterval"]
    assert result["__typename"] == "MlflowGetMetricHistoryBulkIntervalResponse"
    assert [(m["key"], m["value"], m["step"], m["runId"]) for m in result["metrics"]] == [
        ("loss", step / 2, str(step), populated["run_id"]) for step in range(5)
    ]


def test_list_artifacts_sizes_are_strings_and_folders_have_size_zero(api, populated):
    body = gql(api, f'query {{ files: mlflowListArtifacts(input: {{runId: "{populated["run_id"]}"}}) {{ files {{ path isDir fileSize }} }} }}')
    assert body["errors"] is None
    assert body["data"]["files"]["files"] == [
        {"path": "folder", "isDir": True, "fileSize": "0"},
        {"path": "notes.txt", "isDir": False, "fileSize": "11"},
    ]
    sub = gql(api, f'query {{ mlflowListArtifacts(input: {{runUuid: "{populated["run_id"]}", path: "folder"}}) {{ files {{ path }} }} }}')
    assert sub["data"]["mlflowListArtifacts"]["files"] == [{"path": "folder/notes.txt"}]


def test_search_model_versions(api, populated):
    body = gql(
        api,
        "query V($filter: String) { mlflowSearchModelVersions(input: {filter: $filter}) { modelVersions { name version runId } apiError { message } } }",
        {"filter": f"name = '{populated['model_name']}'"},
    )
    assert body["errors"] is None
    result = body["data"]["mlflowSearchModelVersions"]
    assert result["apiError"] is None
    assert result["modelVersions"] == [{"name": populated["model_name"], "version": "1", "runId": populated["run_id"]}]


def test_queries_over_the_cost_limits_are_refused_with_the_settings_named(api):
    echo = 'test(inputString: "abc") { output }'
    roots = gql(api, "query { " + " ".join(f"k{i}: {echo}" for i in range(12)) + " }")
    assert roots["data"] is None
    assert "GraphQL queries should have at most 10 root fields" in roots["errors"][0]
    assert "MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS" in roots["errors"][0]

    aliases = gql(
        api,
        'query { mlflowGetExperiment(input: {experimentId: "0"}) { '
        + " ".join(f"e{i}: experiment {{ name }}" for i in range(12))
        + " } }",
    )
    assert "queries should have at most 10 aliases" in aliases["errors"][0]

    inner = "name"
    for _ in range(12):
        inner = f"name {{ {inner} }}"
    deep = gql(api, 'query { mlflowGetExperiment(input: {experimentId: "0"}) { experiment { ' + inner + " } } }")
    assert deep["errors"] == ["Query exceeds maximum depth of 10"]

    wide = gql(
        api,
        'query { mlflowGetExperiment(input: {experimentId: "0"}) { experiment { '
        + " ".join(f"f{i}: name" for i in range(1001))
        + " } } }",
    )
    assert wide["errors"] == ["Query exceeds maximum total selections of 1000"]


def test_invalid_fields_are_reported_as_messages(api):
    body = gql(api, 'query { mlflowGetRun(input: {runId: "x"}) { run { info { nope } } } }')
    assert body["data"] is None
    # graphql-core quotes names with ' where graphql-js uses ": the wording is the same.
    [message] = body["errors"]
    assert message.replace("'", '"') == 'Cannot query field "nope" on type "MlflowRunInfo".'
