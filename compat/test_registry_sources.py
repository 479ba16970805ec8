"""Model version sources and logged-model links as MLflow 3.18's server handles them.

Every expectation here was checked against `mlflow server` 3.18 (COMPAT_SERVER=mlflow).
"""

from __future__ import annotations

import uuid

import pytest
import requests
from _support import only_mlflow3, unique_name
from mlflow.exceptions import MlflowException

T = "/api/2.0/mlflow"


def create_version(api, **body):
    return requests.post(f"{api}{T}/model-versions/create", json=body, timeout=60)


@pytest.fixture
def model_name(client):
    name = unique_name("sources")
    client.create_registered_model(name)
    return name


def test_a_runs_source_of_a_run_the_server_does_not_know_is_registered_when_the_ids_agree(client, model_name):
    run_id = uuid.uuid4().hex
    version = client.create_model_version(model_name, f"runs:/{run_id}/model", run_id=run_id)
    assert version.source == f"runs:/{run_id}/model"
    assert version.run_id == run_id
    assert client.get_model_version(model_name, version.version).run_id == run_id


def test_a_runs_source_naming_another_run_than_run_id_is_refused(client, model_name):
    with pytest.raises(MlflowException, match="The run_id request parameter must identify the resource that contains the source"):
        client.create_model_version(model_name, f"runs:/{uuid.uuid4().hex}/model", run_id=uuid.uuid4().hex)


def test_a_local_path_source_needs_the_run_whose_artifacts_contain_it(api, client, model_name, tmp_path):
    experiment_id = client.create_experiment(unique_name("local"), artifact_location=str(tmp_path / "artifacts"))
    run = client.create_run(experiment_id)
    inside = f"{run.info.artifact_uri}/model"
    ok = create_version(api, name=model_name, source=inside, run_id=run.info.run_id)
    assert ok.status_code == 200, ok.text
    for body in ({"source": inside}, {"source": "/tmp", "run_id": run.info.run_id}, {"source": "file:///srv/models/m"}):
        resp = create_version(api, name=model_name, **body)
        assert resp.status_code == 400, body
        assert "To use a local path as a model version source" in resp.json()["message"]


@only_mlflow3
def test_registering_a_logged_model_by_model_id_lists_the_version_on_the_logged_model(client, model_name):
    experiment_id = client.create_experiment(unique_name("lm"))
    model = client.create_logged_model(experiment_id=experiment_id)
    client.create_model_version(name=model_name, source=model.artifact_location, model_id=model.model_id)
    tags = client.get_logged_model(model.model_id).tags
    assert tags["mlflow.modelVersions"] == f'[{{"name": "{model_name}", "version": 1}}]'
    client.create_model_version(name=model_name, source=model.artifact_location, model_id=model.model_id)
    tags = client.get_logged_model(model.model_id).tags
    assert tags["mlflow.modelVersions"] == f'[{{"name": "{model_name}", "version": 1}}, {{"name": "{model_name}", "version": 2}}]'


@only_mlflow3
def test_a_logged_model_may_name_a_source_run_the_server_does_not_know(client):
    experiment_id = client.create_experiment(unique_name("lm"))
    model = client.create_logged_model(experiment_id=experiment_id, source_run_id="123")
    assert client.get_logged_model(model.model_id).source_run_id == "123"


@only_mlflow3
def test_search_logged_models_by_dataset_keeps_models_with_a_metric_on_it(client):
    experiment_id = client.create_experiment(unique_name("lm"))
    evaluated = client.create_logged_model(experiment_id=experiment_id)
    client.create_logged_model(experiment_id=experiment_id)
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "metric", 1, dataset_name="dataset", dataset_digest="123", model_id=evaluated.model_id)
    found = client.search_logged_models(experiment_ids=[experiment_id], datasets=[{"dataset_name": "dataset", "dataset_digest": "123"}])
    assert [m.model_id for m in found] == [evaluated.model_id]
    assert client.search_logged_models(experiment_ids=[experiment_id], datasets=[{"dataset_name": "dataset", "dataset_digest": "other"}]) == []
    # MLflow 3.18 reads an absent digest as the empty one, which no logged metric has.
    assert client.search_logged_models(experiment_ids=[experiment_id], datasets=[{"dataset_name": "dataset"}]) == []
