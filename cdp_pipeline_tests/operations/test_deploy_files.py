"""The deployment files agree with each other and with the installed Dagster tools."""

import configparser
import re
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(DEPLOY / name)
    return parser


@pytest.mark.parametrize(("name", "tool"), [("dagster-webserver.service", "dagster-webserver"), ("dagster-daemon.service", "dagster-daemon")])
def test_service_units_start_the_installed_tool_with_the_shared_environment_file(name, tool):
    service = unit(name)

    command = service["Service"]["ExecStart"].split()
    assert Path(command[0]).name == tool and (Path(sys.executable).parent / tool).exists()
    assert "--workspace" in command
    assert service["Service"]["EnvironmentFile"] == "/etc/cdp/cdp.env"
    assert service["Service"]["Restart"] in {"always", "on-failure"}
    assert service["Install"]["WantedBy"] == "multi-user.target"


def test_every_variable_the_instance_yaml_reads_is_in_the_example_environment_file():
    wanted = set(re.findall(r"\{env: (\w+)\}", (DEPLOY / "dagster.yaml").read_text()))
    example = {line.split("=", 1)[0] for line in (DEPLOY / "cdp.env.example").read_text().splitlines() if "=" in line and not line.startswith("#")}

    assert wanted and wanted <= example
    assert {"CDP_WAREHOUSE_URL", "CDP_LANDING_DIR", "CDP_STATE_DIR", "CDP_SCHEDULE_CRON", "CDP_SCHEDULE_TZ", "DAGSTER_HOME"} <= example
