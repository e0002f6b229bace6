"""The alert rules load in Prometheus and each alert has unit tests (promtool, Debian's package)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.deploy.promql import rule_exprs
from tests.deploy.tooling import REPO, monitor

PROMETHEUS_DIR = REPO / "deploy/prometheus"


def promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run([monitor().promtool_binary(), *args], capture_output=True, text=True, cwd=cwd)


def test_promtool_checks_the_rules_and_the_compose_config() -> None:
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass_and_cover_every_alert_firing_and_silent() -> None:
    result = promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts.test.yml").read_text())["tests"]
    fires: set[str] = set()
    silent: set[str] = set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    assert set(rule_exprs()) == fires, "every alert has a test where it fires"
    assert set(rule_exprs()) == silent, "every alert has a test where it stays silent"


def test_a_broken_expectation_fails_promtool(tmp_path: Path) -> None:
    """promtool really evaluates the tests: a wrong expected value is reported."""
    text = (
        (PROMETHEUS_DIR / "alerts.test.yml")
        .read_text()
        .replace("3 dead letters waiting", "4 dead letters waiting")
    )
    (tmp_path / "alerts.yml").write_text((PROMETHEUS_DIR / "alerts.yml").read_text())
    (tmp_path / "broken.test.yml").write_text(text)
    result = promtool("test", "rules", "broken.test.yml", cwd=tmp_path)
    assert result.returncode != 0 and "AdrelayDeadLettersPending" in result.stdout + result.stderr


def test_the_compose_prometheus_scrapes_every_service_and_the_lag_exporter() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    from adrelay.config import SERVICE_WEB_PORTS

    expected = {name: [f"{name}:{port}"] for name, port in SERVICE_WEB_PORTS.items()}
    assert targets == {**expected, "kafka-lag": ["kafka-exporter:9308"]}
    assert config["rule_files"] == ["alerts.yml"]
