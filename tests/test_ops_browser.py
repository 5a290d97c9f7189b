"""The Dagster UI as operators use it: `make up`'s script starts webserver + daemon, a clip partition is
materialized through the GraphQL API (queued, then launched by the daemon), and headless Chromium renders
the asset graph, the asset's page and the run's page. Screenshots: tests/artifacts/ops_*.png."""

import re
import time

import pytest

from tests.fixtures_ops import ARTIFACTS, chromium

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { invalidOutputName }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on UnauthorizedError { message }
    ... on PipelineNotFoundError { message }
  }
}"""

RUN = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status tags { key value } }
  }
}"""

MATERIALIZATIONS = """
query Latest($key: AssetKeyInput!, $partition: String!) {
  assetOrError(assetKey: $key) {
    ... on Asset { assetMaterializations(partitions: [$partition], limit: 1) { runId partition } }
  }
}"""

DONE = {"SUCCESS", "FAILURE", "CANCELED"}


@pytest.fixture(scope="module")
def materialized(dagster_ui):
    """Launch ingest_job for the registered demo clip; wait (bounded) for the run to finish."""
    params = {
        "selector": {"repositoryLocationName": "football_events", "repositoryName": "__repository__",
                     "jobName": "ingest_job", "assetSelection": [{"path": ["raw_clips"]}, {"path": ["clips_4fps"]}]},
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": dagster_ui.clip_key}]},
    }
    launched = dagster_ui.graphql(LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    status = launched["run"]["status"]
    for _ in range(240):  # the daemon dequeues it, then ffmpeg makes the clip: well under 4 minutes
        status = dagster_ui.graphql(RUN, {"runId": run_id})["runOrError"]["status"]
        if status in DONE:
            break
        time.sleep(1)
    return run_id, status


def test_run_launched_through_graphql_succeeds(dagster_ui, materialized):
    run_id, status = materialized
    assert status == "SUCCESS", f"run {run_id} ended {status}; see {dagster_ui.home}/run/dagster-daemon.log"
    run = dagster_ui.graphql(RUN, {"runId": run_id})["runOrError"]
    assert {"key": "dagster/partition", "value": dagster_ui.clip_key} in run["tags"]
    for asset in ("raw_clips", "clips_4fps"):
        mats = dagster_ui.graphql(MATERIALIZATIONS, {"key": {"path": [asset]}, "partition": dagster_ui.clip_key})
        assert mats["assetOrError"]["assetMaterializations"][0]["runId"] == run_id


def _text(dom: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


def test_browser_shows_asset_graph(dagster_ui, materialized, tmp_path):
    dom = chromium(f"{dagster_ui.url}/locations/football_events/asset-groups/ingest", tmp_path, ARTIFACTS / "ops_asset_graph.png")
    text = _text(dom)
    for name in ("raw_clips", "clips_4fps"):
        assert name in text, f"asset graph page does not show {name}: {text[:2000]}"
    assert re.search(r"5 / 5 Passed", text), f"clips_4fps checks not shown as passed: {text[:2000]}"
    assert "100% filled" in text  # the one registered partition is materialized


def test_browser_shows_asset_page_with_its_materialization(dagster_ui, materialized, tmp_path):
    run_id, _ = materialized
    dom = chromium(f"{dagster_ui.url}/assets/clips_4fps", tmp_path, ARTIFACTS / "ops_asset_clips_4fps.png")
    text = _text(dom)
    assert "clips_4fps" in text and dagster_ui.clip_key in text  # latest materialization's partition
    assert run_id[:8] in dom, f"asset page does not link the materializing run {run_id[:8]}: {text[:2000]}"


def test_browser_shows_run_succeeded(dagster_ui, materialized, tmp_path):
    run_id, _ = materialized
    dom = chromium(f"{dagster_ui.url}/runs/{run_id}", tmp_path, ARTIFACTS / "ops_run.png")
    text = _text(dom)
    assert "Success" in text, f"run page does not show Success: {text[:2000]}"
    assert "clips_4fps" in text
