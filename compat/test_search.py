"""search_runs / search_experiments: every comparator, ordering with missing values, and paging."""

from __future__ import annotations

import operator

import mlflow
import pytest
from _support import unique_name
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param
from mlflow.tracking import MlflowClient

T0 = 1_700_000_000_000

# name -> (run_name, start offset ms, metrics, params, tags, final status)
RUNS = {
    "r1": ("Alpha-one", 1000, {"acc": 0.9, "loss": 0.3}, {"model": "LogReg", "lr": "0.1"},
           {"team": "Vision", "env": "prod"}, "FINISHED"),
    "r2": ("alpha-two", 2000, {"acc": 0.7, "loss": 0.5}, {"model": "logreg", "lr": "0.01"},
           {"team": "vision"}, "FINISHED"),
    "r3": ("Beta", 3000, {"acc": 0.8}, {"model": "RandomForest"},
           {"team": "NLP", "env": "dev"}, "FAILED"),
    "r4": ("gamma", 4000, {}, {}, {}, None),  # stays RUNNING, has nothing logged
    "r5": ("delta", 5000, {"acc": 0.95, "loss": 0.1}, {"model": "XGBoost"},
           {"team": "vision"}, "FINISHED"),
}


class Fleet:
    def __init__(self, experiment_id: str, ids: dict[str, str]):
        self.experiment_id = experiment_id
        self.ids = ids  # r1 -> run id
        self.names = {v: k for k, v in ids.items()}

    def search(self, filter_string: str = "", order_by=None) -> list[str]:
        runs = MlflowClient().search_runs(
            [self.experiment_id], filter_string=filter_string, order_by=order_by
        )
        return [self.names[r.info.run_id] for r in runs]

    def matching(self, filter_string: str) -> set[str]:
        return set(self.search(filter_string))


@pytest.fixture(scope="module")
def fleet(server) -> Fleet:
    client = MlflowClient()
    experiment_id = client.create_experiment(unique_name("search"))
    ids = {}
    for key, (run_name, offset, metrics, params, tags, status) in RUNS.items():
        run = client.create_run(
            experiment_id, start_time=T0 + offset, run_name=run_name, tags=tags
        )
        run_id = run.info.run_id
        ids[key] = run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, T0 + offset, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
        )
        if status:
            client.set_terminated(run_id, status=status, end_time=T0 + offset + 500)

    def dataset(name, digest):
        return Dataset(
            name=name,
            digest=digest,
            source_type="local",
            source='{"uri": "/data/%s.csv"}' % name,
            schema='{"mlflow_colspec": [{"type": "double", "name": "x"}]}',
            profile='{"num_rows": 10}',
        )

    client.log_inputs(
        ids["r1"],
        [DatasetInput(dataset("train-set", "aaaa1111"), [InputTag("mlflow.data.context", "training")])],
    )
    client.log_inputs(
        ids["r2"],
        [DatasetInput(dataset("eval-set", "bbbb2222"), [InputTag("mlflow.data.context", "evaluation")])],
    )
    return Fleet(experiment_id, ids)


def expected(metric: str, op, value: float) -> set[str]:
    return {k for k, spec in RUNS.items() if metric in spec[2] and op(spec[2][metric], value)}


@pytest.mark.parametrize(
    "comparator,op",
    [("=", operator.eq), ("!=", operator.ne), ("<", operator.lt), ("<=", operator.le),
     (">", operator.gt), (">=", operator.ge)],
)
def test_metric_comparators_use_the_latest_value_and_skip_runs_without_the_metric(
    fleet, comparator, op
):
    assert fleet.matching(f"metrics.acc {comparator} 0.8") == expected("acc", op, 0.8)


@pytest.mark.parametrize(
    "comparator,op",
    [("=", operator.eq), ("!=", operator.ne), ("<", operator.lt), ("<=", operator.le),
     (">", operator.gt), (">=", operator.ge)],
)
def test_start_time_comparators_work_on_the_attribute(fleet, comparator, op):
    bound = T0 + 3000
    want = {k for k, spec in RUNS.items() if op(T0 + spec[1], bound)}
    assert fleet.matching(f"attributes.start_time {comparator} {bound}") == want


def test_a_missing_metric_never_matches_even_not_equal(fleet):
    # r3 and r4 have no "loss": they match neither = nor !=.
    assert fleet.matching("metrics.loss != 0.3") == {"r2", "r5"}


def test_param_equality_is_exact_and_case_sensitive(fleet):
    assert fleet.matching("params.model = 'logreg'") == {"r2"}
    assert fleet.matching("params.model != 'logreg'") == {"r1", "r3", "r5"}
    assert fleet.matching('params.lr = "0.01"') == {"r2"}


def test_like_on_params_is_case_sensitive_and_ilike_is_not(fleet):
    assert fleet.matching("params.model LIKE 'Log%'") == {"r1"}
    assert fleet.matching("params.model ILIKE 'log%'") == {"r1", "r2"}
    assert fleet.matching("params.model LIKE '%o%'") == {"r1", "r2", "r3", "r5"}


def test_like_and_ilike_on_tags(fleet):
    assert fleet.matching("tags.team LIKE 'V%'") == {"r1"}
    assert fleet.matching("tags.team ILIKE 'v%'") == {"r1", "r2", "r5"}
    assert fleet.matching("tags.team = 'vision'") == {"r2", "r5"}
    assert fleet.matching("tags.env != 'prod'") == {"r3"}


def test_like_and_ilike_on_the_run_name_with_both_wildcards(fleet):
    assert fleet.matching("attributes.run_name LIKE 'alpha%'") == {"r2"}
    assert fleet.matching("attributes.run_name ILIKE 'alpha%'") == {"r1", "r2"}
    assert fleet.matching("attributes.run_name LIKE '%a'") == {"r3", "r4", "r5"}
    assert fleet.matching("attributes.run_name LIKE 'gamm_'") == {"r4"}
    assert fleet.matching("run_name = 'Beta'") == {"r3"}
    assert fleet.matching("run_name != 'Beta'") == {"r1", "r2", "r4", "r5"}
    assert fleet.matching("tags.mlflow.runName = 'delta'") == {"r5"}


def test_status_is_filterable(fleet):
    assert fleet.matching("attributes.status = 'FAILED'") == {"r3"}
    assert fleet.matching("attributes.status != 'FINISHED'") == {"r3", "r4"}
    assert fleet.matching("attributes.status = 'RUNNING'") == {"r4"}


def test_in_and_not_in_on_run_ids(fleet):
    a, b = fleet.ids["r1"], fleet.ids["r4"]
    assert fleet.matching(f"attributes.run_id IN ('{a}', '{b}')") == {"r1", "r4"}
    assert fleet.matching(f"attributes.run_id NOT IN ('{a}', '{b}')") == {"r2", "r3", "r5"}
    assert fleet.matching(f"attributes.run_id = '{a}'") == {"r1"}


def test_clauses_are_combined_with_and(fleet):
    assert fleet.matching("metrics.acc > 0.75 and tags.team ILIKE 'vision'") == {"r1", "r5"}
    assert fleet.matching(
        "metrics.acc >= 0.7 AND params.model ILIKE '%reg' AND attributes.status = 'FINISHED'"
    ) == {"r1", "r2"}


def test_backtick_and_double_quoted_keys(fleet):
    assert fleet.matching("metrics.`acc` > 0.9") == {"r5"}
    assert fleet.matching('tags."team" = \'NLP\'') == {"r3"}


def test_dataset_filters_match_runs_by_their_inputs(fleet):
    assert fleet.matching("datasets.name = 'train-set'") == {"r1"}
    assert fleet.matching("datasets.name LIKE '%-set'") == {"r1", "r2"}
    assert fleet.matching("datasets.digest = 'bbbb2222'") == {"r2"}
    assert fleet.matching("datasets.context = 'evaluation'") == {"r2"}


def test_run_inputs_are_returned_with_the_run(fleet):
    run = MlflowClient().get_run(fleet.ids["r1"])
    inputs = run.inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.name == "train-set"
    assert inputs[0].dataset.digest == "aaaa1111"
    assert {t.key: t.value for t in inputs[0].tags} == {"mlflow.data.context": "training"}


def test_the_default_order_is_newest_start_time_first(fleet):
    assert fleet.search() == ["r5", "r4", "r3", "r2", "r1"]


def test_order_by_start_time_ascending(fleet):
    assert fleet.search(order_by=["attributes.start_time ASC"]) == ["r1", "r2", "r3", "r4", "r5"]


def test_order_by_a_metric_puts_runs_without_it_last_in_both_directions(fleet):
    assert fleet.search(order_by=["metrics.acc ASC"]) == ["r2", "r3", "r1", "r5", "r4"]
    assert fleet.search(order_by=["metrics.acc DESC"]) == ["r5", "r1", "r3", "r2", "r4"]
    # Ties among the missing are broken by the natural order (start_time DESC).
    assert fleet.search(order_by=["metrics.loss"]) == ["r5", "r1", "r2", "r4", "r3"]
    assert fleet.search(order_by=["metrics.loss DESC"]) == ["r2", "r1", "r5", "r4", "r3"]


def test_order_by_a_tag_and_then_a_metric(fleet):
    assert fleet.search(order_by=["tags.env ASC"]) == ["r3", "r1", "r5", "r4", "r2"]
    assert fleet.search(order_by=["tags.env DESC", "metrics.acc ASC"]) == ["r1", "r3", "r2", "r5", "r4"]


def test_the_fluent_search_returns_a_data_frame_ordered_as_asked(fleet):
    df = mlflow.search_runs(
        [fleet.experiment_id], filter_string="metrics.acc > 0", order_by=["metrics.acc DESC"]
    )
    assert [fleet.names[i] for i in df["run_id"]] == ["r5", "r1", "r3", "r2"]
    assert list(df["metrics.acc"]) == [0.95, 0.9, 0.8, 0.7]


# --- paging ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def many_runs(server):
    client = MlflowClient()
    experiment_id = client.create_experiment(unique_name("paging"))
    ids = []
    for i in range(23):
        run = client.create_run(experiment_id, start_time=T0 + (i % 7) * 1000)  # with ties
        client.log_batch(run.info.run_id, metrics=[Metric("i", float(i % 5), T0, 0)])
        ids.append(run.info.run_id)
    return experiment_id, ids


def collect_pages(experiment_id, page_size, **kwargs):
    client = MlflowClient()
    pages, token = [], None
    while True:
        page = client.search_runs(
            [experiment_id], max_results=page_size, page_token=token, **kwargs
        )
        pages.append([r.info.run_id for r in page])
        token = page.token
        if not token:
            return pages
        assert len(pages) < 100, "paging does not end"


@pytest.mark.parametrize("order_by", [None, ["metrics.i DESC"], ["attributes.start_time ASC"]])
def test_paging_through_search_runs_returns_every_run_exactly_once(many_runs, order_by):
    experiment_id, ids = many_runs
    pages = collect_pages(experiment_id, 5, order_by=order_by)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    flat = [run_id for page in pages for run_id in page]
    assert len(flat) == len(set(flat)) == 23
    assert set(flat) == set(ids)
    one_call = MlflowClient().search_runs([experiment_id], max_results=1000, order_by=order_by)
    assert flat == [r.info.run_id for r in one_call]


def test_a_short_last_page_carries_no_token_and_a_full_one_leads_to_an_empty_page(many_runs):
    experiment_id, _ = many_runs
    client = MlflowClient()
    page = client.search_runs([experiment_id], max_results=30)
    assert len(page) == 23 and not page.token
    page = client.search_runs([experiment_id], max_results=22)
    assert len(page) == 22 and page.token
    # Exactly full: upstream 3.x fetches one extra row and sends no token; 2.22 sends a token
    # whose page is empty. Either way the client ends up with every run once.
    page = client.search_runs([experiment_id], max_results=23)
    assert len(page) == 23
    if page.token:
        rest = client.search_runs([experiment_id], max_results=23, page_token=page.token)
        assert len(rest) == 0 and not rest.token


def test_paging_with_a_filter(many_runs):
    experiment_id, _ = many_runs
    # i % 5 in {3, 4} for i in 3, 4, 8, 9, 13, 14, 18, 19: 8 runs.
    pages = collect_pages(experiment_id, 3, filter_string="metrics.i >= 3")
    flat = [run_id for page in pages for run_id in page]
    assert len(flat) == len(set(flat)) == 8
    assert [len(p) for p in pages] == [3, 3, 2]


def test_the_fluent_search_collects_all_pages(many_runs):
    experiment_id, ids = many_runs
    df = mlflow.search_runs([experiment_id], max_results=50)
    assert sorted(df["run_id"]) == sorted(ids)


# --- experiments -------------------------------------------------------------------------------


def test_search_experiments_filters_by_name_and_tags_and_pages(server):
    client = MlflowClient()
    prefix = unique_name("expsearch")
    created = []
    for i in range(5):
        created.append(
            client.create_experiment(f"{prefix}-{i}", tags={"kind": "odd" if i % 2 else "even"})
        )

    pages, token = [], None
    while True:
        page = client.search_experiments(
            filter_string=f"name LIKE '{prefix}-%'", max_results=2, page_token=token,
            order_by=["name ASC"],
        )
        pages.append([e.name for e in page])
        token = page.token
        if not token:
            break
    assert pages == [[f"{prefix}-0", f"{prefix}-1"], [f"{prefix}-2", f"{prefix}-3"], [f"{prefix}-4"]]

    odd = client.search_experiments(filter_string=f"name LIKE '{prefix}%' AND tags.kind = 'odd'")
    assert sorted(e.name for e in odd) == [f"{prefix}-1", f"{prefix}-3"]
    upper = client.search_experiments(filter_string=f"name ILIKE '{prefix.upper()}-%'")
    assert len(upper) == 5
    assert client.search_experiments(filter_string=f"name LIKE '{prefix.upper()}-%'") == []
    everything = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'")
    assert sorted(e.experiment_id for e in everything) == sorted(created)
    assert mlflow.search_experiments(filter_string=f"name = '{prefix}-2'")[0].experiment_id == created[2]
