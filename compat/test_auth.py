"""Projects, credentials and permissions with the real MLflow client against `trove server --auth`.

The server is prepared with the trove CLI (see the ``auth_server`` fixture in conftest.py): project
``fraud`` with alice (developer) and rita (reporter), project ``other`` with mallory (owner) and alice
(reporter), and access tokens for alice.
"""

from __future__ import annotations

import contextlib
import os

import mlflow
import pytest
import requests
from _support import MLFLOW_MAJOR, error_code, unique_name
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

CREDENTIAL_VARS = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_WORKSPACE")


@contextlib.contextmanager
def tracking(uri: str, *, token: str | None = None, user: tuple[str, str] | None = None, workspace: str | None = None):
    """Points the fluent API and new MlflowClients at `uri` with the given credential only."""
    saved = {name: os.environ.get(name) for name in (*CREDENTIAL_VARS, "MLFLOW_TRACKING_URI")}
    previous_uri = mlflow.get_tracking_uri()
    for name in CREDENTIAL_VARS:
        os.environ.pop(name, None)
    if token is not None:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    if user is not None:
        os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = user
    if workspace is not None:
        os.environ["MLFLOW_WORKSPACE"] = workspace
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    try:
        yield MlflowClient(tracking_uri=uri)
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        mlflow.set_tracking_uri(previous_uri)


def _train_and_log(tmp_path) -> tuple[str, str]:
    """The quick-start flow; returns (run_id, artifact_uri)."""
    mlflow.set_experiment(unique_name("auth"))
    with mlflow.start_run() as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_metric("acc", 0.9, step=1)
        notes = tmp_path / "notes.txt"
        notes.write_text("trained with auth on")
        mlflow.log_artifact(str(notes), artifact_path="docs")
        mlflow.log_text("flavors: {}\n", "model/MLmodel")
    return run.info.run_id, run.info.artifact_uri


def test_an_access_token_and_the_projects_base_path_carry_the_whole_quick_start(auth_server, tmp_path):
    uri = f"{auth_server.url}/projects/fraud"
    with tracking(uri, token=auth_server.tokens["alice"]) as client:
        run_id, artifact_uri = _train_and_log(tmp_path)
        fetched = client.get_run(run_id)
        assert fetched.data.params == {"lr": "0.01"}
        assert fetched.data.metrics == {"acc": 0.9}
        # The project's artifacts live under its own prefix, reached through the same base path.
        assert artifact_uri.startswith(f"mlflow-artifacts:/projects/{auth_server.project_ids['fraud']}/")
        files = {f.path for f in client.list_artifacts(run_id, "docs")}
        assert files == {"docs/notes.txt"}
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="docs/notes.txt", dst_path=str(tmp_path / "dl"))
        assert open(local).read() == "trained with auth on"


def test_user_name_and_password_work_as_mlflow_basic_auth(auth_server, tmp_path):
    with tracking(f"{auth_server.url}/projects/fraud", user=("alice", auth_server.passwords["alice"])) as client:
        run_id, _ = _train_and_log(tmp_path)
        assert client.get_run(run_id).data.params["lr"] == "0.01"


def test_the_gitlab_url_form_registers_and_downloads_a_model(auth_server, tmp_path):
    project_id = auth_server.project_ids["fraud"]
    uri = f"{auth_server.url}/api/v4/projects/{project_id}/ml/mlflow"
    with tracking(uri, token=auth_server.tokens["alice"]) as client:
        run_id, _ = _train_and_log(tmp_path)
        name = unique_name("gitlab-model")
        version = mlflow.register_model(f"runs:/{run_id}/model", name)
        assert version.version == "1"
        got = client.get_model_version(name, "1")
        assert got.run_id == run_id
        local = mlflow.artifacts.download_artifacts(f"models:/{name}/1", dst_path=str(tmp_path / "model"))
        assert open(os.path.join(local, "MLmodel")).read() == "flavors: {}\n"
    # The same project through the url-encoded name and through /projects/<name>.
    with tracking(f"{auth_server.url}/api/v4/projects/fraud/ml/mlflow", token=auth_server.tokens["alice"]) as client:
        assert client.get_registered_model(name).name == name
    with tracking(f"{auth_server.url}/projects/fraud", token=auth_server.tokens["alice"]) as client:
        assert client.get_latest_versions(name)[0].version == "1"


@pytest.mark.skipif(MLFLOW_MAJOR < 3, reason="the workspace header (MLFLOW_WORKSPACE) exists only in the MLflow 3 client")
def test_mlflow_workspace_selects_the_project_on_the_bare_url(auth_server, tmp_path):
    with tracking(auth_server.url, token=auth_server.tokens["alice"], workspace="fraud") as client:
        run_id, artifact_uri = _train_and_log(tmp_path)
        assert artifact_uri.startswith(f"mlflow-artifacts:/projects/{auth_server.project_ids['fraud']}/")
        assert client.get_run(run_id).info.run_id == run_id


def test_no_credential_is_a_401_the_client_reports_as_unauthenticated(auth_server):
    with tracking(f"{auth_server.url}/projects/fraud") as client:
        with pytest.raises(MlflowException) as excinfo:
            client.search_experiments()
        assert error_code(excinfo.value) == "UNAUTHENTICATED"
    raw = requests.get(f"{auth_server.url}/api/2.0/mlflow/experiments/search", timeout=10)
    assert raw.status_code == 401
    assert raw.headers["WWW-Authenticate"].startswith('Basic realm="trove"')
    assert raw.json()["error_code"] == "UNAUTHENTICATED"


def test_bad_credentials_are_401s(auth_server):
    revoked = "trove_pat_" + "x" * 43
    with tracking(f"{auth_server.url}/projects/fraud", token=revoked) as client:
        with pytest.raises(MlflowException) as excinfo:
            client.search_experiments()
        assert error_code(excinfo.value) == "UNAUTHENTICATED"
        assert revoked not in str(excinfo.value)
    with tracking(f"{auth_server.url}/projects/fraud", user=("alice", "not-her-password")) as client:
        with pytest.raises(MlflowException) as excinfo:
            client.search_experiments()
        assert error_code(excinfo.value) == "UNAUTHENTICATED"
        assert "not-her-password" not in str(excinfo.value)


def test_a_reporter_reads_but_writing_is_a_403_permission_denied(auth_server, tmp_path):
    with tracking(f"{auth_server.url}/projects/fraud", token=auth_server.tokens["alice"]):
        run_id, _ = _train_and_log(tmp_path)
    with tracking(f"{auth_server.url}/projects/fraud", user=("rita", auth_server.passwords["rita"])) as client:
        assert client.get_run(run_id).data.params["lr"] == "0.01"
        with pytest.raises(MlflowException) as excinfo:
            client.create_experiment(unique_name("rita"))
        assert error_code(excinfo.value) == "PERMISSION_DENIED"
        assert "reporter" in str(excinfo.value)
        with pytest.raises(MlflowException) as excinfo:
            client.log_param(run_id, "x", "1")
        assert error_code(excinfo.value) == "PERMISSION_DENIED"


def test_read_tokens_read_and_project_tokens_stay_in_their_project(auth_server, tmp_path):
    with tracking(f"{auth_server.url}/projects/fraud", token=auth_server.tokens["alice"]):
        run_id, _ = _train_and_log(tmp_path)
    with tracking(f"{auth_server.url}/projects/fraud", token=auth_server.tokens["alice-read"]) as client:
        assert client.get_run(run_id).info.run_id == run_id
        with pytest.raises(MlflowException) as excinfo:
            client.set_tag(run_id, "k", "v")
        assert error_code(excinfo.value) == "PERMISSION_DENIED"
    with tracking(f"{auth_server.url}/projects/fraud", token=auth_server.tokens["alice-other-only"]) as client:
        with pytest.raises(MlflowException) as excinfo:
            client.get_run(run_id)
        assert error_code(excinfo.value) == "PERMISSION_DENIED"


def test_runs_and_models_of_another_project_do_not_exist_even_when_their_ids_are_known(auth_server, tmp_path):
    with tracking(f"{auth_server.url}/projects/fraud", token=auth_server.tokens["alice"]):
        run_id, artifact_uri = _train_and_log(tmp_path)
    with tracking(f"{auth_server.url}/projects/other", user=("mallory", auth_server.passwords["mallory"])) as client:
        with pytest.raises(MlflowException) as excinfo:
            client.get_run(run_id)
        assert error_code(excinfo.value) == "RESOURCE_DOES_NOT_EXIST"
        # (list_artifacts is not tried here: the client caches the artifact repository of a run
        # it logged to, with that project's URL; the raw request below checks the proxy.)
    # Not even the project's name is confirmed to a non-member.
    with tracking(f"{auth_server.url}/projects/fraud", user=("mallory", auth_server.passwords["mallory"])) as client:
        with pytest.raises(MlflowException) as excinfo:
            client.get_run(run_id)
        assert error_code(excinfo.value) == "RESOURCE_DOES_NOT_EXIST"
        assert "does not exist or you are not a member" in str(excinfo.value)
    path = artifact_uri.replace("mlflow-artifacts:/", "")
    raw = requests.get(
        f"{auth_server.url}/projects/other/api/2.0/mlflow-artifacts/artifacts/{path}/docs/notes.txt",
        auth=("mallory", auth_server.passwords["mallory"]),
        timeout=10,
    )
    assert raw.status_code == 404


def test_the_basic_auth_app_client_manages_users(auth_server):
    from mlflow.server import get_app_client

    with tracking(auth_server.url, user=("admin", auth_server.passwords["admin"])):
        auth = get_app_client("basic-auth", tracking_uri=auth_server.url)
        name = unique_name("user")
        user = auth.create_user(name, "First-Password-1")
        assert user.username == name and user.is_admin is False
        assert auth.get_user(name).id == user.id
        auth.update_user_password(name, "Second-Password-2")
        auth.update_user_admin(name, True)
        assert auth.get_user(name).is_admin is True
    with tracking(auth_server.url, user=(name, "Second-Password-2")):
        assert get_app_client("basic-auth", tracking_uri=auth_server.url).get_user(name).is_admin is True
    with tracking(auth_server.url, user=("admin", auth_server.passwords["admin"])):
        auth = get_app_client("basic-auth", tracking_uri=auth_server.url)
        auth.delete_user(name)
        with pytest.raises(MlflowException) as excinfo:
            auth.get_user(name)
        assert error_code(excinfo.value) == "RESOURCE_DOES_NOT_EXIST"
    with tracking(auth_server.url, user=("rita", auth_server.passwords["rita"])):
        with pytest.raises(MlflowException) as excinfo:
            get_app_client("basic-auth", tracking_uri=auth_server.url).create_user(unique_name("x"), "Whatever-Pass-1")
        assert error_code(excinfo.value) == "PERMISSION_DENIED"


@pytest.mark.skipif(MLFLOW_MAJOR >= 3, reason="MLflow 3.18's auth client dropped the per-experiment permission calls")
def test_experiment_permissions_map_onto_project_roles(auth_server):
    from mlflow.server import get_app_client

    uri = f"{auth_server.url}/projects/fraud"
    with tracking(uri, user=("admin", auth_server.passwords["admin"])) as client:
        experiment_id = client.create_experiment(unique_name("perm"))
        auth = get_app_client("basic-auth", tracking_uri=uri)
        name = unique_name("perm-user")
        auth.create_user(name, "Perm-Password-1")
        granted = auth.create_experiment_permission(experiment_id, name, "EDIT")
        assert granted.permission == "EDIT"
        assert auth.get_experiment_permission(experiment_id, name).permission == "EDIT"
        auth.update_experiment_permission(experiment_id, name, "READ")
        assert auth.get_experiment_permission(experiment_id, name).permission == "READ"
    with tracking(uri, user=(name, "Perm-Password-1")) as client:
        assert client.get_experiment(experiment_id).experiment_id == experiment_id
        with pytest.raises(MlflowException) as excinfo:
            client.create_run(experiment_id)
        assert error_code(excinfo.value) == "PERMISSION_DENIED"
    with tracking(uri, user=("admin", auth_server.passwords["admin"])):
        get_app_client("basic-auth", tracking_uri=uri).delete_experiment_permission(experiment_id, name)
    with tracking(uri, user=(name, "Perm-Password-1")) as client:
        with pytest.raises(MlflowException) as excinfo:
            client.get_experiment(experiment_id)
        assert error_code(excinfo.value) == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.skipif(MLFLOW_MAJOR < 3, reason="grant_user_permission is MLflow 3's unified permission API")
def test_grant_user_permission_maps_onto_project_roles(auth_server):
    from mlflow.server import get_app_client

    uri = f"{auth_server.url}/projects/fraud"
    with tracking(uri, user=("admin", auth_server.passwords["admin"])) as client:
        experiment_id = client.create_experiment(unique_name("grant"))
        auth = get_app_client("basic-auth", tracking_uri=uri)
        name = unique_name("grant-user")
        auth.create_user(name, "Grant-Password-1")
        auth.grant_user_permission(name, "experiment", experiment_id, "EDIT")
        result = auth.get_user_permission(name, "experiment", experiment_id)
        assert (result.allowed, result.permission) == (True, "EDIT")
    with tracking(uri, user=(name, "Grant-Password-1")) as client:
        run = client.create_run(experiment_id)
        assert run.info.experiment_id == experiment_id
    with tracking(uri, user=("admin", auth_server.passwords["admin"])):
        get_app_client("basic-auth", tracking_uri=uri).revoke_user_permission(name, "workspace", "fraud")
    with tracking(uri, user=(name, "Grant-Password-1")) as client:
        with pytest.raises(MlflowException) as excinfo:
            client.get_experiment(experiment_id)
        assert error_code(excinfo.value) == "RESOURCE_DOES_NOT_EXIST"
