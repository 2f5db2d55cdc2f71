"""The real Dagster webserver, started on workspace.yaml, lists what the code location defines.

One webserver process (and the code server it spawns) is started for the whole module and
queried through its GraphQL API, so the UI operators see is checked against
`cdp_pipeline.definitions.defs` rather than against a mock.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cdp_pipeline.definitions import defs

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WEBSERVER = Path(sys.executable).parent / "dagster-webserver"
STARTUP_TIMEOUT_S = 90
STOP_TIMEOUT_S = 20

REPOSITORY_QUERY = """
{
  repositoriesOrError {
    __typename
    ... on PythonError { message stack }
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        schedules { name cronSchedule executionTimezone pipelineName }
        sensors { name targets { pipelineName } }
        assetNodes {
          assetKey { path }
          description
          groupName
          owners {
            __typename
            ... on TeamAssetOwner { team }
            ... on UserAssetOwner { email }
          }
          dependencyKeys { path }
          dependedByKeys { path }
          assetChecksOrError {
            __typename
            ... on AssetChecks { checks { name } }
          }
        }
      }
    }
  }
}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGINT is the webserver's clean shutdown (it also stops its code server); SIGKILL only if it hangs."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
    try:  # a code server child still alive in the group after the webserver exited
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    """Base URL of a dagster-webserver on a free port with a throw-away DAGSTER_HOME."""
    if not WEBSERVER.exists():
        pytest.skip(f"{WEBSERVER} is not installed")
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    log_path = home / "webserver.log"
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_TELEMETRY_DISABLED": "1"}
    command = [str(WEBSERVER), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port), "--read-only"]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not answers(f"{base_url}/server_info"):
            if process.poll() is not None:
                pytest.fail(f"dagster-webserver exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"dagster-webserver did not answer within {STARTUP_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.25)
        yield base_url
    finally:
        stop_process_group(process)


def graphql(base_url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.load(response)
    assert "errors" not in payload, payload["errors"]
    return payload["data"]


@pytest.fixture(scope="module")
def repository(webserver):
    """The single repository the workspace loads, as the UI sees it."""
    result = graphql(webserver, REPOSITORY_QUERY)["repositoriesOrError"]
    assert result["__typename"] == "RepositoryConnection", result
    (only,) = result["nodes"]
    return only


@pytest.fixture(scope="module")
def asset_nodes(repository):
    return {"/".join(node["assetKey"]["path"]): node for node in repository["assetNodes"]}


@pytest.fixture(scope="module")
def asset_graph():
    return defs.resolve_asset_graph()


def key_strings(keys) -> set[str]:
    return {"/".join(key.path) for key in keys}


def path_strings(graphql_keys: list[dict]) -> set[str]:
    return {"/".join(key["path"]) for key in graphql_keys}


def test_the_webserver_lists_exactly_the_assets_the_definitions_define(asset_nodes, asset_graph):
    assert set(asset_nodes) == key_strings(asset_graph.get_all_asset_keys())


def test_the_webserver_lists_every_asset_check_on_its_asset(asset_nodes, asset_graph):
    listed = set()
    for key, node in asset_nodes.items():
        checks = node["assetChecksOrError"]
        assert checks["__typename"] == "AssetChecks", (key, checks)
        listed |= {(key, check["name"]) for check in checks["checks"]}

    defined = {("/".join(check.asset_key.path), check.name) for check in asset_graph.asset_check_keys}
    assert defined and listed == defined


def test_the_webserver_lineage_matches_the_resolved_asset_graph(asset_nodes, asset_graph):
    for key in asset_graph.get_all_asset_keys():
        node = asset_nodes["/".join(key.path)]
        definition = asset_graph.get(key)
        assert path_strings(node["dependencyKeys"]) == key_strings(definition.parent_keys), key
        assert path_strings(node["dependedByKeys"]) == key_strings(definition.child_keys), key


def test_every_asset_shows_its_description_group_and_owners(asset_nodes, asset_graph):
    for key in asset_graph.get_all_asset_keys():
        node = asset_nodes["/".join(key.path)]
        definition = asset_graph.get(key)
        shown_owners = [
            f"team:{owner['team']}" if owner["__typename"] == "TeamAssetOwner" else owner["email"]
            for owner in node["owners"]
        ]
        assert node["description"] and node["description"].strip(), key
        assert node["groupName"] == definition.group_name != "default", key
        assert shown_owners and sorted(shown_owners) == sorted(definition.owners), key


def test_the_webserver_lists_the_schedule_with_its_cron_time_zone_and_job(repository):
    shown = {schedule["name"]: schedule for schedule in repository["schedules"]}

    assert set(shown) == {schedule.name for schedule in defs.schedules}
    for schedule in defs.schedules:
        assert shown[schedule.name]["cronSchedule"] == schedule.cron_schedule
        assert shown[schedule.name]["executionTimezone"] == schedule.execution_timezone
        assert shown[schedule.name]["pipelineName"] == schedule.job_name


def test_the_webserver_lists_the_drop_sensor_targeting_its_job(repository):
    shown = {sensor["name"]: sensor for sensor in repository["sensors"]}

    assert set(shown) == {sensor.name for sensor in defs.sensors}
    drop_sensor = next(sensor for sensor in defs.sensors if sensor.name == "nightly_on_drop")
    assert [target["pipelineName"] for target in shown[drop_sensor.name]["targets"]] == [drop_sensor.job_name]
