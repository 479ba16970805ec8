"""Field-by-field read-back through the real client, shared by the migration tests (`trove import`
from a server or an mlruns/ folder, `trove export --to`): the same objects on two sides, compared
as the client sees them. Ids may differ between the sides (MLflow mints its own on export): every
helper takes the id on each side."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Iterable

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient

RUN_INFO_FIELDS = ("run_name", "status", "start_time", "end_time", "user_id", "lifecycle_stage")


def history(client: MlflowClient, run_id: str, key: str) -> list[tuple]:
    """Every point of a metric, as (step, timestamp, value) sorted, NaN comparable."""
    return sorted((m.step, m.timestamp, "nan" if np.isnan(m.value) else m.value) for m in client.get_metric_history(run_id, key))


def artifact_listing(client: MlflowClient, run_id: str, path: str | None = None) -> list[tuple]:
    """Every file of a run below `path`, as (path, size) sorted, folders walked."""
    out: list[tuple] = []
    for f in client.list_artifacts(run_id, path):
        out.extend(artifact_listing(client, run_id, f.path) if f.is_dir else [(f.path, f.file_size)])
    return sorted(out)


def artifact_sha256(tracking_uri: str, run_id: str, path: str, dst: Path) -> str:
    """The SHA-256 of one file of a run, downloaded through the client."""
    got = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path, tracking_uri=tracking_uri, dst_path=str(dst)))
    return hashlib.sha256(got.read_bytes()).hexdigest()


def assert_runs_match(src: MlflowClient, dst: MlflowClient, runs: Iterable[tuple[str, str, str]], *, same_ids: bool,
                      expected_tags: Callable[[str, dict], dict] = lambda _src_id, tags: tags) -> None:
    """Runs given as (label, id on the source, id on the target): info fields (and the id when kept),
    params, and tags (as `expected_tags` says the source's should read on the target)."""
    fields = (("run_id",) if same_ids else ()) + RUN_INFO_FIELDS
    for label, a_id, b_id in runs:
        a, b = src.get_run(a_id), dst.get_run(b_id)
        for attr in fields:
            assert getattr(b.info, attr) == getattr(a.info, attr), (label, attr)
        assert b.data.params == a.data.params, label
        assert b.data.tags == expected_tags(a_id, dict(a.data.tags)), label


def assert_versions_match(src: MlflowClient, dst: MlflowClient, name: str, versions: Iterable[str], fields: Iterable[str]) -> None:
    """The given versions of a registered model, read with get (which carries aliases), field by field."""
    fields = tuple(fields)
    for version in versions:
        a, b = src.get_model_version(name, version), dst.get_model_version(name, version)
        for attr in fields:
            assert getattr(b, attr) == getattr(a, attr), (version, attr)


def predictions(tracking_uri: str, uris: Iterable[str], X) -> list[list]:
    """What the model at each URI predicts for X, loaded through the client from `tracking_uri`."""
    old = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    try:
        return [list(mlflow.pyfunc.load_model(uri).predict(X)) for uri in uris]
    finally:
        mlflow.set_tracking_uri(old)
