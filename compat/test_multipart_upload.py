"""Large artifacts through the proxy's multipart upload API, as the client sends them when
MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD is on: create, parts (S3-sized, 5 MiB), complete. Against
Trove on S3 (scripts/test.sh's PostgreSQL + Swift run) the parts map onto S3's own multipart
upload and may be served by different worker processes."""

from __future__ import annotations

import os

import mlflow
import mlflow.store.artifact.http_artifact_repo as http_artifact_repo
from _support import SERVER_KIND, sha256_of

MB = 1024 * 1024


def test_a_large_artifact_goes_up_in_parts_and_downloads_byte_identical(experiment, client, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(MB))
    # S3's smallest part size: the last part (123 bytes) may be smaller, the others may not.
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * MB))
    # Prove the multipart path ran: the client silently falls back to one PUT when it cannot.
    completed = []
    original = http_artifact_repo.HttpArtifactRepository._try_multipart_upload

    def recording(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        completed.append(args[0])
        return result

    monkeypatch.setattr(http_artifact_repo.HttpArtifactRepository, "_try_multipart_upload", recording)
    local = tmp_path / "weights.bin"
    local.write_bytes(os.urandom(11 * MB + 123))

    with mlflow.start_run() as run:
        mlflow.log_artifact(str(local), "model")

    # Upstream proxies multipart uploads only for object stores (S3, GCS, Azure); over a local
    # folder it answers NOT_IMPLEMENTED and the client falls back to one PUT. Trove does both.
    if SERVER_KIND == "trove":
        assert len(completed) == 1
    [info] = client.list_artifacts(run.info.run_id, "model")
    assert (info.path, info.file_size) == ("model/weights.bin", 11 * MB + 123)
    downloaded = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="model/weights.bin",
                                                     dst_path=str(tmp_path / "out"))
    assert sha256_of(downloaded) == sha256_of(local)
