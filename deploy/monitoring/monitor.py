"""Monitoring beside the local runtime: Prometheus (Debian's package) and the consumer-lag exporter.

    python deploy/monitoring/monitor.py up|down|status|figures

`up` installs Prometheus with apt-get when it is missing, then starts it as our own process (own
config, data dir and port; never the system service) scraping the five services on their default
web ports and the lag exporter, with the project's alert rules loaded. A second `up` changes nothing.
`figures` prints one scrape's consumer lag per group and topic and the runnable runs per platform.

Ports: Prometheus 19090 (`ADRELAY_PROMETHEUS_PORT`), lag exporter 19308 (`ADRELAY_LAG_EXPORTER_PORT`).
The tests use the same functions with their own ports, targets and a 1 s scrape interval.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = Path(os.environ.get("ADRELAY_RUNTIME_DIR", ROOT / ".runtime")).resolve() / "monitoring"
ALERTS = ROOT / "deploy/prometheus/alerts.yml"
EXPORTER = ROOT / "deploy/monitoring/lag_exporter.py"
PROMETHEUS_PORT = int(os.environ.get("ADRELAY_PROMETHEUS_PORT", "19090"))
EXPORTER_PORT = int(os.environ.get("ADRELAY_LAG_EXPORTER_PORT", "19308"))
SERVICE_PORTS = {
    "orchestrator": 6066,
    "meta-publisher": 6067,
    "tiktok-publisher": 6068,
    "snapchat-publisher": 6069,
    "tracker": 6070,
}


def say(message: str) -> None:
    print(f"[monitor] {message}", flush=True)


class MonitorError(Exception):
    """A monitoring step failed; the message says which and why."""


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


# ---- Prometheus from Debian's packages ------------------------------------------------------------
def prometheus_binary() -> str:
    """`prometheus` (Debian's package), installed with apt-get when missing."""
    found = shutil.which("prometheus")
    if found:
        return found
    say("installing Prometheus from Debian's packages (apt-get install prometheus)")
    sudo: list[str] = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # The package's own service must not start: policy-rc.d answers 101 (Docker images ship one).
    policy = Path("/usr/sbin/policy-rc.d")
    added_policy = False
    if not policy.exists():
        subprocess.run(
            [*sudo, "sh", "-c", f"printf '#!/bin/sh\\nexit 101\\n' > {policy} && chmod +x {policy}"],
            check=True,
        )
        added_policy = True
    try:
        cmd = [*sudo, "apt-get", "install", "-y", "--no-install-recommends", "prometheus"]
        if subprocess.run(cmd, env=env).returncode != 0:
            subprocess.run([*sudo, "apt-get", "update"], env=env, check=True)
            subprocess.run(cmd, env=env, check=True)
    finally:
        if added_policy:
            subprocess.run([*sudo, "rm", "-f", str(policy)], check=False)
    # In case the package started its service anyway (systemd hosts), leave it alone but say so.
    found = shutil.which("prometheus")
    if not found:
        raise MonitorError("apt-get installed prometheus but no prometheus binary is on PATH")
    return found


def promtool_binary() -> str:
    prometheus_binary()
    found = shutil.which("promtool")
    if not found:
        raise MonitorError("promtool (Debian's prometheus package) is not on PATH")
    return found


def prometheus_config(
    services: dict[str, str], exporter: str, interval: str = "5s", rule_files: list[Path] | None = None
) -> dict[str, Any]:
    """A Prometheus config scraping each service (job = service name) and the lag exporter."""
    jobs: list[dict[str, Any]] = [
        {
            "job_name": name,
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [address]}],
        }
        for name, address in services.items()
    ]
    jobs.append({"job_name": "kafka-lag", "static_configs": [{"targets": [exporter]}]})
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval},
        "rule_files": [str(p) for p in (rule_files if rule_files is not None else [ALERTS])],
        "scrape_configs": jobs,
    }


class Process:
    """A background process we started, known by its pid file (and the command it was started with)."""

    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.dir = directory
        self.pid_file = directory / f"{name}.pid"
        self.log = directory / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def pid(self) -> int | None:
        if self.proc is not None:  # started by this object: ask the child itself
            return self.proc.pid if self.proc.poll() is None else None
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ValueError):
            return None
        if stat.split(") ", 1)[-1].startswith("Z") or str(self.dir).encode() not in cmdline:
            return None
        return pid

    def start(self, cmd: list[str], die_with_parent: bool = False) -> int:
        """Start `cmd` in its own session; with `die_with_parent` (tests) the kernel ends it when the
        process that started it dies, even by SIGKILL, so no Prometheus outlives a killed test run."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=ROOT,
                preexec_fn=_die_with_parent if die_with_parent else None,
            )
        self.proc = proc
        self.pid_file.write_text(str(proc.pid))
        return proc.pid

    def stop(self, timeout_s: float = 15.0) -> None:
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self.pid() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.pid() is not None:
            os.kill(pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)
        self.pid_file.unlink(missing_ok=True)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def _die_with_parent() -> None:
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def wait_http(url: str, process: Process, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.pid() is None:
            code = process.proc.returncode if process.proc is not None else "?"
            raise MonitorError(f"{process.name} exited during start-up (exit code {code}):\n{process.tail()}")
        time.sleep(0.2)
    raise MonitorError(f"{process.name} not ready at {url} in {timeout_s:.0f}s:\n{process.tail()}")


def start_prometheus(
    directory: Path, config: dict[str, Any], port: int, die_with_parent: bool = False
) -> Process:
    """Prometheus with our config, data dir and port (the system service is never touched)."""
    binary = prometheus_binary()
    directory.mkdir(parents=True, exist_ok=True)
    config_file = directory / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    process = Process("prometheus", directory)
    process.start(
        [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={directory / 'data'}",
            "--storage.tsdb.retention.time=2d",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        die_with_parent,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", process)
    except MonitorError:
        process.stop()
        raise
    return process


def start_exporter(
    directory: Path,
    bootstrap: str,
    port: int,
    topic_filter: str = ".*",
    group_filter: str = ".*",
    die_with_parent: bool = False,
) -> Process:
    process = Process("lag-exporter", directory)
    process.start(
        [
            sys.executable,
            str(EXPORTER),
            f"--kafka.server={bootstrap}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--topic.filter={topic_filter}",
            f"--group.filter={group_filter}",
            f"--marker={directory}",
        ],
        die_with_parent,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process)
    except MonitorError:
        process.stop()
        raise
    return process


def query(prometheus_url: str, promql: str) -> list[dict[str, Any]]:
    """An instant query's result vector."""
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.loads(response.read())
    if body.get("status") != "success":
        raise MonitorError(f"query {promql!r} failed: {body}")
    return list(body["data"]["result"])


LAG_QUERY = (
    'sum by (consumergroup, topic) (kafka_consumergroup_lag_sum{consumergroup!~".*adrelay-dlq-replay"})'
)
RUNNABLE_QUERY = "max by (platform) (adrelay_runnable_runs)"
DRIVEN_QUERY = "sum by (platform) (adrelay_runs_active)"


def figures(prometheus_url: str) -> str:
    """One scrape's consumer lag per group and topic, runnable runs (due, no runner) and runs being
    driven per platform: once a request is consumed, the backlog lives in PostgreSQL, not in Kafka."""
    lines = [f"at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}", "consumer lag (kafka_consumergroup_lag_sum):"]
    for sample in sorted(
        query(prometheus_url, LAG_QUERY),
        key=lambda s: (s["metric"].get("consumergroup", ""), s["metric"].get("topic", "")),
    ):
        m = sample["metric"]
        lines.append(f"  {m.get('consumergroup', '?'):40} {m.get('topic', '?'):48} {sample['value'][1]}")
    lines.append("runnable runs (adrelay_runnable_runs):")
    for sample in sorted(
        query(prometheus_url, RUNNABLE_QUERY), key=lambda s: s["metric"].get("platform", "")
    ):
        lines.append(f"  {sample['metric'].get('platform', '?'):12} {sample['value'][1]}")
    lines.append("runs being driven (adrelay_runs_active):")
    for sample in sorted(query(prometheus_url, DRIVEN_QUERY), key=lambda s: s["metric"].get("platform", "")):
        lines.append(f"  {sample['metric'].get('platform', '?'):12} {sample['value'][1]}")
    return "\n".join(lines)


# ---- entry point -----------------------------------------------------------------------------------
def up() -> None:
    bootstrap = (
        os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        or f"127.0.0.1:{os.environ.get('ADRELAY_KAFKA_PORT', '19092')}"
    )
    exporter = Process("lag-exporter", RUNTIME)
    if exporter.pid() is None:
        if port_open(EXPORTER_PORT):
            raise MonitorError(f"port {EXPORTER_PORT} is taken; set ADRELAY_LAG_EXPORTER_PORT")
        start_exporter(RUNTIME, bootstrap, EXPORTER_PORT, topic_filter="^adrelay\\.", group_filter=".*")
        say(f"lag exporter ready on http://127.0.0.1:{EXPORTER_PORT}/metrics (Kafka {bootstrap})")
    else:
        say(f"lag exporter already running on port {EXPORTER_PORT}")
    prometheus = Process("prometheus", RUNTIME / "prometheus")
    if prometheus.pid() is None:
        if port_open(PROMETHEUS_PORT):
            raise MonitorError(f"port {PROMETHEUS_PORT} is taken; set ADRELAY_PROMETHEUS_PORT")
        services = {name: f"127.0.0.1:{port}" for name, port in SERVICE_PORTS.items()}
        config = prometheus_config(services, f"127.0.0.1:{EXPORTER_PORT}", interval="5s")
        start_prometheus(RUNTIME / "prometheus", config, PROMETHEUS_PORT)
        say(f"Prometheus ready on http://127.0.0.1:{PROMETHEUS_PORT} (alerts: {ALERTS.relative_to(ROOT)})")
    else:
        say(f"Prometheus already running on port {PROMETHEUS_PORT}")


def down() -> None:
    for process in (Process("prometheus", RUNTIME / "prometheus"), Process("lag-exporter", RUNTIME)):
        if process.pid() is not None:
            say(f"stopping {process.name}")
        process.stop()


def status() -> None:
    for process, port in (
        (Process("prometheus", RUNTIME / "prometheus"), PROMETHEUS_PORT),
        (Process("lag-exporter", RUNTIME), EXPORTER_PORT),
    ):
        pid = process.pid()
        print(f"{process.name + ':':14} " + (f"running (pid {pid}, 127.0.0.1:{port})" if pid else "stopped"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["up", "down", "status", "figures"])
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            up()
        elif args.command == "down":
            down()
        elif args.command == "status":
            status()
        else:
            print(figures(f"http://127.0.0.1:{PROMETHEUS_PORT}"))
    except MonitorError as exc:
        print(f"[monitor] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
