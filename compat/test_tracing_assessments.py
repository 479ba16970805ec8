"""Assessments on traces with the real MLflow 3 client: log_feedback, log_expectation,
update_assessment, override_feedback, delete_assessment, get_assessment, and assessments logged
while the trace is still running. Validated against the upstream server too (COMPAT_SERVER=mlflow)."""

from __future__ import annotations

import time

import mlflow
import pytest
from _support import MLFLOW_MAJOR

pytestmark = pytest.mark.skipif(MLFLOW_MAJOR < 3, reason="assessments exist only in MLflow 3")


@pytest.fixture
def trace_id(experiment):
    @mlflow.trace
    def answer(q):
        return "42"

    answer("meaning of life?")
    mlflow.flush_trace_async_logging(terminate=False)
    return mlflow.get_last_active_trace_id()


def _assessments(trace_id):
    return {a.name: a for a in mlflow.get_trace(trace_id).info.assessments}


def test_feedback_and_expectations_are_logged_read_back_and_found_on_the_trace(trace_id):
    from mlflow.entities import AssessmentSource, AssessmentSourceType

    source = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="rev@example.com")
    feedback = mlflow.log_feedback(trace_id=trace_id, name="correct", value=True, source=source, rationale="ok", metadata={"k": "v"})
    expectation = mlflow.log_expectation(trace_id=trace_id, name="expected", value={"answer": "42", "score": 1.5})
    assert feedback.assessment_id and expectation.assessment_id

    got = mlflow.get_assessment(trace_id, feedback.assessment_id)
    assert got.name == "correct"
    assert got.value is True
    assert got.rationale == "ok"
    assert got.metadata == {"k": "v"}
    assert got.source.source_type == "HUMAN" and got.source.source_id == "rev@example.com"
    assert got.valid is True

    on_trace = _assessments(trace_id)
    assert set(on_trace) == {"correct", "expected"}
    assert on_trace["expected"].value == {"answer": "42", "score": 1.5}


def test_a_feedback_error_and_numeric_and_list_values_round_trip(trace_id):
    from mlflow.entities import AssessmentError

    mlflow.log_feedback(trace_id=trace_id, name="score", value=0.75)
    mlflow.log_feedback(trace_id=trace_id, name="labels", value=["a", "b"])
    mlflow.log_feedback(trace_id=trace_id, name="judge", error=AssessmentError(error_code="TIMEOUT", error_message="judge timed out"))
    on_trace = _assessments(trace_id)
    assert on_trace["score"].value == 0.75
    assert on_trace["labels"].value == ["a", "b"]
    assert on_trace["judge"].error.error_code == "TIMEOUT"
    assert on_trace["judge"].error.error_message == "judge timed out"


def test_an_assessment_is_updated_in_place(trace_id):
    from mlflow.entities import Feedback

    created = mlflow.log_feedback(trace_id=trace_id, name="correct", value=True, rationale="first")
    time.sleep(0.01)
    updated = mlflow.update_assessment(trace_id=trace_id, assessment_id=created.assessment_id, assessment=Feedback(name="correct", value=False))
    assert updated.assessment_id == created.assessment_id
    assert updated.value is False
    assert updated.last_update_time_ms >= created.last_update_time_ms
    again = mlflow.get_assessment(trace_id, created.assessment_id)
    assert again.value is False
    assert again.create_time_ms == created.create_time_ms


def test_an_overriding_feedback_invalidates_the_original_until_it_is_deleted(trace_id):
    original = mlflow.log_feedback(trace_id=trace_id, name="quality", value="bad")
    override = mlflow.override_feedback(trace_id=trace_id, assessment_id=original.assessment_id, value="good", rationale="human fix")
    assert override.overrides == original.assessment_id
    assert mlflow.get_assessment(trace_id, original.assessment_id).valid is False
    assert mlflow.get_assessment(trace_id, override.assessment_id).valid is True
    mlflow.delete_assessment(trace_id=trace_id, assessment_id=override.assessment_id)
    assert mlflow.get_assessment(trace_id, original.assessment_id).valid is True


def test_a_deleted_assessment_is_gone(trace_id):
    created = mlflow.log_expectation(trace_id=trace_id, name="expected", value="42")
    mlflow.delete_assessment(trace_id=trace_id, assessment_id=created.assessment_id)
    assert "expected" not in _assessments(trace_id)
    with pytest.raises(mlflow.exceptions.MlflowException) as info:
        mlflow.get_assessment(trace_id, created.assessment_id)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_feedback_logged_while_the_trace_runs_arrives_with_the_trace(experiment):
    @mlflow.trace
    def judged():
        current = mlflow.get_active_trace_id()
        mlflow.log_feedback(trace_id=current, name="inline", value=3)
        return "x"

    judged()
    mlflow.flush_trace_async_logging(terminate=False)
    trace_id = mlflow.get_last_active_trace_id()
    assert _assessments(trace_id)["inline"].value == 3


def test_feedback_on_a_missing_trace_is_refused(experiment):
    with pytest.raises(mlflow.exceptions.MlflowException) as info:
        mlflow.log_feedback(trace_id="tr-" + "0" * 31 + "2", name="x", value=1)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
