"""The routes the MLflow web UI downloads, previews and uploads artifacts with (`/get-artifact`,
`/model-versions/get-artifact`, `upload-artifact`, `create-promptlab-run`, the logged-model
artifact routes). Data comes from the real client; the UI's calls are made with `requests`, as
MLflow's own server tests make them.
"""

from __future__ import annotations

import json

import mlflow
import pytest
import requests
from _support import only_mlflow3, unique_name

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
INVALID_PATH = {"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid path"}


def mlflow_error(response) -> dict:
    """The error's code and message (MLflow 3.18 adds classification fields beside them)."""
    body = response.json()
    return {"error_code": body.get("error_code"), "message": body.get("message")}


@pytest.fixture
def run_with_files(experiment, tmp_path):
    files = {
        "notes.txt": b"hello world",
        "MLmodel": b"flavors: {}\n",
        "mlproject": b"name: demo\n",
        "plot.png": PNG,
        "metrics.json": b'{"a": 1}',
        "table.csv": b"a,b\n1,2\n",
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    with mlflow.start_run() as run:
        for name in files:
            mlflow.log_artifact(str(tmp_path / name))
        mlflow.log_artifact(str(tmp_path / "MLmodel"), "model")
    return run.info.run_id, files


def test_get_artifact_sends_a_run_file_as_an_attachment(api, run_with_files):
    run_id, files = run_with_files
    for key in ("run_id", "run_uuid"):
        response = requests.get(f"{api}/get-artifact", params={key: run_id, "path": "notes.txt"}, timeout=60)
        assert response.status_code == 200
        assert response.content == files["notes.txt"]
        assert response.headers["Content-Disposition"] == "attachment; filename=notes.txt"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Type"].split(";")[0] == "text/plain"


@pytest.mark.parametrize(
    ("path", "mime"),
    [
        ("MLmodel", "text/plain"),
        ("mlproject", "text/plain"),
        ("plot.png", "image/png"),
        ("metrics.json", "text/plain"),
        ("table.csv", "text/plain"),
    ],
)
def test_get_artifact_chooses_the_content_type_as_mlflow(api, run_with_files, path, mime):
    run_id, files = run_with_files
    response = requests.get(f"{api}/get-artifact", params={"run_id": run_id, "path": path}, timeout=60)
    assert response.status_code == 200
    assert response.content == files[path]
    assert response.headers["Content-Type"].split(";")[0] == mime


def test_paths_that_leave_the_artifact_root_are_refused_before_any_lookup(api, run_with_files):
    run_id, _ = run_with_files
    response = requests.get(f"{api}/get-artifact", params={"run_id": run_id, "path": "../path"}, timeout=60)
    assert response.status_code == 400
    assert mlflow_error(response) == INVALID_PATH
    # The model does not exist, and the URL has MLflow's own test's doubled slash.
    response = requests.get(
        f"{api}//model-versions/get-artifact", params={"name": "model", "version": 1, "path": "../path"}, timeout=60
    )
    assert response.status_code == 400
    assert mlflow_error(response) == INVALID_PATH


def test_get_artifact_of_an_unknown_run_is_404(api):
    response = requests.get(
        f"{api}/get-artifact", params={"run_id": "0123456789abcdef0123456789abcdef", "path": "x.txt"}, timeout=60
    )
    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_model_version_files_are_downloadable(api, client, run_with_files):
    run_id, files = run_with_files
    name = unique_name("ui-model")
    client.create_registered_model(name)
    # The run's own artifact location: a source every server can serve files from.
    source = f"{client.get_run(run_id).info.artifact_uri}/model"
    client.create_model_version(name, source, run_id)
    response = requests.get(
        f"{api}/model-versions/get-artifact", params={"name": name, "version": 1, "path": "MLmodel"}, timeout=60
    )
    assert response.status_code == 200
    assert response.content == files["MLmodel"]
    assert response.headers["Content-Type"].split(";")[0] == "text/plain"
    assert response.headers["Content-Disposition"] == "attachment; filename=MLmodel"


def test_upload_artifact_rejects_incomplete_requests_in_order(api, client, experiment):
    run = client.create_run(experiment[1])
    url = f"{api}/ajax-api/2.0/mlflow/upload-artifact"
    cases = [
        ({}, None, "Request must specify"),
        ({"run_uuid": run.info.run_id}, None, "Request must specify path."),
        ({"run_uuid": run.info.run_id, "path": ""}, None, "Request must specify path."),
        ({"run_uuid": run.info.run_id, "path": "../test.txt"}, None, "Invalid path"),
        ({"run_uuid": run.info.run_id, "path": "test.txt"}, None, "Request must specify data."),
    ]
    for params, data, message in cases:
        response = requests.post(url, params=params, data=data, timeout=60)
        assert response.status_code == 400, message
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert message in response.json()["message"]
        if message == "Request must specify":
            # MLflow's tests expect "... run_uuid."; MLflow 3.18 says "run_id or run_uuid".
            assert "run_uuid" in response.json()["message"]


def test_an_uploaded_file_is_listed_and_downloadable_through_the_client(api, client, experiment, tmp_path):
    run = client.create_run(experiment[1])
    response = requests.post(
        f"{api}/ajax-api/2.0/mlflow/upload-artifact",
        params={"run_uuid": run.info.run_id, "path": "uploads/hello.txt"},
        data="hello world",
        timeout=60,
    )
    assert response.status_code == 200
    assert [f.path for f in client.list_artifacts(run.info.run_id, "uploads")] == ["uploads/hello.txt"]
    local = client.download_artifacts(run.info.run_id, "uploads/hello.txt", str(tmp_path))
    assert open(local).read() == "hello world"
    back = requests.get(f"{api}/get-artifact", params={"run_uuid": run.info.run_id, "path": "uploads/hello.txt"}, timeout=60)
    assert back.text == "hello world"


def test_upload_artifact_refuses_more_than_10_mb(api, client, experiment):
    run = client.create_run(experiment[1])
    response = requests.post(
        f"{api}/ajax-api/2.0/mlflow/upload-artifact",
        params={"run_uuid": run.info.run_id, "path": "big.bin"},
        data=b"\0" * (10 * 1024 * 1024 + 1),
        timeout=60,
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Artifact size is too large. Max size is 10MB."


PROMPTLAB_FIELDS = ["experiment_id", "prompt_template", "prompt_parameters", "model_route", "model_input", "mlflow_version"]


def test_create_promptlab_run_names_the_first_missing_field(api):
    complete = {
        "experiment_id": "123",
        "prompt_template": "my_prompt_template",
        "prompt_parameters": [{"key": "my_key", "value": "my_value"}],
        "model_route": "my_route",
        "model_input": "my_input",
        "mlflow_version": "1.0.0",
    }
    body: dict = {}
    for field in PROMPTLAB_FIELDS:
        response = requests.post(f"{api}/ajax-api/2.0/mlflow/runs/create-promptlab-run", json=body, timeout=60)
        assert response.status_code == 400
        assert mlflow_error(response) == {
            "error_code": "INVALID_PARAMETER_VALUE",
            "message": f"CreatePromptlabRun request must specify {field}.",
        }
        body[field] = complete[field]


def test_create_promptlab_run_records_the_prompt_as_a_finished_run(api, client, experiment):
    experiment_id = experiment[1]
    response = requests.post(
        f"{api}/ajax-api/2.0/mlflow/runs/create-promptlab-run",
        json={
            "experiment_id": experiment_id,
            "run_name": "my_run_name",
            "prompt_template": "Say {{ word }}",
            "prompt_parameters": [{"key": "word", "value": "hi"}],
            "model_route": "my_route",
            "model_parameters": [{"key": "temperature", "value": "0.1"}],
            "model_input": "Say hi",
            "model_output": "hi",
            "model_output_parameters": [{"key": "latency", "value": "100"}],
            "mlflow_version": "1.0.0",
            "user_id": "username",
            "start_time": 456,
        },
        timeout=60,
    )
    assert response.status_code == 200, response.text
    run_json = response.json()["run"]
    assert run_json["info"]["run_name"] == "my_run_name"
    assert run_json["info"]["status"] == "FINISHED"
    assert run_json["info"]["start_time"] == 456
    assert run_json["info"]["user_id"] == "username"
    run = client.get_run(run_json["info"]["run_id"])
    assert run.data.params["model_route"] == "my_route"
    assert run.data.params["prompt_template"] == "Say {{ word }}"
    assert run.data.params["temperature"] == "0.1"
    assert run.data.tags["mlflow.runSourceType"] == "PROMPT_ENGINEERING"
    assert run.data.tags["mlflow.loggedArtifacts"] == '[{"path": "eval_results_table.json", "type": "table"}]'
    table = requests.get(
        f"{api}/get-artifact", params={"run_id": run.info.run_id, "path": "eval_results_table.json"}, timeout=60
    ).json()
    assert table == {"columns": ["word", "prompt", "output", "latency"], "data": [["hi", "Say hi", "hi", "100"]]}
    assert "model" in [f.path for f in client.list_artifacts(run.info.run_id)]
    mlmodel = requests.get(f"{api}/get-artifact", params={"run_id": run.info.run_id, "path": "model/MLmodel"}, timeout=60)
    assert mlmodel.status_code == 200
    assert "mlflow.prompt.promptlab_model" in mlmodel.text
    # The model is a pyfunc model the client can load (predicting needs a deployments server).
    loaded = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert loaded.metadata.run_id == run.info.run_id
    assert [c.name for c in loaded.metadata.get_input_schema().inputs] == ["word"]


@only_mlflow3
def test_logged_model_artifacts_are_listed_and_downloadable(api, experiment):
    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input):
            return model_input

    info = mlflow.pyfunc.log_model(name="model", python_model=Echo())
    listing = requests.get(f"{api}/ajax-api/2.0/mlflow/logged-models/{info.model_id}/artifacts/directories", timeout=60)
    assert listing.status_code == 200
    assert "MLmodel" in [f["path"] for f in listing.json()["files"]]
    same = requests.get(f"{api}/api/2.0/mlflow/logged-models/{info.model_id}/artifacts/directories", timeout=60)
    assert same.json()["files"] == listing.json()["files"]
    file = requests.get(
        f"{api}/ajax-api/2.0/mlflow/logged-models/{info.model_id}/artifacts/files",
        params={"artifact_file_path": "MLmodel"},
        timeout=60,
    )
    assert file.status_code == 200
    assert info.model_id in file.text
    assert file.headers["Content-Type"].split(";")[0] == "text/plain"
    missing = requests.get(f"{api}/ajax-api/2.0/mlflow/logged-models/{info.model_id}/artifacts/files", timeout=60)
    assert missing.status_code == 400
    assert missing.json()["error_code"] == "BAD_REQUEST"
    assert json.loads(missing.text)["message"] == 'Request must include the "artifact_file_path" query parameter.'
