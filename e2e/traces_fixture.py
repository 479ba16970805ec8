"""Fills a Trove server with traces for the browser tests of the Traces tab and the trace page,
through the real MLflow 3 client: decorated functions with nested spans, a chat-model span with
messages and token usage, a span that raises, a trace inside a run, and human feedback.

    MLFLOW_TRACKING_URI=http://127.0.0.1:5077 .venvs/mlflow3/bin/python e2e/traces_fixture.py out.json

Writes the ids the spec needs as JSON to the given file.
"""

import json
import sys

import mlflow
from mlflow.entities import AssessmentSource, AssessmentSourceType, SpanType


@mlflow.trace(span_type=SpanType.RETRIEVER)
def retrieve(q):
    return [{"doc": f"about {q}", "score": 0.9}]


@mlflow.trace(span_type=SpanType.TOOL)
def weather_lookup(city):
    raise ValueError(f"no weather for {city}")


@mlflow.trace
def answer(q):
    docs = retrieve(q)
    with mlflow.start_span("chat-llm", span_type=SpanType.CHAT_MODEL) as span:
        span.set_inputs(
            {
                "model": "tiny-chat",
                "messages": [
                    {"role": "system", "content": "Answer in one word."},
                    {"role": "user", "content": q},
                ],
            }
        )
        span.set_outputs({"choices": [{"index": 0, "message": {"role": "assistant", "content": "42"}, "finish_reason": "stop"}]})
        span.set_attribute("mlflow.chat.tokenUsage", {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15})
        span.set_attribute("docs_used", len(docs))
    mlflow.update_current_trace(tags={"user": "u1"})
    return "42"


@mlflow.trace
def forecast(city):
    return weather_lookup(city)


def main(out_path):
    experiment = mlflow.set_experiment("e2e-traces")
    ids = {"experiment_id": experiment.experiment_id, "experiment_name": "e2e-traces"}

    for i in range(4):
        answer(f"warm-up question {i}")

    try:
        forecast("Oslo")
    except ValueError:
        pass
    ids["error_trace_id"] = mlflow.get_last_active_trace_id()

    with mlflow.start_run(run_name="traced-run") as run:
        answer("meaning of life?")
        ids["run_id"] = run.info.run_id
    ids["trace_id"] = mlflow.get_last_active_trace_id()
    mlflow.flush_trace_async_logging()

    mlflow.log_feedback(
        trace_id=ids["trace_id"],
        name="correct",
        value=True,
        rationale="matches the retrieved doc",
        source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="rev@example.com"),
    )

    with open(out_path, "w") as f:
        json.dump(ids, f, indent=2)
    print(json.dumps(ids))


if __name__ == "__main__":
    main(sys.argv[1])
