"""Runs and experiments through the fluent API and MlflowClient: lifecycle, params, tags, metrics."""

from __future__ import annotations

import math
import time

import mlflow
import pytest
from _support import MLFLOW_MAJOR, error_code, unique_name
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

MAX_DOUBLE = 1.7976931348623157e308


# --- nested runs -------------------------------------------------------------------------------


def test_a_nested_run_records_its_parent_and_is_found_by_the_parent_tag(experiment):
    _, experiment_id = experiment
    with mlflow.start_run(run_name="parent") as parent:
        with mlflow.start_run(run_name="child-1", nested=True) as child1:
            mlflow.log_param("fold", 1)
        with mlflow.start_run(run_name="child-2", nested=True) as child2:
            mlflow.log_param("fold", 2)
    client = MlflowClient()
    parent_id = parent.info.run_id
    for child in (child1, child2):
        run = client.get_run(child.info.run_id)
        assert run.data.tags["mlflow.parentRunId"] == parent_id
        assert run.info.status == "FINISHED"
    assert "mlflow.parentRunId" not in client.get_run(parent_id).data.tags

    children = client.search_runs(
        [experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    assert {r.info.run_id for r in children} == {child1.info.run_id, child2.info.run_id}
    df = mlflow.search_runs(
        [experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'"
    )
    assert set(df["run_id"]) == {child1.info.run_id, child2.info.run_id}


def test_starting_a_second_run_without_nested_is_refused_by_the_client(experiment):
    with mlflow.start_run():
        with pytest.raises(Exception, match="already active"):
            mlflow.start_run()


# --- params ------------------------------------------------------------------------------------


def test_a_parameter_relogged_with_another_value_is_rejected_with_invalid_parameter_value(
    experiment,
):
    with mlflow.start_run() as run:
        mlflow.log_param("C", 0.5)
        mlflow.log_param("C", 0.5)  # the same value again is fine
        with pytest.raises(MlflowException) as excinfo:
            mlflow.log_param("C", 0.6)
        assert error_code(excinfo.value) == "INVALID_PARAMETER_VALUE"
        assert "C" in str(excinfo.value)
    assert MlflowClient().get_run(run.info.run_id).data.params == {"C": "0.5"}


def test_a_parameter_relogged_with_another_value_in_a_batch_is_rejected(experiment, client):
    with mlflow.start_run() as run:
        mlflow.log_params({"lr": 0.1, "depth": 3})
        mlflow.log_params({"lr": 0.1})
        with pytest.raises(MlflowException) as excinfo:
            client.log_batch(run.info.run_id, params=[Param("lr", "0.2")])
        assert error_code(excinfo.value) == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run.info.run_id).data.params == {"lr": "0.1", "depth": "3"}


def test_long_parameter_values_up_to_6000_characters_round_trip(experiment, client):
    value = "x" * 6000
    with mlflow.start_run() as run:
        mlflow.log_param("long", value)
    assert client.get_run(run.info.run_id).data.params["long"] == value


# --- run lifecycle -----------------------------------------------------------------------------


def test_a_deleted_run_is_hidden_from_default_search_and_comes_back_when_restored(
    experiment, client
):
    _, experiment_id = experiment
    with mlflow.start_run() as kept:
        pass
    with mlflow.start_run() as doomed:
        pass
    kept_id, doomed_id = kept.info.run_id, doomed.info.run_id

    def ids(view_type):
        return {r.info.run_id for r in client.search_runs([experiment_id], run_view_type=view_type)}

    client.delete_run(doomed_id)
    run = client.get_run(doomed_id)  # deleted runs stay readable
    assert run.info.lifecycle_stage == "deleted"
    assert ids(ViewType.ACTIVE_ONLY) == {kept_id}
    assert ids(ViewType.DELETED_ONLY) == {doomed_id}
    assert ids(ViewType.ALL) == {kept_id, doomed_id}
    assert set(mlflow.search_runs([experiment_id])["run_id"]) == {kept_id}

    client.restore_run(doomed_id)
    assert client.get_run(doomed_id).info.lifecycle_stage == "active"
    assert ids(ViewType.ACTIVE_ONLY) == {kept_id, doomed_id}
    assert ids(ViewType.DELETED_ONLY) == set()


def test_logging_to_a_deleted_run_is_rejected(experiment, client):
    with mlflow.start_run() as run:
        pass
    client.delete_run(run.info.run_id)
    with pytest.raises(MlflowException) as excinfo:
        client.log_metric(run.info.run_id, "m", 1.0)
    assert error_code(excinfo.value) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException):
        client.log_param(run.info.run_id, "p", "v")
    with pytest.raises(MlflowException):
        client.set_tag(run.info.run_id, "t", "v")
    assert client.get_run(run.info.run_id).data.metrics == {}


def test_end_run_with_a_status_and_resuming_a_run(experiment, client):
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0)
    run_id = run.info.run_id
    mlflow.start_run(run_id=run_id)
    assert client.get_run(run_id).info.status == "RUNNING"
    mlflow.log_metric("m", 2.0, step=1)
    mlflow.end_run(status="FAILED")
    resumed = client.get_run(run_id)
    assert resumed.info.status == "FAILED"
    assert resumed.data.metrics["m"] == 2.0
    assert resumed.info.end_time is not None

    client.set_terminated(run_id, status="KILLED")
    assert client.get_run(run_id).info.status == "KILLED"


def test_a_run_created_with_mlflow_client_has_the_given_start_time_name_and_tags(
    experiment, client
):
    _, experiment_id = experiment
    run = client.create_run(
        experiment_id, start_time=1_600_000_000_000, tags={"team": "ml"}, run_name="given"
    )
    fetched = client.get_run(run.info.run_id)
    assert fetched.info.start_time == 1_600_000_000_000
    assert fetched.info.run_name == "given"
    assert fetched.info.status == "RUNNING"
    assert fetched.info.end_time is None
    assert fetched.data.tags["team"] == "ml"
    assert fetched.data.tags["mlflow.runName"] == "given"
    assert fetched.info.artifact_uri.endswith(f"/{run.info.run_id}/artifacts")
    assert len(run.info.run_id) == 32 and run.info.run_id == run.info.run_id.lower()
    client.set_terminated(run.info.run_id)


def test_a_run_without_a_name_gets_a_generated_one(experiment, client):
    with mlflow.start_run() as run:
        pass
    fetched = client.get_run(run.info.run_id)
    assert fetched.info.run_name
    assert fetched.data.tags["mlflow.runName"] == fetched.info.run_name


# --- experiment lifecycle ----------------------------------------------------------------------


def test_a_deleted_experiment_cannot_be_set_keeps_its_name_and_is_usable_after_restore(client):
    name = unique_name("lifecycle")
    experiment_id = mlflow.set_experiment(name).experiment_id
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0)

    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert client.get_experiment_by_name(name).lifecycle_stage == "deleted"
    # Deleting an experiment deletes its runs too (SQL store).
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"

    with pytest.raises(MlflowException, match="deleted"):
        mlflow.set_experiment(name)
    with pytest.raises(MlflowException) as excinfo:
        client.create_experiment(name)  # names stay reserved while deleted
    assert error_code(excinfo.value) == "RESOURCE_ALREADY_EXISTS"

    active = {e.experiment_id for e in client.search_experiments(filter_string=f"name = '{name}'")}
    deleted = {
        e.experiment_id
        for e in client.search_experiments(
            view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}'"
        )
    }
    assert active == set() and deleted == {experiment_id}

    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "active"
    assert mlflow.set_experiment(name).experiment_id == experiment_id
    with mlflow.start_run() as again:
        mlflow.log_metric("m", 2.0)
    assert client.get_run(again.info.run_id).info.experiment_id == experiment_id


def test_creating_an_experiment_twice_fails_with_resource_already_exists(client):
    name = unique_name("dup")
    client.create_experiment(name)
    with pytest.raises(MlflowException) as excinfo:
        client.create_experiment(name)
    assert error_code(excinfo.value) == "RESOURCE_ALREADY_EXISTS"


def test_an_experiment_can_be_renamed(client):
    old, new = unique_name("old"), unique_name("new")
    experiment_id = client.create_experiment(old)
    client.rename_experiment(experiment_id, new)
    assert client.get_experiment(experiment_id).name == new
    assert client.get_experiment_by_name(new).experiment_id == experiment_id
    assert client.get_experiment_by_name(old) is None


def test_the_default_experiment_exists(client):
    default = client.get_experiment("0")
    assert default.name == "Default"
    assert client.get_experiment_by_name("Default").experiment_id == "0"


def test_experiment_tags_are_set_at_creation_and_later(client):
    experiment_id = client.create_experiment(unique_name("tags"), tags={"owner": "ana"})
    client.set_experiment_tag(experiment_id, "stage", "dev")
    client.set_experiment_tag(experiment_id, "stage", "prod")  # upsert
    tags = client.get_experiment(experiment_id).tags
    assert tags["owner"] == "ana"
    assert tags["stage"] == "prod"


@pytest.mark.skipif(MLFLOW_MAJOR < 3, reason="MlflowClient.delete_experiment_tag is new in MLflow 3")
def test_an_experiment_tag_can_be_deleted(client):
    experiment_id = client.create_experiment(unique_name("tags"), tags={"a": "1", "b": "2"})
    client.delete_experiment_tag(experiment_id, "a")
    tags = client.get_experiment(experiment_id).tags
    assert "a" not in tags and tags["b"] == "2"


# --- tags and names ----------------------------------------------------------------------------


def test_a_run_is_renamed_by_the_run_name_tag_and_by_update_run(experiment, client):
    with mlflow.start_run(run_name="first") as run:
        pass
    run_id = run.info.run_id
    client.set_tag(run_id, "mlflow.runName", "second")
    fetched = client.get_run(run_id)
    assert fetched.info.run_name == "second"
    assert fetched.data.tags["mlflow.runName"] == "second"

    client.update_run(run_id, name="third")
    fetched = client.get_run(run_id)
    assert fetched.info.run_name == "third"
    assert fetched.data.tags["mlflow.runName"] == "third"
    assert fetched.info.status == "FINISHED"  # renaming keeps status and end time
    assert fetched.info.end_time is not None

    _, experiment_id = experiment
    found = client.search_runs([experiment_id], filter_string="attributes.run_name = 'third'")
    assert [r.info.run_id for r in found] == [run_id]


def test_run_tags_are_set_overwritten_and_deleted(experiment, client):
    with mlflow.start_run() as run:
        mlflow.set_tag("a", "1")
        mlflow.set_tags({"b": "2", "c": "3"})
        mlflow.set_tag("a", "one")
        mlflow.delete_tag("b")
    tags = client.get_run(run.info.run_id).data.tags
    assert tags["a"] == "one"
    assert "b" not in tags
    assert tags["c"] == "3"
    # The client adds its own system tags on start_run.
    assert "mlflow.user" in tags and "mlflow.source.name" in tags

    with pytest.raises(MlflowException) as excinfo:
        client.delete_tag(run.info.run_id, "never-set")
    assert error_code(excinfo.value) == "RESOURCE_DOES_NOT_EXIST"


def test_a_run_description_is_stored_as_the_note_tag(experiment, client):
    with mlflow.start_run(description="a *markdown* note") as run:
        pass
    assert client.get_run(run.info.run_id).data.tags["mlflow.note.content"] == "a *markdown* note"


# --- metrics -----------------------------------------------------------------------------------


def test_nan_and_infinite_metrics_round_trip(experiment, client):
    with mlflow.start_run() as run:
        mlflow.log_metric("nan", float("nan"))
        mlflow.log_metric("pos_inf", float("inf"))
        mlflow.log_metric("neg_inf", float("-inf"))
        mlflow.log_metrics({"batch_nan": float("nan"), "batch_inf": float("inf")})
    metrics = client.get_run(run.info.run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert math.isnan(metrics["batch_nan"])
    # The SQL store clamps infinities to the largest double.
    assert metrics["pos_inf"] >= MAX_DOUBLE
    assert metrics["batch_inf"] >= MAX_DOUBLE
    assert metrics["neg_inf"] <= -MAX_DOUBLE
    history = client.get_metric_history(run.info.run_id, "nan")
    assert len(history) == 1 and math.isnan(history[0].value)
    assert client.get_metric_history(run.info.run_id, "neg_inf")[0].value <= -MAX_DOUBLE


def test_the_latest_metric_is_the_one_with_the_highest_step_not_the_last_logged(
    experiment, client
):
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 5.0, step=10)
        mlflow.log_metric("m", 7.0, step=2)
    assert client.get_run(run.info.run_id).data.metrics["m"] == 5.0


def test_ten_thousand_metric_points_logged_in_batches_come_back_exactly_in_step_order(
    experiment, client
):
    # Upstream 3.x returns the history ordered by (timestamp, step, value); 2.22 returns insertion
    # order (the reference doc only says "steps ascending is conventional"). Timestamps here grow
    # with the step, so every one of those orders is step order.
    n = 10_000
    base = int(time.time() * 1000)
    values = [math.sin(i) * 1e3 + i / 7 for i in range(n)]
    with mlflow.start_run() as run:
        run_id = run.info.run_id
        for start in range(0, n, 1000):
            client.log_batch(
                run_id,
                metrics=[
                    Metric("series", values[i], base + i, i) for i in range(start, start + 1000)
                ],
            )
    history = client.get_metric_history(run_id, "series")
    assert len(history) == n
    assert [m.step for m in history] == list(range(n))
    assert [m.value for m in history] == values  # exact doubles, no rounding
    assert [m.timestamp for m in history] == [base + i for i in range(n)]
    assert client.get_run(run_id).data.metrics["series"] == values[-1]


def test_log_batch_writes_metrics_params_and_tags_together(experiment, client):
    with mlflow.start_run() as run:
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("a", 1.5, 1000, 0), Metric("a", 2.5, 1001, 1), Metric("b", -3.0, 1000, 0)],
            params=[Param("p1", "x"), Param("p2", "y")],
            tags=[RunTag("t1", "z")],
        )
    fetched = client.get_run(run_id)
    assert fetched.data.metrics == {"a": 2.5, "b": -3.0}
    assert fetched.data.params == {"p1": "x", "p2": "y"}
    assert fetched.data.tags["t1"] == "z"
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "a")] == [(0, 1.5), (1, 2.5)]


def test_a_large_client_log_batch_is_chunked_by_the_client_and_stored_whole(experiment, client):
    with mlflow.start_run() as run:
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(f"m{i}", float(i), 1000, 0) for i in range(1500)],
            params=[Param(f"p{i}", str(i)) for i in range(250)],
        )
    fetched = client.get_run(run_id)
    assert len(fetched.data.metrics) == 1500
    assert len(fetched.data.params) == 250
    assert fetched.data.metrics["m1499"] == 1499.0
