"""The quick-start flow of issue 2, exactly as a user writes it, then checked piece by piece."""

from __future__ import annotations

import os
from types import SimpleNamespace

import mlflow
import numpy as np
import pytest
from _support import (
    MLFLOW_MAJOR,
    log_model_kwargs,
    only_mlflow3,
    sha256_of,
    training_data,
    unique_name,
)
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, precision_score, recall_score

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8 + b"IEND\xaeB`\x82"


@pytest.fixture(scope="module")
def churn(server, tmp_path_factory):
    """Runs the issue's flow once; the tests below look at what it left on the server."""
    work = tmp_path_factory.mktemp("churn")
    png = work / "confusion.png"
    png.write_bytes(PNG_BYTES)
    encoders = work / "encoders"
    (encoders / "nested").mkdir(parents=True)
    (encoders / "label_encoder.json").write_text('{"classes": ["stay", "churn"]}')
    (encoders / "scaler.bin").write_bytes(os.urandom(4096))
    (encoders / "nested" / "vocab.txt").write_text("a\nb\nc\n")

    X, y = training_data()
    model = LogisticRegression(C=0.5, penalty="l2", max_iter=1000).fit(X, y)
    predictions = model.predict(X)
    accuracy = float(accuracy_score(y, predictions))
    precision = float(precision_score(y, predictions))
    recall = float(recall_score(y, predictions))
    assert accuracy > 0.8, "the synthetic data set should be easy"
    loss = [1.0 / (step + 1) + step * 1e-3 for step in range(100)]

    experiment_name = unique_name("churn")
    experiment = mlflow.set_experiment(experiment_name)
    with mlflow.start_run(run_name="baseline") as run:
        mlflow.log_params({"C": 0.5, "penalty": "l2"})
        for step in range(100):
            mlflow.log_metric("loss", loss[step], step=step)
        mlflow.log_metrics({"precision": precision, "recall": recall, "accuracy": accuracy})
        mlflow.log_artifact(str(png))
        mlflow.log_artifacts(str(encoders), "encoders")
        # Exactly the user's call (requirements inferred), only the name argument differs on 2.x.
        model_info = mlflow.sklearn.log_model(
            model, input_example=X[:5], **log_model_kwargs("model", infer_requirements=True)
        )
        last_model = mlflow.last_logged_model() if MLFLOW_MAJOR >= 3 else None

    return SimpleNamespace(
        experiment_name=experiment_name,
        experiment_id=experiment.experiment_id,
        run_id=run.info.run_id,
        model=model,
        X=X,
        y=y,
        predictions=predictions,
        metrics={"precision": precision, "recall": recall, "accuracy": accuracy},
        loss=loss,
        encoders=encoders,
        png=png,
        model_info=model_info,
        last_model=last_model,
        work=work,
    )


def test_the_run_is_finished_under_its_name_with_params_and_latest_metrics(churn):
    run = MlflowClient().get_run(churn.run_id)
    assert run.info.run_name == "baseline"
    assert run.data.tags["mlflow.runName"] == "baseline"
    assert run.info.status == "FINISHED"
    assert run.info.end_time is not None and run.info.end_time >= run.info.start_time
    assert run.info.lifecycle_stage == "active"
    assert run.info.experiment_id == churn.experiment_id
    # Params are strings on the wire: the client stringifies 0.5.
    assert run.data.params == {"C": "0.5", "penalty": "l2"}
    for key, value in churn.metrics.items():
        assert run.data.metrics[key] == value
    # "Latest" is the value at the highest step.
    assert run.data.metrics["loss"] == churn.loss[99]
    assert set(run.data.metrics) == {"loss", "precision", "recall", "accuracy"}


def test_the_experiment_can_be_found_by_name_with_an_artifact_location(churn):
    experiment = MlflowClient().get_experiment_by_name(churn.experiment_name)
    assert experiment.experiment_id == churn.experiment_id
    assert experiment.lifecycle_stage == "active"
    assert experiment.artifact_location


def test_the_loss_history_has_all_100_steps_in_step_order(churn):
    history = MlflowClient().get_metric_history(churn.run_id, "loss")
    assert [m.step for m in history] == list(range(100))
    assert [m.value for m in history] == churn.loss
    assert all(m.key == "loss" for m in history)
    assert all(m.timestamp > 0 for m in history)


def test_search_runs_with_the_quick_start_filter_returns_the_run(churn):
    df = mlflow.search_runs(
        experiment_names=[churn.experiment_name],
        filter_string="metrics.accuracy > 0.8 and params.penalty = 'l2'",
        order_by=["metrics.accuracy DESC"],
    )
    assert list(df["run_id"]) == [churn.run_id]
    row = df.iloc[0]
    assert row["metrics.accuracy"] == churn.metrics["accuracy"]
    assert row["params.penalty"] == "l2"
    assert row["params.C"] == "0.5"
    assert row["tags.mlflow.runName"] == "baseline"
    assert row["status"] == "FINISHED"


def test_search_runs_with_a_filter_that_does_not_match_returns_nothing(churn):
    df = mlflow.search_runs(
        experiment_names=[churn.experiment_name],
        filter_string="metrics.accuracy > 0.8 and params.penalty = 'l1'",
    )
    assert len(df) == 0


def test_the_logged_files_are_listed_and_download_byte_identical(churn, tmp_path):
    client = MlflowClient()
    top = {f.path: f for f in client.list_artifacts(churn.run_id)}
    assert "confusion.png" in top and not top["confusion.png"].is_dir
    assert top["confusion.png"].file_size == len(PNG_BYTES)
    assert "encoders" in top and top["encoders"].is_dir

    listed = {f.path: f for f in client.list_artifacts(churn.run_id, "encoders")}
    assert set(listed) == {"encoders/label_encoder.json", "encoders/scaler.bin", "encoders/nested"}
    assert listed["encoders/nested"].is_dir
    assert listed["encoders/scaler.bin"].file_size == 4096

    png = mlflow.artifacts.download_artifacts(
        run_id=churn.run_id, artifact_path="confusion.png", dst_path=str(tmp_path / "png")
    )
    assert sha256_of(png) == sha256_of(churn.png)

    local = mlflow.artifacts.download_artifacts(
        run_id=churn.run_id, artifact_path="encoders", dst_path=str(tmp_path / "enc")
    )
    for rel in ("label_encoder.json", "scaler.bin", os.path.join("nested", "vocab.txt")):
        assert sha256_of(os.path.join(local, rel)) == sha256_of(churn.encoders / rel)


def test_the_model_loaded_through_the_runs_uri_predicts_like_the_trained_one(churn):
    loaded = mlflow.pyfunc.load_model(f"runs:/{churn.run_id}/model")
    predicted = np.asarray(loaded.predict(churn.X))
    np.testing.assert_array_equal(predicted, churn.predictions)


def test_the_model_loaded_as_sklearn_has_the_trained_coefficients(churn):
    loaded = mlflow.sklearn.load_model(f"runs:/{churn.run_id}/model")
    np.testing.assert_array_equal(loaded.coef_, churn.model.coef_)
    assert loaded.get_params()["C"] == 0.5


def test_the_model_keeps_its_input_example_and_signature(churn):
    loaded = mlflow.pyfunc.load_model(churn.model_info.model_uri)
    assert loaded.metadata.signature is not None
    assert loaded.metadata.saved_input_example_info is not None
    np.testing.assert_array_equal(np.asarray(loaded.predict(churn.X[:5])), churn.predictions[:5])


@only_mlflow3
def test_the_model_loaded_through_its_models_uri_predicts_like_the_trained_one(churn):
    model_id = churn.model_info.model_id
    assert model_id.startswith("m-")
    assert churn.last_model is not None and churn.last_model.model_id == model_id
    loaded = mlflow.pyfunc.load_model(f"models:/{model_id}")
    np.testing.assert_array_equal(np.asarray(loaded.predict(churn.X)), churn.predictions)


@only_mlflow3
def test_the_logged_model_is_ready_and_linked_to_its_run(churn):
    from mlflow.entities import LoggedModelStatus

    client = MlflowClient()
    logged = client.get_logged_model(churn.model_info.model_id)
    assert logged.name == "model"
    assert logged.status == LoggedModelStatus.READY
    assert logged.source_run_id == churn.run_id
    assert logged.experiment_id == churn.experiment_id
    # log_model copies the run's params onto the logged model.
    assert logged.params == {"C": "0.5", "penalty": "l2"}
    assert logged.artifact_location.endswith(f"/models/{logged.model_id}/artifacts")

    run = client.get_run(churn.run_id)
    assert [o.model_id for o in run.outputs.model_outputs] == [logged.model_id]

    found = client.search_logged_models(
        experiment_ids=[churn.experiment_id], filter_string="name = 'model'"
    )
    assert [m.model_id for m in found] == [logged.model_id]


@pytest.mark.skipif(MLFLOW_MAJOR >= 3, reason="MLflow 3 stores models as logged models")
def test_on_mlflow_2_the_model_is_stored_with_the_run_artifacts(churn):
    files = {f.path for f in MlflowClient().list_artifacts(churn.run_id, "model")}
    assert "model/MLmodel" in files
    assert any(p.startswith("model/model.") for p in files)

