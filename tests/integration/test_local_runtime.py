"""The local runtime's promises: `make up` twice is a no-op, a user's own Kafka is used instead of
starting one, and a missing prerequisite is named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import USER_DATABASE_URL, USER_KAFKA, RuntimeEnv
from tests.support.processes import REPO

RUNTIME = [sys.executable, str(REPO / "deploy/local/runtime.py")]


def _kafka_broker_pids() -> set[int]:
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kafka.Kafka" in cmdline:
            pids.add(int(proc.name))
    return pids


def _user_env(**extra: str) -> dict[str, str]:
    """The environment as the user had it before the test session (plus `extra`)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "ADRELAY_TOPIC_PREFIX"}
    }
    if USER_DATABASE_URL:
        env["DATABASE_URL"] = USER_DATABASE_URL
    if USER_KAFKA:
        env["KAFKA_BOOTSTRAP_SERVERS"] = USER_KAFKA
    env.update(extra)
    return env


def test_up_a_second_time_is_a_noop(runtime_env: RuntimeEnv) -> None:
    brokers_before = _kafka_broker_pids()
    result = subprocess.run(
        [*RUNTIME, "up", "--only", "postgres,kafka"],
        env=_user_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    if USER_KAFKA:
        assert "using your Kafka" in result.stdout
    else:
        assert "Kafka already running" in result.stdout
        assert "starting Kafka" not in result.stdout
    if USER_DATABASE_URL:
        assert "using your PostgreSQL" in result.stdout
    else:
        assert "PostgreSQL already running" in result.stdout
    assert "topics ready (" not in result.stdout, "no topic should have been created"
    assert _kafka_broker_pids() == brokers_before


def test_with_kafka_bootstrap_servers_set_no_broker_is_installed_or_started(
    runtime_env: RuntimeEnv, tmp_path: Path
) -> None:
    brokers_before = _kafka_broker_pids()
    env = _user_env(
        ADRELAY_RUNTIME_DIR=str(tmp_path / "runtime"),
        KAFKA_BOOTSTRAP_SERVERS=runtime_env.bootstrap,
        DATABASE_URL=runtime_env.database_url,
        ADRELAY_TOPIC_PREFIX=runtime_env["ADRELAY_TOPIC_PREFIX"],
        ADRELAY_KAFKA_PORT="29092",
    )
    result = subprocess.run(
        [*RUNTIME, "up", "--only", "postgres,kafka"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert f"using your Kafka at {runtime_env.bootstrap}" in result.stdout
    assert "using your PostgreSQL" in result.stdout
    assert not (tmp_path / "runtime" / "kafka").exists(), "nothing of a broker may be installed"
    assert not (tmp_path / "runtime" / "postgres").exists()
    assert _kafka_broker_pids() == brokers_before


def test_a_missing_prerequisite_is_named(tmp_path: Path) -> None:
    env = _user_env(
        ADRELAY_RUNTIME_DIR=str(tmp_path / "runtime"), ADRELAY_KAFKA_PORT="29192", PATH="/nonexistent"
    )
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    result = subprocess.run(
        [*RUNTIME, "up", "--only", "kafka"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "missing prerequisite: java" in result.stderr
