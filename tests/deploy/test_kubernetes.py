"""The Kubernetes manifests: every resource of every overlay validates against the Kubernetes schemas
(strict) and, for CRD kinds, against the CRDs' own schemas; the topics equal the catalogue's render;
each service is deployed as platform teams expect (probes, resources, PDB, graceful shutdown, KEDA)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from adrelay import deploy_manifests, topics
from adrelay.config import SERVICE_WEB_PORTS
from tests.deploy.tooling import REPO, k8s_validate

SERVICES = tuple(SERVICE_WEB_PORTS)
PUBLISHERS = ("meta", "tiktok", "snapchat")
RUNNABLE_QUERY = (
    "select count(*) from publisher_runs where platform = '{p}' and state in "
    "('queued','running','waiting','rolling_back','activating') and next_attempt_at <= now() "
    "and (lease_expires_at is null or lease_expires_at < now())"
)


@pytest.fixture(scope="module")
def built() -> dict[str, list[dict[str, Any]]]:
    validator = k8s_validate()
    return {overlay: validator.build(overlay) for overlay in validator.OVERLAYS}


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_resource_of_the_overlay_validates_against_its_schema(
    built: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    docs = built[overlay]
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "PodDisruptionBudget", "Ingress", "ConfigMap", "Job"} <= kinds
    assert {"KafkaTopic", "ScaledObject", "ServiceMonitor", "PrometheusRule"} <= kinds
    assert k8s_validate().validate(docs) == []


def test_the_secret_template_validates_and_names_every_secret() -> None:
    (secret,) = list(yaml.safe_load_all((REPO / "deploy/k8s/secrets.template.yaml").read_text()))
    assert k8s_validate().validate([secret]) == []
    assert set(secret["stringData"]) == {
        "DATABASE_URL",
        "ADRELAY_TOKEN_KEYS",
        "ADRELAY_META_APP_SECRET",
        "ADRELAY_TIKTOK_APP_SECRET",
        "ADRELAY_SNAPCHAT_CLIENT_SECRET",
        "ADRELAY_META_WEBHOOK_VERIFY_TOKEN",
    }
    assert all("CHANGE-ME" in value for value in secret["stringData"].values())


def test_the_validators_reject_what_a_cluster_would_reject(built: dict[str, list[dict[str, Any]]]) -> None:
    """Each schema source is live: one broken resource per kind yields an error, not a pass."""
    docs = built["prod"]
    validate = k8s_validate().validate
    broken: list[tuple[str, dict[str, Any]]] = []

    deployment = copy.deepcopy(by_kind(docs, "Deployment")["orchestrator"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["pathh"] = "/x"
    broken.append(("Deployment with an unknown field", deployment))
    scaled = copy.deepcopy(by_kind(docs, "ScaledObject")["meta-publisher"])
    scaled["spec"]["maxReplicaCount"] = "six"
    broken.append(("ScaledObject with a string replica count", scaled))
    scaled_typo = copy.deepcopy(by_kind(docs, "ScaledObject")["meta-publisher"])
    scaled_typo["spec"]["minReplicas"] = 1
    broken.append(("ScaledObject with an unknown field", scaled_typo))
    monitor = copy.deepcopy(by_kind(docs, "ServiceMonitor")["adrelay"])
    monitor["spec"]["endpoints"][0]["interval"] = "every 15 seconds"
    broken.append(("ServiceMonitor with a bad interval", monitor))
    rule = copy.deepcopy(by_kind(docs, "PrometheusRule")["adrelay"])
    del rule["spec"]["groups"][0]["name"]
    broken.append(("PrometheusRule group without a name", rule))
    topic = copy.deepcopy(by_kind(docs, "KafkaTopic")["adrelay.campaigns.commands"])
    topic["spec"]["partitions"] = 0
    broken.append(("KafkaTopic with 0 partitions", topic))
    for what, doc in broken:
        assert validate([doc]), f"{what} passed validation"


def test_the_kafka_topics_are_what_the_catalogue_renders(built: dict[str, list[dict[str, Any]]]) -> None:
    assert deploy_manifests.TOPICS_FILE.read_text() == deploy_manifests.render_topics(), (
        "deploy/k8s/base/kafka-topics.yaml is stale: run `adrelay deploy render-topics --write`"
    )
    rendered = by_kind(built["prod"], "KafkaTopic")
    expected = {}
    for spec in topics.CATALOGUE:
        expected[spec.base_name] = spec.partitions
        if spec.has_dlq:
            expected[topics.dlq_of(spec.base_name)] = topics.DLQ_PARTITIONS
    assert {name: t["spec"]["partitions"] for name, t in rendered.items()} == expected
    for topic in rendered.values():
        assert topic["spec"]["topicName"] == topic["metadata"]["name"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == deploy_manifests.DEFAULT_CLUSTER
        assert topic["spec"]["replicas"] == 3 and topic["spec"]["config"]["min.insync.replicas"] == 2
    for topic in by_kind(built["dev"], "KafkaTopic").values():
        assert topic["spec"]["replicas"] == 1 and topic["spec"]["config"]["min.insync.replicas"] == 1


def test_a_changed_catalogue_makes_the_checked_in_topics_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = topics.TopicSpec(**{**topics.STATUS.__dict__, "partitions": 12})
    monkeypatch.setattr(
        topics, "CATALOGUE", tuple(changed if t is topics.STATUS else t for t in topics.CATALOGUE)
    )
    assert deploy_manifests.TOPICS_FILE in deploy_manifests.stale()


def test_the_prometheus_rule_is_what_the_alert_rules_render() -> None:
    assert deploy_manifests.RULES_FILE.read_text() == deploy_manifests.render_rules(), (
        "deploy/k8s/base/prometheus-rule.yaml is stale: run `adrelay deploy render-rules --write`"
    )
    rule = yaml.safe_load(deploy_manifests.RULES_FILE.read_text())
    source = yaml.safe_load(deploy_manifests.ALERTS_FILE.read_text())
    assert rule["spec"]["groups"] == source["groups"]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_each_service_is_a_deployment_with_probes_resources_a_pdb_and_graceful_shutdown(
    built: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    docs = built[overlay]
    deployments, services, pdbs = (by_kind(docs, k) for k in ("Deployment", "Service", "PodDisruptionBudget"))
    lease_s = float(_config(docs)["ADRELAY_LEASE_S"])
    for name in SERVICES:
        port = SERVICE_WEB_PORTS[name]
        pod = deployments[name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"] == ["serve", name]
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["terminationGracePeriodSeconds"] > lease_s + 5, "a stopping publisher outlives its lease"
        assert deployments[name]["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(
            port
        )
        selector = deployments[name]["spec"]["selector"]["matchLabels"]
        assert services[name]["spec"]["selector"] == selector
        assert services[name]["spec"]["ports"][0]["port"] == port
        assert pdbs[name]["spec"]["selector"]["matchLabels"] == selector
        runner_env = {e["name"] for e in container.get("env", [])}
        assert ("ADRELAY_RUNNER_ID" in runner_env) == name.endswith("-publisher")
        if name.endswith("-publisher"):
            assert "replicas" not in deployments[name]["spec"], "KEDA owns the publishers' replica count"


def _config(docs: list[dict[str, Any]]) -> dict[str, str]:
    (config,) = [
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("adrelay-config")
    ]
    return dict(config["data"])


def test_each_publisher_scales_on_its_lag_and_its_runnable_runs(
    built: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay, cap in (("prod", topics.PUBLISH_REQUESTED.partitions), ("dev", 2)):
        scaled = by_kind(built[overlay], "ScaledObject")
        assert set(scaled) == {f"{p}-publisher" for p in PUBLISHERS}
        for platform in PUBLISHERS:
            spec = scaled[f"{platform}-publisher"]["spec"]
            assert spec["scaleTargetRef"]["name"] == f"{platform}-publisher"
            assert spec["minReplicaCount"] == 1 and spec["maxReplicaCount"] == cap
            triggers = {t["type"]: t["metadata"] for t in spec["triggers"]}
            assert set(triggers) == {"kafka", "postgresql"}
            assert triggers["kafka"]["consumerGroup"] == f"{platform}-publisher"
            assert triggers["kafka"]["topic"] == topics.PUBLISH_REQUESTED.base_name
            assert triggers["kafka"]["bootstrapServersFromEnv"] == "KAFKA_BOOTSTRAP_SERVERS"
            assert triggers["kafka"]["version"].startswith("3."), "Kafka 4.x serves no pre-2.1 protocol"
            assert triggers["postgresql"]["query"] == RUNNABLE_QUERY.format(p=platform)
            assert triggers["postgresql"]["connectionFromEnv"] == "DATABASE_URL"
    assert topics.PUBLISH_REQUESTED.partitions == 6


def test_the_ingress_serves_webhooks_and_the_api_over_tls(built: dict[str, list[dict[str, Any]]]) -> None:
    ingresses = by_kind(built["prod"], "Ingress")
    routes = {}
    for ingress in ingresses.values():
        assert ingress["spec"]["tls"][0]["secretName"] == "adrelay-tls"
        assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
        for rule in ingress["spec"]["rules"]:
            assert rule["host"] in ingress["spec"]["tls"][0]["hosts"]
            for path in rule["http"]["paths"]:
                routes[path["path"]] = path["backend"]["service"]["name"]
    assert routes == {"/webhooks/": "tracker", "/publishes": "orchestrator", "/plan": "orchestrator"}
    config = _config(built["prod"])
    assert (
        config["ADRELAY_PUBLIC_BASE_URL"]
        == f"https://{ingresses['adrelay-webhooks']['spec']['rules'][0]['host']}"
    )
    dev_host = by_kind(built["dev"], "Ingress")["adrelay-webhooks"]["spec"]["rules"][0]["host"]
    assert _config(built["dev"])["ADRELAY_PUBLIC_BASE_URL"] == f"https://{dev_host}"


def test_the_dev_overlay_points_every_service_at_the_sandboxes(
    built: dict[str, list[dict[str, Any]]],
) -> None:
    from sandbox.stack import SandboxUrls, service_env

    docs = built["dev"]
    secrets = by_kind(docs, "Secret")["adrelay-secrets"]
    import base64

    values = {**_config(docs), **{k: base64.b64decode(v).decode() for k, v in secrets["data"].items()}}
    expected = service_env(
        SandboxUrls("http://sandboxes:18081", "http://sandboxes:18082", "http://sandboxes:18083")
    )
    assert {k: values.get(k) for k in expected} == expected
    Fernet(values["ADRELAY_TOKEN_KEYS"])  # a valid key, or the services could not start
    assert "sandboxes" in by_kind(docs, "Service")
