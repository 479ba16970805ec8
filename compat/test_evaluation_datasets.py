"""MLflow 3 evaluation datasets (``mlflow.genai.datasets``) with the real client.

Create, get (by id and by name), search (experiments, filters, order, paging), tags, experiment
links, records merged by their inputs (from dicts and from a pandas DataFrame), ``to_df()``,
record paging and deletion. Every expectation here was checked against the upstream server
(COMPAT_SERVER=mlflow). The 2.x client has no such API, so the module skips there.
"""

from __future__ import annotations

import json

import mlflow
import pytest
import requests
from _support import MLFLOW_MAJOR, error_code, unique_name
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.skipif(
    MLFLOW_MAJOR < 3, reason="evaluation datasets (mlflow.genai.datasets) exist only in MLflow 3"
)

TO_DF_COLUMNS = [
    "inputs",
    "outputs",
    "expectations",
    "tags",
    "source_type",
    "source_id",
    "source",
    "created_time",
    "dataset_record_id",
]


@pytest.fixture
def datasets():
    from mlflow.genai import datasets as genai_datasets

    return genai_datasets


def _new_experiment(client: MlflowClient) -> str:
    return client.create_experiment(unique_name("eval-ds"))


def _records_page(api: str, dataset_id: str, max_results: int, page_token: str | None = None):
    params = {"max_results": max_results}
    if page_token:
        params["page_token"] = page_token
    resp = requests.get(f"{api}/api/3.0/mlflow/datasets/{dataset_id}/records", params=params)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return json.loads(body["records"]), body.get("next_page_token")


def test_created_dataset_is_read_back_by_id_and_by_name_with_its_tags_and_experiments(
    client, datasets
):
    exp1, exp2 = _new_experiment(client), _new_experiment(client)
    name = unique_name("golden")

    created = datasets.create_dataset(
        name=name, experiment_id=[exp1, exp2], tags={"team": "ml", "stage": "dev"}
    )

    assert created.dataset_id.startswith("d-") and len(created.dataset_id) == 34
    assert created.name == name
    assert sorted(created.experiment_ids) == sorted([exp1, exp2])
    assert created.tags["team"] == "ml" and created.tags["stage"] == "dev"
    # The client adds the user; the server takes creator and last updater from it.
    assert created.tags["mlflow.user"]
    assert created.created_by == created.tags["mlflow.user"]
    assert created.last_updated_by == created.created_by
    assert len(created.digest) == 8
    assert created.created_time == created.last_update_time
    assert created.schema is None and created.profile is None

    by_id = datasets.get_dataset(dataset_id=created.dataset_id)
    assert by_id.dataset_id == created.dataset_id
    assert by_id.tags == created.tags
    assert by_id.digest == created.digest
    # Experiment ids are loaded lazily (GET .../experiment-ids).
    assert sorted(by_id.experiment_ids) == sorted([exp1, exp2])

    by_name = datasets.get_dataset(name=name)
    assert by_name.dataset_id == created.dataset_id


def test_merge_records_inserts_then_merges_by_inputs_and_to_df_has_mlflows_columns(
    client, datasets
):
    exp = _new_experiment(client)
    ds = datasets.create_dataset(name=unique_name("qa"), experiment_id=exp)
    digest_before = ds.digest

    ds.merge_records(
        [
            {
                "inputs": {"question": "2+2?"},
                "expectations": {"answer": "4", "difficulty": "easy"},
                "tags": {"kind": "math"},
            },
            {"inputs": {"question": "capital of France?"}, "expectations": {"answer": "Paris"}},
        ]
    )
    ds.merge_records(
        [{"inputs": {"question": "2+2?"}, "expectations": {"answer": "four"}, "tags": {"v": "2"}}]
    )

    df = ds.to_df()
    assert list(df.columns) == TO_DF_COLUMNS
    assert len(df) == 2
    rows = {row["inputs"]["question"]: row for row in df.to_dict("records")}
    math = rows["2+2?"]
    # Expectations and tags are merged key by key; the rest of the record stays.
    assert math["expectations"] == {"answer": "four", "difficulty": "easy"}
    assert math["tags"]["kind"] == "math" and math["tags"]["v"] == "2"
    assert math["tags"]["mlflow.user"]
    assert math["outputs"] == {}
    assert math["source_type"] == "HUMAN"
    assert math["source"].to_dict() == {"source_type": "HUMAN", "source_data": {}}
    assert math["dataset_record_id"].startswith("dr-")
    assert isinstance(math["created_time"], int)

    fresh = datasets.get_dataset(dataset_id=ds.dataset_id)
    assert json.loads(fresh.profile) == {"num_records": 2}
    assert json.loads(fresh.schema) == {
        "inputs": {"question": "string"},
        "outputs": {},
        "expectations": {"answer": "string", "difficulty": "string"},
        "version": "1.0",
    }
    assert fresh.digest != digest_before
    assert fresh.last_update_time >= fresh.created_time


def test_upsert_answers_inserted_and_updated_counts(client, datasets, api):
    ds = datasets.create_dataset(name=unique_name("counts"), experiment_id=_new_experiment(client))
    url = f"{api}/api/3.0/mlflow/datasets/{ds.dataset_id}/records"
    first = [
        {"inputs": {"q": "a", "n": 1}, "expectations": {"x": 1}},
        {"inputs": {"q": "b", "n": 1}, "expectations": {"x": 2}},
    ]
    resp = requests.post(url, json={"records": json.dumps(first)})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"inserted_count": 2, "updated_count": 0}

    # Same inputs with keys in another order: still the same record.
    second = [{"inputs": {"n": 1, "q": "a"}, "expectations": {"y": 3}}, {"inputs": {"q": "c"}}]
    resp = requests.post(url, json={"records": json.dumps(second)})
    assert resp.json() == {"inserted_count": 1, "updated_count": 1}

    resp = requests.post(
        f"{api}/api/3.0/mlflow/datasets/d-{'0' * 32}/records", json={"records": json.dumps(first)}
    )
    assert resp.status_code != 200


def test_merge_records_from_a_dataframe_keeps_python_number_types(client, datasets):
    import pandas as pd

    ds = datasets.create_dataset(name=unique_name("df"), experiment_id=_new_experiment(client))
    frame = pd.DataFrame(
        [
            {"inputs": {"x": 1, "y": 1.0}, "expectations": {"score": 0.5}},
            {"inputs": {"x": 2, "y": 2.5}, "expectations": {"score": 1.0}},
        ]
    )
    ds.merge_records(frame)

    df = ds.to_df().sort_values("created_time")
    inputs = sorted(df["inputs"].tolist(), key=lambda i: i["x"])
    assert inputs == [{"x": 1, "y": 1.0}, {"x": 2, "y": 2.5}]
    assert isinstance(inputs[0]["x"], int)
    assert isinstance(inputs[0]["y"], float)
    schema = json.loads(datasets.get_dataset(dataset_id=ds.dataset_id).schema)
    assert schema["inputs"] == {"x": "integer", "y": "float"}
    assert schema["expectations"] == {"score": "float"}


def test_records_with_a_trace_source_carry_the_trace_id_as_source_id(client, datasets):
    ds = datasets.create_dataset(name=unique_name("src"), experiment_id=_new_experiment(client))
    ds.merge_records(
        [
            {
                "inputs": {"q": "from a trace"},
                "source": {"source_type": "TRACE", "source_data": {"trace_id": "tr-abc123"}},
            },
            {
                "inputs": {"q": "from a document"},
                "source": {"source_type": "document", "source_data": {"source_id": "doc-7"}},
            },
        ]
    )
    rows = {r["inputs"]["q"]: r for r in ds.to_df().to_dict("records")}
    assert rows["from a trace"]["source_type"] == "TRACE"
    assert rows["from a trace"]["source_id"] == "tr-abc123"
    assert rows["from a document"]["source_type"] == "DOCUMENT"
    assert rows["from a document"]["source_id"] == "doc-7"


def test_records_are_paged_in_creation_order_and_to_df_reads_every_page(client, datasets, api):
    ds = datasets.create_dataset(name=unique_name("pages"), experiment_id=_new_experiment(client))
    ds.merge_records([{"inputs": {"i": i}} for i in range(5)])

    seen, token, pages = [], None, 0
    while True:
        records, token = _records_page(api, ds.dataset_id, 2, token)
        pages += 1
        assert len(records) <= 2
        seen.extend(records)
        if not token:
            break
    assert pages == 3
    assert len({r["dataset_record_id"] for r in seen}) == 5
    keys = [(r["created_time"], r["dataset_record_id"]) for r in seen]
    assert keys == sorted(keys)
    assert sorted(r["inputs"]["i"] for r in seen) == list(range(5))
    assert len(ds.to_df()) == 5


def test_delete_records_removes_them_and_updates_the_profile(client, datasets):
    ds = datasets.create_dataset(name=unique_name("del"), experiment_id=_new_experiment(client))
    ds.merge_records([{"inputs": {"i": i}} for i in range(3)])
    ids = ds.to_df()["dataset_record_id"].tolist()

    assert ds.delete_records(ids[:2]) == 2

    fresh = datasets.get_dataset(dataset_id=ds.dataset_id)
    assert fresh.to_df()["dataset_record_id"].tolist() == ids[2:]
    assert json.loads(fresh.profile) == {"num_records": 1}


def test_search_datasets_by_experiment_filter_order_and_pages(client, datasets):
    exp1, exp2 = _new_experiment(client), _new_experiment(client)
    prefix = unique_name("search")
    a = datasets.create_dataset(name=f"{prefix}-a", experiment_id=exp1, tags={"team": "ml"})
    b = datasets.create_dataset(name=f"{prefix}-b", experiment_id=[exp1, exp2], tags={"team": "data"})
    c = datasets.create_dataset(name=f"{prefix}-c", experiment_id=exp2, tags={"team": "ml"})

    in_exp1 = datasets.search_datasets(experiment_ids=[exp1])
    assert {d.dataset_id for d in in_exp1} == {a.dataset_id, b.dataset_id}

    ml = datasets.search_datasets(
        experiment_ids=[exp1, exp2], filter_string="tags.team = 'ml'", order_by=["name DESC"]
    )
    assert [d.name for d in ml] == [c.name, a.name]

    named = datasets.search_datasets(filter_string=f"name IN ('{a.name}', '{c.name}')")
    assert {d.dataset_id for d in named} == {a.dataset_id, c.dataset_id}

    liked = datasets.search_datasets(filter_string=f"name LIKE '{prefix}-%'", order_by=["name ASC"])
    assert [d.name for d in liked] == [a.name, b.name, c.name]

    newer = datasets.search_datasets(
        experiment_ids=[exp1, exp2], filter_string=f"created_time >= {b.created_time}"
    )
    assert {b.dataset_id, c.dataset_id} <= {d.dataset_id for d in newer}
    assert all(d.created_time >= b.created_time for d in newer)

    # Default order: newest first.
    default_order = datasets.search_datasets(experiment_ids=[exp1, exp2])
    assert [d.created_time for d in default_order] == sorted(
        [d.created_time for d in default_order], reverse=True
    )

    first = MlflowClient().search_datasets(experiment_ids=[exp1, exp2], max_results=2)
    assert len(first) == 2 and first.token
    rest = MlflowClient().search_datasets(
        experiment_ids=[exp1, exp2], max_results=2, page_token=first.token
    )
    assert len(rest) == 1 and not rest.token
    assert {d.dataset_id for d in [*first, *rest]} == {a.dataset_id, b.dataset_id, c.dataset_id}


def test_search_datasets_rejects_an_unknown_attribute(datasets):
    with pytest.raises(MlflowException) as info:
        datasets.search_datasets(filter_string="color = 'red'")
    assert error_code(info.value) == "INVALID_PARAMETER_VALUE"


def test_set_and_delete_dataset_tags(client, datasets):
    ds = datasets.create_dataset(
        name=unique_name("tags"), experiment_id=_new_experiment(client), tags={"env": "dev", "keep": "1"}
    )

    datasets.set_dataset_tags(dataset_id=ds.dataset_id, tags={"env": "prod", "new": "yes"})
    tags = datasets.get_dataset(dataset_id=ds.dataset_id).tags
    assert tags["env"] == "prod" and tags["new"] == "yes" and tags["keep"] == "1"

    datasets.delete_dataset_tag(dataset_id=ds.dataset_id, key="new")
    tags = datasets.get_dataset(dataset_id=ds.dataset_id).tags
    assert "new" not in tags and tags["env"] == "prod"
    # Deleting a tag that is not there is not an error.
    datasets.delete_dataset_tag(dataset_id=ds.dataset_id, key="never-set")


def test_datasets_are_added_to_and_removed_from_experiments(client, datasets):
    exp1, exp2, exp3 = (_new_experiment(client) for _ in range(3))
    ds = datasets.create_dataset(name=unique_name("links"), experiment_id=[exp1])

    added = datasets.add_dataset_to_experiments(dataset_id=ds.dataset_id, experiment_ids=[exp2, exp3])
    assert sorted(added.experiment_ids) == sorted([exp1, exp2, exp3])
    # Adding again changes nothing.
    again = client.add_dataset_to_experiments(dataset_id=ds.dataset_id, experiment_ids=[exp1])
    assert sorted(again.experiment_ids) == sorted([exp1, exp2, exp3])

    removed = datasets.remove_dataset_from_experiments(dataset_id=ds.dataset_id, experiment_ids=[exp2])
    assert sorted(removed.experiment_ids) == sorted([exp1, exp3])
    assert {d.dataset_id for d in datasets.search_datasets(experiment_ids=[exp2])} == set()

    gone = client.remove_dataset_from_experiments(dataset_id=ds.dataset_id, experiment_ids=[exp1, exp3])
    assert gone.experiment_ids == []


def test_unknown_datasets_and_experiments_answer_not_found(client, datasets):
    missing = f"d-{'0' * 32}"
    with pytest.raises(MlflowException, match="not found") as info:
        datasets.get_dataset(dataset_id=missing)
    assert error_code(info.value) == "RESOURCE_DOES_NOT_EXIST"

    with pytest.raises(MlflowException, match="not found"):
        datasets.add_dataset_to_experiments(dataset_id=missing, experiment_ids=["0"])
    with pytest.raises(MlflowException, match="not found"):
        datasets.remove_dataset_from_experiments(dataset_id=missing, experiment_ids=["0"])

    ds = datasets.create_dataset(name=unique_name("noexp"), experiment_id=_new_experiment(client))
    with pytest.raises(MlflowException) as info:
        datasets.add_dataset_to_experiments(dataset_id=ds.dataset_id, experiment_ids=["987654321"])
    assert error_code(info.value) == "RESOURCE_DOES_NOT_EXIST"


def test_deleted_dataset_is_gone_and_deleting_it_again_is_not_an_error(client, datasets):
    ds = datasets.create_dataset(name=unique_name("gone"), experiment_id=_new_experiment(client))
    ds.merge_records([{"inputs": {"q": "x"}}])

    datasets.delete_dataset(dataset_id=ds.dataset_id)

    with pytest.raises(MlflowException, match="not found"):
        datasets.get_dataset(dataset_id=ds.dataset_id)
    MlflowClient().delete_dataset(ds.dataset_id)


def test_the_ui_prefix_serves_the_same_api(client, datasets, api):
    ds = datasets.create_dataset(name=unique_name("ajax"), experiment_id=_new_experiment(client))
    resp = requests.get(f"{api}/ajax-api/3.0/mlflow/datasets/{ds.dataset_id}")
    assert resp.status_code == 200, resp.text
    assert resp.json()["dataset"]["name"] == ds.name


def test_a_dataset_logged_as_run_input_keeps_its_name_digest_and_source(client, datasets):
    exp = _new_experiment(client)
    ds = datasets.create_dataset(name=unique_name("input"), experiment_id=exp)
    ds.merge_records([{"inputs": {"q": "x"}, "expectations": {"a": "y"}}])
    ds = datasets.get_dataset(dataset_id=ds.dataset_id)

    with mlflow.start_run(experiment_id=exp) as run:
        mlflow.log_input(ds, context="evaluation")

    [dataset_input] = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert dataset_input.dataset.name == ds.name
    assert dataset_input.dataset.digest == ds.digest
    assert json.loads(dataset_input.dataset.source)["dataset_id"] == ds.dataset_id
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "evaluation"
