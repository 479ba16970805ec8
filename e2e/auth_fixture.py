"""Fills project `alpha` of an auth-enabled Trove for e2e/auth.spec.ts, through the real MLflow client.

The client reaches the project by the tracking URI's base path and signs in with an access token,
as a user of `trove server --auth` would:

    MLFLOW_TRACKING_URI=http://127.0.0.1:5077/projects/alpha MLFLOW_TRACKING_TOKEN=trove_pat_... \
        .venvs/mlflow3/bin/python e2e/auth_fixture.py out.json

Writes the ids the spec needs as JSON to the given file.
"""

import json
import sys

import mlflow


def main(out_path):
    experiment = mlflow.set_experiment("alpha-experiment")
    with mlflow.start_run(run_name="alpha-run") as run:
        mlflow.log_params({"penalty": "l2", "C": 1.0})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_text("notes of project alpha\n", "notes.txt")
    mlflow.MlflowClient().create_registered_model("alpha-model", description="A model of project **alpha**.")
    ids = {"experiment_id": experiment.experiment_id, "run_id": run.info.run_id, "model_name": "alpha-model"}
    with open(out_path, "w") as f:
        json.dump(ids, f)
    print(json.dumps(ids))


if __name__ == "__main__":
    main(sys.argv[1])
