"""Kubernetes manifests rendered from the project's single sources, so nothing is written twice.

* Strimzi `KafkaTopic` resources (`kafka.strimzi.io/v1`) from the topic catalogue (`adrelay.topics`):
  every topic and its dead-letter topic, with the catalogue's partitions and config.
* A prometheus-operator `PrometheusRule` from the alert rules Prometheus loads
  (`deploy/prometheus/alerts.yml`).

The rendered files are checked in under `deploy/k8s/base/`; `adrelay deploy render-topics --check`
(and a test) fails when they differ from what the sources render now.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from adrelay import topics

REPO = Path(__file__).resolve().parents[2]
TOPICS_FILE = REPO / "deploy/k8s/base/kafka-topics.yaml"
ALERTS_FILE = REPO / "deploy/prometheus/alerts.yml"
RULES_FILE = REPO / "deploy/k8s/base/prometheus-rule.yaml"

STRIMZI_API_VERSION = "kafka.strimzi.io/v1"
DEFAULT_CLUSTER = "adrelay-kafka"
# Production replication; the dev overlay patches both down to 1.
DEFAULT_REPLICAS = 3
DEFAULT_MIN_INSYNC = 2
PART_OF = {"app.kubernetes.io/part-of": "adrelay"}


def _header(source: str, command: str) -> str:
    return (
        f"# GENERATED from {source} by `{command}`; do not edit.\n"
        "# A test fails when this file differs from what the source renders.\n"
    )


def _config_value(value: str) -> int | str:
    """Numeric Kafka configs as YAML integers (Strimzi accepts both; integers read better)."""
    return int(value) if value.isdigit() else value


def _unprefixed_declarations() -> list[topics.TopicDeclaration]:
    """The catalogue's declarations as production sees them, whatever `ADRELAY_TOPIC_PREFIX` says
    in this process (tests set one): the prefix is read at call time, so it is lifted meanwhile."""
    saved = os.environ.pop("ADRELAY_TOPIC_PREFIX", None)
    try:
        return topics.declarations()
    finally:
        if saved is not None:
            os.environ["ADRELAY_TOPIC_PREFIX"] = saved


def kafka_topics(
    cluster: str = DEFAULT_CLUSTER, replicas: int = DEFAULT_REPLICAS, min_insync: int = DEFAULT_MIN_INSYNC
) -> list[dict[str, Any]]:
    """One KafkaTopic per catalogue topic and dead-letter topic, named as in production (no prefix)."""
    out: list[dict[str, Any]] = []
    for declaration in _unprefixed_declarations():
        name = declaration.name
        labels = {"strimzi.io/cluster": cluster, **PART_OF}
        if declaration.dlq_of is not None:
            labels["adrelay.io/dead-letter-of"] = declaration.dlq_of
        config: dict[str, int | str] = {k: _config_value(v) for k, v in declaration.config.items()}
        config["min.insync.replicas"] = min_insync
        out.append(
            {
                "apiVersion": STRIMZI_API_VERSION,
                "kind": "KafkaTopic",
                "metadata": {
                    "name": name,
                    "labels": labels,
                    "annotations": {"adrelay.io/description": declaration.description},
                },
                "spec": {
                    "topicName": name,
                    "partitions": declaration.partitions,
                    "replicas": replicas,
                    "config": dict(sorted(config.items())),
                },
            }
        )
    return out


def render_topics() -> str:
    """The checked-in `kafka-topics.yaml`: every KafkaTopic, one YAML document each."""
    body = yaml.safe_dump_all(kafka_topics(), sort_keys=False, width=200)
    return _header("shared/adrelay/topics.py", "adrelay deploy render-topics --write") + body


def prometheus_rule(alerts_text: str) -> dict[str, Any]:
    """The alert rules file wrapped as a PrometheusRule, for clusters run by prometheus-operator."""
    rules = yaml.safe_load(alerts_text)
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "adrelay", "labels": {**PART_OF, "prometheus": "adrelay"}},
        "spec": {"groups": rules["groups"]},
    }


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (PromQL expressions) as literal blocks, readable as in the source."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_representer)


def render_rules(alerts_text: str | None = None) -> str:
    """The checked-in `prometheus-rule.yaml` rendered from `deploy/prometheus/alerts.yml`."""
    text = ALERTS_FILE.read_text() if alerts_text is None else alerts_text
    body = yaml.dump(prometheus_rule(text), Dumper=_BlockDumper, sort_keys=False, width=200)
    return _header("deploy/prometheus/alerts.yml", "adrelay deploy render-rules --write") + body


RENDERED: dict[Path, Any] = {TOPICS_FILE: render_topics, RULES_FILE: render_rules}


def stale() -> list[Path]:
    """Checked-in rendered files that differ from what their sources render now."""
    out = []
    for path, render in RENDERED.items():
        current = path.read_text() if path.exists() else None
        if current != render():
            out.append(path)
    return out
