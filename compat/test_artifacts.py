"""Artifacts through the proxy (mlflow-artifacts:/ URIs): upload, list, download byte-identical."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import mlflow
import pytest
from _support import sha256_of
from mlflow.tracking import MlflowClient

MB = 1024 * 1024


def make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "readme.txt": b"hello artifacts\n",
        "empty.bin": b"",
        "data/values.csv": b"a,b\n1,2\n3,4\n",
        "data/blob.bin": os.urandom(300_000),
        "data/deeper/deepest/leaf.json": b'{"leaf": true}',
        "spaces and (parens)/file name.txt": b"spaces survive",
        "unicode/caf\u00e9-\u00fcber.txt": "na\u00efve \u2713".encode(),
    }
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return files


def test_a_directory_tree_is_listed_level_by_level_with_sizes(experiment, client, tmp_path):
    files = make_tree(tmp_path / "tree")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(tmp_path / "tree"), "tree")
    run_id = run.info.run_id

    top = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in top] == [("tree", True)]

    level = {f.path: f for f in client.list_artifacts(run_id, "tree")}
    assert set(level) == {
        "tree/readme.txt", "tree/empty.bin", "tree/data", "tree/spaces and (parens)", "tree/unicode",
    }
    assert level["tree/readme.txt"].file_size == len(files["readme.txt"])
    # Upstream omits file_size 0 on the wire (protobuf default), so the client reads None.
    assert level["tree/empty.bin"].file_size in (0, None)
    assert not level["tree/readme.txt"].is_dir
    assert level["tree/data"].is_dir and level["tree/data"].file_size is None

    data = {f.path: f for f in client.list_artifacts(run_id, "tree/data")}
    assert set(data) == {"tree/data/values.csv", "tree/data/blob.bin", "tree/data/deeper"}
    assert data["tree/data/blob.bin"].file_size == 300_000
    deepest = client.list_artifacts(run_id, "tree/data/deeper/deepest")
    assert [(f.path, f.file_size) for f in deepest] == [("tree/data/deeper/deepest/leaf.json", 14)]


def test_a_directory_tree_downloads_byte_identical(experiment, tmp_path):
    files = make_tree(tmp_path / "tree")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(tmp_path / "tree"), "tree")
    local = Path(
        mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="tree", dst_path=str(tmp_path / "down")
        )
    )
    got = {
        str(p.relative_to(local)).replace(os.sep, "/"): p.read_bytes()
        for p in local.rglob("*")
        if p.is_file()
    }
    assert got == files


def test_the_whole_run_downloads_and_single_nested_files_download(experiment, client, tmp_path):
    files = make_tree(tmp_path / "tree")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(tmp_path / "tree"))  # into the root
    run_id = run.info.run_id
    (tmp_path / "all").mkdir()  # MLflow 2 insists that the destination exists
    root = Path(client.download_artifacts(run_id, "", str(tmp_path / "all")))
    assert (root / "data" / "blob.bin").read_bytes() == files["data/blob.bin"]
    assert (root / "unicode" / "caf\u00e9-\u00fcber.txt").read_bytes() == files["unicode/caf\u00e9-\u00fcber.txt"]
    one = mlflow.artifacts.download_artifacts(
        artifact_uri=f"runs:/{run_id}/data/deeper/deepest/leaf.json", dst_path=str(tmp_path / "one")
    )
    assert Path(one).read_bytes() == files["data/deeper/deepest/leaf.json"]


def test_a_50_mb_random_file_round_trips_byte_identical(experiment, client, tmp_path):
    big = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(big, "wb") as f:
        for _ in range(50):
            chunk = os.urandom(MB)
            digest.update(chunk)
            f.write(chunk)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), "large")
    run_id = run.info.run_id
    listed = client.list_artifacts(run_id, "large")
    assert [(f.path, f.file_size) for f in listed] == [("large/big.bin", 50 * MB)]
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="large/big.bin", dst_path=str(tmp_path / "down")
    )
    assert os.path.getsize(local) == 50 * MB
    assert sha256_of(local) == digest.hexdigest()


def test_text_and_dict_artifacts_load_back(experiment):
    with mlflow.start_run() as run:
        mlflow.log_text("line one\nline two\n", "notes/notes.txt")
        mlflow.log_dict({"a": 1, "b": [1, 2, 3]}, "config.json")
    base = f"runs:/{run.info.run_id}"
    assert mlflow.artifacts.load_text(f"{base}/notes/notes.txt") == "line one\nline two\n"
    assert mlflow.artifacts.load_dict(f"{base}/config.json") == {"a": 1, "b": [1, 2, 3]}


def test_logging_the_same_artifact_path_again_overwrites_it(experiment, tmp_path):
    path = tmp_path / "model.txt"
    with mlflow.start_run() as run:
        path.write_text("first")
        mlflow.log_artifact(str(path))
        path.write_text("second, longer")
        mlflow.log_artifact(str(path))
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/model.txt") == "second, longer"
    listed = MlflowClient().list_artifacts(run.info.run_id)
    assert [(f.path, f.file_size) for f in listed] == [("model.txt", len("second, longer"))]


def test_listing_a_missing_directory_is_empty(experiment, client):
    with mlflow.start_run() as run:
        mlflow.log_text("x", "present.txt")
    assert client.list_artifacts(run.info.run_id, "absent") == []
    assert [f.path for f in mlflow.artifacts.list_artifacts(run_id=run.info.run_id)] == [
        "present.txt"
    ]


def test_run_artifacts_use_proxied_uris_and_land_under_the_artifacts_destination(
    experiment, server, tmp_path
):
    _, experiment_id = experiment
    with mlflow.start_run() as run:
        mlflow.log_text("on disk", "sub/file.txt")
    artifact_uri = MlflowClient().get_run(run.info.run_id).info.artifact_uri
    assert artifact_uri == f"mlflow-artifacts:/{experiment_id}/{run.info.run_id}/artifacts"
    if server.artifacts_dir is None:
        pytest.skip("external server without COMPAT_ARTIFACTS_DIR")
    on_disk = server.artifacts_dir / experiment_id / run.info.run_id / "artifacts" / "sub" / "file.txt"
    assert on_disk.read_text() == "on disk"


def test_an_artifact_logged_to_a_finished_run_is_still_accepted(experiment, client, tmp_path):
    # The proxy does not check run state: the client uploads straight to mlflow-artifacts.
    with mlflow.start_run() as run:
        pass
    (tmp_path / "late.txt").write_text("late")
    client.log_artifact(run.info.run_id, str(tmp_path / "late.txt"))
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["late.txt"]


@pytest.mark.parametrize("name", ["plot.png", "table.csv", "page.html", "script.js", "noext"])
def test_files_of_any_type_round_trip_unchanged(experiment, tmp_path, name):
    content = os.urandom(2048)
    (tmp_path / name).write_bytes(content)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / name))
    local = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path=name, dst_path=str(tmp_path / "down")
    )
    assert Path(local).read_bytes() == content
