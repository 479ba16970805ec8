"""Fills a Trove server with the data the browser tests need, through the real MLflow client.

Run with the project's MLflow 3 venv, MLFLOW_TRACKING_URI pointing at the server:

    MLFLOW_TRACKING_URI=http://127.0.0.1:5077 .venvs/mlflow3/bin/python e2e/fixture.py out.json

Writes the ids the specs need as JSON to the given file.
"""

import json
import os
import struct
import sys
import tempfile
import time
import zlib

import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def tiny_png(width=48, height=32):
    """A small gradient PNG, written by hand (no imaging library needed)."""
    rows = b""
    for y in range(height):
        rows += b"\x00" + b"".join(bytes((x * 5 % 256, y * 8 % 256, 160)) for x in range(width))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def main(out_path):
    client = MlflowClient()
    mlflow.set_experiment("e2e-iris")
    X, y = load_iris(return_X_y=True, as_frame=True)
    ids = {"experiment_name": "e2e-iris"}

    with mlflow.start_run(run_name="sweep") as parent:
        ids["parent_run_id"] = parent.info.run_id
        mlflow.set_tag("mlflow.note.content", "A **small** sweep over the penalty.")
        children = []
        for i, (penalty, c) in enumerate([("l2", 1.0), ("l2", 0.1), ("l1", 1.0)]):
            with mlflow.start_run(run_name=f"trial-{penalty}-{c}", nested=True) as child:
                children.append(child.info.run_id)
                mlflow.log_params({"penalty": penalty, "C": c, "solver": "liblinear"})
                model = LogisticRegression(penalty=penalty, C=c, solver="liblinear", max_iter=200).fit(X, y)
                accuracy = float(model.score(X, y))
                now = int(time.time() * 1000)
                history = [mlflow.entities.Metric("loss", 1.0 / (s + 1) + 0.05 * i, now + s, s) for s in range(50)]
                history += [mlflow.entities.Metric("accuracy", accuracy * (1 - 0.5 / (s + 1)), now + s, s) for s in range(50)]
                client.log_batch(child.info.run_id, metrics=history)
                mlflow.set_tag("team", "vision" if i % 2 == 0 else "nlp")
                if i == 1:
                    # The run the browser test promotes: a plain model, no signature.
                    mlflow.sklearn.log_model(model, name="model")
                if i == 0:
                    ids["model_run_id"] = child.info.run_id
                    dataset = mlflow.data.from_pandas(X.assign(target=y), name="iris", targets="target")
                    mlflow.log_input(dataset, context="training")
                    signature = mlflow.models.infer_signature(X, model.predict(X))
                    mlflow.sklearn.log_model(model, name="model", signature=signature, input_example=X.head(3))
                    with tempfile.TemporaryDirectory() as tmp:
                        files = {
                            "notes.txt": "plain text notes\nsecond line\n",
                            "config.json": json.dumps({"penalty": penalty, "C": c, "layers": [4, 8, 3]}),
                            "config.yaml": "penalty: l2\nC: 1.0\nlayers:\n  - 4\n  - 8\n",
                            "predictions.csv": "id,label,score\n1,setosa,0.98\n2,versicolor,0.75\n3,\"vir,ginica\",0.66\n",
                        }
                        for name, text in files.items():
                            with open(os.path.join(tmp, name), "w") as f:
                                f.write(text)
                        os.makedirs(os.path.join(tmp, "plots"))
                        with open(os.path.join(tmp, "plots", "curve.png"), "wb") as f:
                            f.write(tiny_png())
                        mlflow.log_artifacts(tmp)
        ids["child_run_ids"] = children

    # A second experiment for the registry: the model's [model] experiment with candidates.
    client.create_registered_model("iris-classifier", description="Classifies **iris** flowers.")
    mv1 = client.create_model_version("iris-classifier", f"runs:/{ids['model_run_id']}/model", run_id=ids["model_run_id"])
    client.set_registered_model_alias("iris-classifier", "production", mv1.version)
    ids["model_name"] = "iris-classifier"
    ids["first_version"] = mv1.version
    mlflow.set_experiment("[model]iris-classifier")
    with mlflow.start_run(run_name="candidate-1") as candidate:
        mlflow.log_param("C", 0.5)
        mlflow.log_metric("accuracy", 0.97)
        mlflow.sklearn.log_model(LogisticRegression(max_iter=200).fit(X, y), name="model")
        ids["candidate_run_id"] = candidate.info.run_id

    # A run left RUNNING for the live-update test.
    mlflow.set_experiment("e2e-iris")
    live = client.create_run(mlflow.get_experiment_by_name("e2e-iris").experiment_id, run_name="live-run")
    now = int(time.time() * 1000)
    client.log_batch(live.info.run_id, metrics=[mlflow.entities.Metric("live_loss", 1.0 / (s + 1), now + s, s) for s in range(5)])
    ids["live_run_id"] = live.info.run_id
    ids["experiment_id"] = mlflow.get_experiment_by_name("e2e-iris").experiment_id

    with open(out_path, "w") as f:
        json.dump(ids, f, indent=2)
    print(json.dumps(ids))


if __name__ == "__main__":
    main(sys.argv[1])
