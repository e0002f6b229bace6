"""The Grafana dashboard: well-formed, every query valid PromQL, every required view present."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tests.deploy.promql import DASHBOARD, dashboard_exprs, selectors
from tests.deploy.tooling import REPO, monitor


def test_the_dashboard_is_well_formed_with_a_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "adrelay-overview"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            assert panel["targets"], panel["title"]


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each expression (as a recording rule), with Grafana's range variable filled in."""
    exprs = dashboard_exprs()
    rules = [
        {"record": f"adrelay:dashboard:{i}", "expr": expr.replace("$__rate_interval", "1m")}
        for i, expr in enumerate(exprs.values())
    ]
    (tmp_path / "dashboard.rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]})
    )
    result = subprocess.run(
        [monitor().promtool_binary(), "check", "rules", "dashboard.rules.yml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboard_shows_what_an_operator_needs() -> None:
    names = {n for expr in dashboard_exprs().values() for s in selectors(expr) for n in s.metric_names()}
    required = {
        "kafka_consumergroup_lag_sum",  # lag per group and topic, and its trend
        "adrelay_runnable_runs",
        "adrelay_events_processed_total",  # throughput
        "adrelay_dlq_messages_total",
        "adrelay_publish_duration_seconds_bucket",
        "adrelay_platform_errors_total",
        "adrelay_rate_limit_usage_ratio",
        "adrelay_rollbacks_total",
        "adrelay_manual_cleanups_total",
    }
    assert required <= names, required - names
    exprs = dashboard_exprs()
    latency = " ".join(e for e in exprs.values() if "adrelay_publish_duration_seconds_bucket" in e)
    assert "histogram_quantile(0.5," in latency and "histogram_quantile(0.99," in latency
    assert any("deriv(kafka_consumergroup_lag_sum" in e for e in exprs.values())


def test_grafana_provisioning_loads_the_dashboard_folder() -> None:
    provider = yaml.safe_load((REPO / "deploy/grafana/provisioning/dashboards/adrelay.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    datasource = yaml.safe_load(
        (REPO / "deploy/grafana/provisioning/datasources/prometheus.yaml").read_text()
    )
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
