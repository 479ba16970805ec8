"""Models: sklearn autologging, several models per run, and (MLflow 3) logged-model entities."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from _support import MLFLOW_MAJOR, log_model_kwargs, only_mlflow3, training_data
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LogisticRegression
from sklearn.dummy import DummyClassifier


@pytest.fixture
def autolog():
    mlflow.sklearn.autolog(silent=True)
    try:
        yield
    finally:
        mlflow.sklearn.autolog(disable=True)


def test_sklearn_autolog_records_params_metrics_tags_inputs_and_a_model(experiment, autolog):
    _, experiment_id = experiment
    X, y = training_data()
    with mlflow.start_run() as run:
        model = LogisticRegression(C=0.3, max_iter=300).fit(X, y)
    run_id = run.info.run_id
    fetched = MlflowClient().get_run(run_id)

    params = fetched.data.params
    assert params["C"] == "0.3"
    assert params["max_iter"] == "300"
    assert "penalty" in params
    metrics = fetched.data.metrics
    for key in ("training_score", "training_accuracy_score", "training_f1_score"):
        assert key in metrics, sorted(metrics)
    assert metrics["training_score"] == pytest.approx(model.score(X, y))
    assert fetched.data.tags["estimator_name"] == "LogisticRegression"
    assert fetched.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    # Autologging records the training data set as a run input (log-inputs).
    contexts = {
        t.value
        for d in fetched.inputs.dataset_inputs
        for t in d.tags
        if t.key == "mlflow.data.context"
    }
    assert "train" in contexts
    assert all(d.dataset.digest and d.dataset.name for d in fetched.inputs.dataset_inputs)

    loaded = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    np.testing.assert_array_equal(np.asarray(loaded.predict(X)), model.predict(X))

    if MLFLOW_MAJOR >= 3:
        models = mlflow.search_logged_models(
            experiment_ids=[experiment_id], filter_string=f"source_run_id = '{run_id}'",
            output_format="list",
        )
        assert len(models) == 1
        assert models[0].params["C"] == "0.3"
    else:
        files = {f.path for f in MlflowClient().list_artifacts(run_id, "model")}
        assert "model/MLmodel" in files


def test_two_models_logged_in_one_run_load_by_their_own_paths(experiment):
    X, y = training_data()
    linear = LogisticRegression(max_iter=300).fit(X, y)
    # Not a tree model: MLflow 3.18 saves sklearn models with skops, which refuses tree internals
    # unless they are explicitly trusted.
    dummy = DummyClassifier(strategy="constant", constant=1).fit(X, y)
    assert not np.array_equal(linear.predict(X), dummy.predict(X))
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(linear, **log_model_kwargs("linear"))
        mlflow.sklearn.log_model(dummy, **log_model_kwargs("dummy"))
    for name, model in (("linear", linear), ("dummy", dummy)):
        loaded = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/{name}")
        np.testing.assert_array_equal(np.asarray(loaded.predict(X)), model.predict(X))


@only_mlflow3
def test_a_model_logged_without_a_run_loads_by_its_model_id(experiment):
    from mlflow.entities import LoggedModelStatus

    _, experiment_id = experiment
    X, y = training_data()
    model = LogisticRegression(max_iter=300).fit(X, y)
    info = mlflow.sklearn.log_model(model, **log_model_kwargs("standalone"))
    logged = MlflowClient().get_logged_model(info.model_id)
    assert not logged.source_run_id  # upstream omits it; the client then reads ""
    assert logged.experiment_id == experiment_id
    assert logged.status == LoggedModelStatus.READY
    loaded = mlflow.pyfunc.load_model(f"models:/{info.model_id}")
    np.testing.assert_array_equal(np.asarray(loaded.predict(X)), model.predict(X))
    files = {f.path for f in MlflowClient().list_logged_model_artifacts(info.model_id)}
    assert "MLmodel" in files


@only_mlflow3
def test_metrics_logged_for_a_model_show_on_the_model_and_are_searchable(experiment):
    _, experiment_id = experiment
    X, y = training_data()
    with mlflow.start_run():
        good = mlflow.sklearn.log_model(
            LogisticRegression(max_iter=300).fit(X, y), **log_model_kwargs("good")
        )
        bad = mlflow.sklearn.log_model(DummyClassifier().fit(X, y), **log_model_kwargs("bad"))
        mlflow.log_metric("auc", 0.93, model_id=good.model_id)
        mlflow.log_metric("auc", 0.61, model_id=bad.model_id)
    client = MlflowClient()
    assert {m.key: m.value for m in client.get_logged_model(good.model_id).metrics}["auc"] == 0.93

    found = client.search_logged_models(
        experiment_ids=[experiment_id], filter_string="metrics.auc > 0.9"
    )
    assert [m.model_id for m in found] == [good.model_id]
    ordered = client.search_logged_models(
        experiment_ids=[experiment_id],
        order_by=[{"field_name": "metrics.auc", "ascending": False}],
    )
    assert [m.model_id for m in ordered] == [good.model_id, bad.model_id]


@only_mlflow3
def test_logged_model_tags_are_set_and_deleted(experiment):
    X, y = training_data()
    info = mlflow.sklearn.log_model(
        LogisticRegression(max_iter=300).fit(X, y), **log_model_kwargs("tagged")
    )
    client = MlflowClient()
    client.set_logged_model_tags(info.model_id, {"stage": "candidate", "owner": "ana"})
    client.delete_logged_model_tag(info.model_id, "owner")
    tags = client.get_logged_model(info.model_id).tags
    assert tags["stage"] == "candidate"
    assert "owner" not in tags
