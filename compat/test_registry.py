"""The model registry flow of issue 3, with the real MLflow client (3.x, and 2.x where it applies).

    mlflow.sklearn.log_model(model, name="model", registered_model_name="churn")   # version 1
    client.set_registered_model_alias("churn", "production", "1")
    client.set_model_version_tag("churn", "1", "validated", "true")
    mlflow.pyfunc.load_model("models:/churn/1"); "models:/churn@production"; "models:/churn/latest"
    client.search_model_versions("name = 'churn' and tags.validated = 'true'")
    mlflow.register_model(f"runs:/{run_id}/model", "churn")                          # version 2

Every model name is unique per test session (the server is shared), but the calls are the issue's.
Tests marked ``trove_only`` check Trove's additions (frozen version files, the ``[model]``
experiment, the promote endpoint); upstream MLflow does not have them.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import mlflow
import numpy as np
import pytest
import requests
from _support import MLFLOW_MAJOR, SERVER_KIND, error_code, log_model_kwargs, training_data, unique_name
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LogisticRegression

trove_only = pytest.mark.skipif(SERVER_KIND != "trove", reason="a Trove addition that upstream MLflow does not have")

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def _train(C: float = 0.5):
    X, y = training_data()
    return LogisticRegression(C=C, max_iter=1000).fit(X, y), X


def _log_and_register(name: str, C: float = 0.5):
    """One run that logs a model and registers it under `name` (log_model's registered_model_name)."""
    model, X = _train(C)
    with mlflow.start_run() as run:
        mlflow.log_param("C", C)
        info = mlflow.sklearn.log_model(model, registered_model_name=name, **log_model_kwargs("model"))
    return SimpleNamespace(run_id=run.info.run_id, model=model, X=X, info=info)


def _proxy_path(uri: str) -> str:
    assert uri.startswith("mlflow-artifacts:"), uri
    return uri.split(":", 1)[1].lstrip("/")


@pytest.fixture(scope="module")
def churn(server):
    """The issue's flow, up to version 2; the tests below check each step's outcome."""
    mlflow.set_experiment(unique_name("registry"))
    name = unique_name("churn")
    first = _log_and_register(name)
    client = MlflowClient()
    client.set_registered_model_alias(name, "production", "1")
    client.set_model_version_tag(name, "1", "validated", "true")
    second = mlflow.register_model(f"runs:/{first.run_id}/model", name)
    return SimpleNamespace(name=name, first=first, second=second, client=client)


def test_log_model_with_registered_model_name_creates_version_1_ready(churn):
    version = churn.client.get_model_version(churn.name, "1")
    assert version.version == "1"
    assert version.status == "READY"
    assert version.current_stage == "None"
    assert version.run_id == churn.first.run_id
    if MLFLOW_MAJOR >= 3:
        # MLflow 3 registers the logged model, not a run folder.
        assert version.source == f"models:/{churn.first.info.model_id}"


def test_register_model_from_the_run_creates_version_2(churn):
    assert churn.second.version == "2"
    assert churn.second.run_id == churn.first.run_id
    assert churn.second.status == "READY"


def test_the_alias_and_the_tag_are_on_version_1(churn):
    by_alias = churn.client.get_model_version_by_alias(churn.name, "production")
    assert by_alias.version == "1"
    assert "production" in by_alias.aliases
    assert churn.client.get_model_version(churn.name, "1").tags == {"validated": "true"}
    model = churn.client.get_registered_model(churn.name)
    assert model.aliases == {"production": "1"}


@pytest.mark.parametrize("suffix", ["/1", "@production", "/latest", "/2"])
def test_load_model_by_version_alias_and_latest_predicts_like_the_trained_model(churn, suffix):
    loaded = mlflow.pyfunc.load_model(f"models:/{churn.name}{suffix}")
    X = churn.first.X
    np.testing.assert_array_equal(np.asarray(loaded.predict(X[:20])), churn.first.model.predict(X[:20]))


def test_search_model_versions_by_name_and_tag_finds_version_1(churn):
    found = churn.client.search_model_versions(f"name = '{churn.name}' and tags.validated = 'true'")
    assert [v.version for v in found] == ["1"]
    everything = churn.client.search_model_versions(f"name = '{churn.name}'")
    assert sorted(v.version for v in everything) == ["1", "2"]


def test_search_registered_models_lists_the_model(churn):
    # The 3.x client appends tag.`mlflow.prompt.is_prompt` != 'true' to every model search.
    names = [m.name for m in churn.client.search_registered_models()]
    assert churn.name in names
    found = churn.client.search_registered_models(filter_string=f"name = '{churn.name}'")
    assert [m.name for m in found] == [churn.name]
    assert {v.version for v in found[0].latest_versions} == {"2"}


def test_latest_versions_per_stage_and_stage_transitions(churn):
    client = churn.client
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stages are deprecated in MLflow 3
        moved = client.transition_model_version_stage(churn.name, "1", "Production")
        assert moved.current_stage == "Production"
        latest = {v.current_stage: v.version for v in client.get_latest_versions(churn.name)}
        assert latest == {"Production": "1", "None": "2"}
        loaded = mlflow.pyfunc.load_model(f"models:/{churn.name}/Production")
        assert loaded.metadata.run_id == churn.first.run_id
        client.transition_model_version_stage(churn.name, "2", "Production", archive_existing_versions=True)
        assert client.get_model_version(churn.name, "1").current_stage == "Archived"
        assert [v.version for v in client.get_latest_versions(churn.name, stages=["Production"])] == ["2"]


def test_a_missing_alias_and_reserved_aliases_are_invalid_parameter_errors(churn):
    with pytest.raises(MlflowException) as missing:
        churn.client.get_model_version_by_alias(churn.name, "staging")
    assert error_code(missing.value) == "INVALID_PARAMETER_VALUE"
    assert "Registered model alias staging not found." in str(missing.value)
    for reserved in ("latest", "v1"):
        with pytest.raises(MlflowException) as refused:
            churn.client.set_registered_model_alias(churn.name, reserved, "1")
        assert error_code(refused.value) == "INVALID_PARAMETER_VALUE"


def test_unknown_models_and_versions_are_resource_does_not_exist(churn):
    with pytest.raises(MlflowException) as model:
        churn.client.get_registered_model(unique_name("missing"))
    assert error_code(model.value) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as version:
        churn.client.get_model_version(churn.name, "99")
    assert error_code(version.value) == "RESOURCE_DOES_NOT_EXIST"


def test_deleted_version_numbers_are_never_reused_and_take_their_aliases(experiment):
    name = unique_name("numbers")
    first = _log_and_register(name)
    client = MlflowClient()
    mlflow.register_model(f"runs:/{first.run_id}/model", name)
    client.set_registered_model_alias(name, "shadow", "2")
    client.delete_model_version(name, "2")
    with pytest.raises(MlflowException) as gone:
        client.get_model_version_by_alias(name, "shadow")
    if SERVER_KIND == "mlflow" and MLFLOW_MAJOR < 3:
        # Upstream 2.x compares the alias's int version with the request's "2" and keeps the
        # alias, which then points at a deleted version; 3.x (and Trove) drop it.
        assert error_code(gone.value) == "RESOURCE_DOES_NOT_EXIST"
    else:
        assert error_code(gone.value) == "INVALID_PARAMETER_VALUE"
    third = mlflow.register_model(f"runs:/{first.run_id}/model", name)
    assert third.version == "3"
    assert sorted(v.version for v in client.search_model_versions(f"name = '{name}'")) == ["1", "3"]


def test_rename_moves_versions_and_aliases_and_a_taken_name_is_refused(experiment):
    name = unique_name("before")
    new_name = unique_name("after")
    first = _log_and_register(name)
    client = MlflowClient()
    client.set_registered_model_alias(name, "production", "1")
    client.rename_registered_model(name, new_name)
    assert client.get_model_version_by_alias(new_name, "production").version == "1"
    loaded = mlflow.pyfunc.load_model(f"models:/{new_name}@production")
    np.testing.assert_array_equal(np.asarray(loaded.predict(first.X[:5])), first.model.predict(first.X[:5]))
    other = unique_name("other")
    client.create_registered_model(other)
    with pytest.raises(MlflowException) as taken:
        client.rename_registered_model(new_name, other)
    assert error_code(taken.value) == "RESOURCE_ALREADY_EXISTS"


def test_delete_registered_model_removes_it(experiment):
    name = unique_name("deleted")
    _log_and_register(name)
    client = MlflowClient()
    client.delete_registered_model(name)
    with pytest.raises(MlflowException) as gone:
        client.get_registered_model(name)
    assert error_code(gone.value) == "RESOURCE_DOES_NOT_EXIST"
    assert name not in [m.name for m in client.search_registered_models()]


def test_update_descriptions_and_model_tags(experiment):
    name = unique_name("described")
    _log_and_register(name)
    client = MlflowClient()
    client.update_registered_model(name, description="churn classifier")
    client.update_model_version(name, "1", description="baseline")
    client.set_registered_model_tag(name, "team", "risk")
    model = client.get_registered_model(name)
    assert model.description == "churn classifier"
    assert model.tags == {"team": "risk"}
    assert client.get_model_version(name, "1").description == "baseline"
    client.delete_registered_model_tag(name, "team")
    assert client.get_registered_model(name).tags == {}


@trove_only
def test_a_registered_version_survives_the_deletion_of_the_files_it_was_registered_from(server, experiment):
    name = unique_name("frozen")
    first = _log_and_register(name)
    client = MlflowClient()
    if MLFLOW_MAJOR >= 3:
        source_uri = client.get_logged_model(first.info.model_id).artifact_location
    else:
        source_uri = f"{client.get_run(first.run_id).info.artifact_uri}/model"
    response = requests.delete(f"{server.url}{ARTIFACTS}/{_proxy_path(source_uri)}", timeout=30)
    assert response.status_code == 200, response.text
    listing = requests.get(f"{server.url}{ARTIFACTS}", params={"path": _proxy_path(source_uri)}, timeout=30)
    assert listing.json().get("files", []) == []
    download_uri = client.get_model_version_download_uri(name, "1")
    assert download_uri.startswith("mlflow-artifacts:/registry/")
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/1")
    np.testing.assert_array_equal(np.asarray(loaded.predict(first.X[:10])), first.model.predict(first.X[:10]))


@trove_only
def test_a_model_has_a_model_experiment_whose_runs_can_be_promoted(server):
    name = unique_name("promoted")
    client = MlflowClient()
    client.create_registered_model(name)
    experiment = client.get_experiment_by_name(f"[model]{name}")
    assert experiment is not None
    assert experiment.tags["trove.model_experiment"] == name
    mlflow.set_experiment(experiment_id=experiment.experiment_id)
    model, X = _train(C=0.25)
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(model, **log_model_kwargs("model"))
    response = requests.post(
        f"{server.url}/api/2.0/trove/registry/promote",
        json={"run_id": run.info.run_id, "model_name": name, "alias": "champion", "version_label": "1.0.0"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["model_version"]["version"] == "1"
    version = client.get_model_version_by_alias(name, "champion")
    assert version.run_id == run.info.run_id
    assert version.tags["trove.version_label"] == "1.0.0"
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    np.testing.assert_array_equal(np.asarray(loaded.predict(X[:10])), model.predict(X[:10]))
    candidates = requests.get(f"{server.url}/api/2.0/trove/registry/candidates", params={"name": name}, timeout=30).json()
    assert [(r["info"]["run_id"], r["model_versions"]) for r in candidates["runs"]] == [(run.info.run_id, ["1"])]
