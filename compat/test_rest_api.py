"""Wire-level conventions the client relies on, checked with raw HTTP (reference doc §1, §3, §5)."""

from __future__ import annotations

import math
import uuid

import mlflow
import requests
from _support import unique_name
from mlflow.tracking import MlflowClient

T = "/api/2.0/mlflow"
A = "/api/2.0/mlflow-artifacts/artifacts"


def test_health_and_version_answer(api):
    r = requests.get(f"{api}/health", timeout=60)
    assert r.status_code == 200
    r = requests.get(f"{api}/version", timeout=60)
    assert r.status_code == 200 and r.text.strip()


def test_a_run_is_json_with_snake_case_names_numbers_and_enum_names(api, experiment):
    _, experiment_id = experiment
    with mlflow.start_run(run_name="wire") as run:
        mlflow.log_metric("m", 0.25, step=3)
        mlflow.log_param("p", "v")
    r = requests.get(f"{api}{T}/runs/get", params={"run_id": run.info.run_id}, timeout=60)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()["run"]
    info = body["info"]
    assert info["run_id"] == run.info.run_id
    assert info["run_uuid"] == run.info.run_id  # deprecated duplicate, still sent
    assert info["experiment_id"] == experiment_id and isinstance(info["experiment_id"], str)
    assert info["run_name"] == "wire"
    assert info["status"] == "FINISHED"
    assert info["lifecycle_stage"] == "active"
    assert isinstance(info["start_time"], int) and isinstance(info["end_time"], int)
    assert info["artifact_uri"].startswith("mlflow-artifacts:/")
    metric = body["data"]["metrics"][0]
    assert metric["key"] == "m" and metric["value"] == 0.25 and metric["step"] == 3
    assert isinstance(metric["timestamp"], int)
    assert {"key": "p", "value": "v"} in body["data"]["params"]
    assert {"key": "mlflow.runName", "value": "wire"} in body["data"]["tags"]


def test_a_running_run_has_no_end_time_on_the_wire(api, experiment):
    _, experiment_id = experiment
    run = MlflowClient().create_run(experiment_id)
    info = requests.get(f"{api}{T}/runs/get", params={"run_id": run.info.run_id},
                        timeout=60).json()["run"]["info"]
    assert info["status"] == "RUNNING"
    assert "end_time" not in info or info["end_time"] in (None, 0)


def test_nan_travels_as_the_string_nan(api, experiment):
    with mlflow.start_run() as run:
        mlflow.log_metric("nan", float("nan"))
        mlflow.log_metric("inf", float("inf"))
    r = requests.get(f"{api}{T}/metrics/get-history",
                     params={"run_id": run.info.run_id, "metric_key": "nan"}, timeout=60)
    assert r.status_code == 200
    assert r.json()["metrics"][0]["value"] == "NaN"
    r = requests.get(f"{api}{T}/metrics/get-history",
                     params={"run_id": run.info.run_id, "metric_key": "inf"}, timeout=60)
    value = r.json()["metrics"][0]["value"]
    # Upstream stores +inf clamped to the largest double and sends it as a number.
    assert value == "Infinity" or (isinstance(value, float) and value >= 1.7976931348623157e308)


def test_ajax_api_mirrors_the_api_routes(api):
    a = requests.get(f"{api}{T}/experiments/get", params={"experiment_id": "0"}, timeout=60)
    b = requests.get(f"{api}/ajax-api/2.0/mlflow/experiments/get",
                     params={"experiment_id": "0"}, timeout=60)
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json()
    assert b.json()["experiment"]["name"] == "Default"


def test_metric_history_pages_cover_every_point_once(api, experiment, client):
    with mlflow.start_run() as run:
        from mlflow.entities import Metric

        client.log_batch(run.info.run_id, [Metric("h", float(i), 1000 + i, i) for i in range(250)])
    seen, token, calls = [], None, 0
    while True:
        params = {"run_id": run.info.run_id, "metric_key": "h", "max_results": 100}
        if token:
            params["page_token"] = token
        r = requests.get(f"{api}{T}/metrics/get-history", params=params, timeout=60)
        assert r.status_code == 200, r.text
        body = r.json()
        seen.extend(m["step"] for m in body.get("metrics", []))
        token = body.get("next_page_token")
        calls += 1
        if not token:
            break
        assert calls < 10
    # Upstream 2.22 ignores max_results here and sends everything at once; 3.x pages.
    assert sorted(seen) == list(range(250)) and len(seen) == 250


def test_get_history_bulk_interval_samples_each_run_keeping_the_first_and_last_step(
    api, experiment, client
):
    from mlflow.entities import Metric

    run_ids = []
    for _ in range(2):
        with mlflow.start_run() as run:
            client.log_batch(
                run.info.run_id, [Metric("loss", 1.0 / (i + 1), 1000 + i, i) for i in range(100)]
            )
        run_ids.append(run.info.run_id)
    r = requests.get(
        f"{api}{T}/metrics/get-history-bulk-interval",
        params={"run_ids": run_ids, "metric_key": "loss", "max_results": 10},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    points = r.json()["metrics"]
    for run_id in run_ids:
        steps = sorted(m["step"] for m in points if m["run_id"] == run_id)
        # max_results evenly spaced steps, plus the last step: upstream 2.22 sends 11 here.
        assert 2 <= len(steps) <= 11
        assert steps[0] == 0 and steps[-1] == 99
    everything = requests.get(
        f"{api}{T}/metrics/get-history-bulk-interval",
        params={"run_ids": run_ids[0], "metric_key": "loss"},
        timeout=60,
    ).json()["metrics"]
    assert sorted(m["step"] for m in everything) == list(range(100))
    assert all(math.isclose(m["value"], 1.0 / (m["step"] + 1)) for m in everything)


def test_the_artifact_proxy_lists_basenames_and_treats_files_as_empty_listings(api, experiment):
    _, experiment_id = experiment
    with mlflow.start_run() as run:
        mlflow.log_text("abc", "dir/a.txt")
        mlflow.log_text("hello", "b.txt")
    root = f"{experiment_id}/{run.info.run_id}/artifacts"
    listing = requests.get(f"{api}{A}", params={"path": root}, timeout=60).json()
    files = {f["path"]: f for f in listing["files"]}
    assert set(files) == {"dir", "b.txt"}
    assert files["dir"]["is_dir"] is True
    assert files["b.txt"]["is_dir"] is False and int(files["b.txt"]["file_size"]) == 5
    nested = requests.get(f"{api}{A}", params={"path": f"{root}/dir"}, timeout=60).json()
    assert [f["path"] for f in nested["files"]] == ["a.txt"]
    # The client tells files from directories by listing them: a file lists as nothing.
    as_dir = requests.get(f"{api}{A}", params={"path": f"{root}/b.txt"}, timeout=60).json()
    assert not as_dir.get("files")


def test_the_artifact_proxy_streams_uploads_and_downloads_and_deletes(api):
    path = f"0/{uuid.uuid4().hex}/artifacts/raw/data.bin"
    payload = bytes(range(256)) * 1000
    r = requests.put(f"{api}{A}/{path}", data=payload,
                     headers={"Content-Type": "application/octet-stream"}, timeout=60)
    assert r.status_code == 200, r.text
    r = requests.get(f"{api}{A}/{path}", timeout=60)
    assert r.status_code == 200 and r.content == payload
    r = requests.delete(f"{api}{A}/{path}", timeout=60)
    assert r.status_code == 200, r.text
    listing = requests.get(f"{api}{A}", params={"path": path.rsplit("/", 1)[0]}, timeout=60).json()
    assert not listing.get("files")


def test_downloads_get_a_content_type_from_the_extension(api):
    base = f"0/{uuid.uuid4().hex}/artifacts"
    for name, wanted in (("img.png", "image/png"), ("table.csv", "text/csv"),
                         ("data.json", "application/json")):
        requests.put(f"{api}{A}/{base}/{name}", data=b"x", timeout=60).raise_for_status()
        r = requests.get(f"{api}{A}/{base}/{name}", timeout=60)
        assert r.status_code == 200
        assert r.headers["content-type"].split(";")[0] in (wanted, "text/plain"), (name, r.headers)


def test_experiments_search_also_answers_get(api):
    name = unique_name("get-search")
    requests.post(f"{api}{T}/experiments/create", json={"name": name}, timeout=60).raise_for_status()
    r = requests.get(f"{api}{T}/experiments/search",
                     params={"filter": f"name = '{name}'", "max_results": 10}, timeout=60)
    assert r.status_code == 200, r.text
    assert [e["name"] for e in r.json()["experiments"]] == [name]
