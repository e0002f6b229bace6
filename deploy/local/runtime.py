"""The local runtime: Apache Kafka (KRaft, one node), PostgreSQL and the platform sandboxes.

    python deploy/local/runtime.py up|down|status [--only kafka,postgres,sandboxes]

Installs what is missing and starts what is not running; a second `up` changes nothing. Kafka's
jars are resolved from Maven Central with Maven; PostgreSQL comes from Debian's packages and runs as
a cluster the project owns (own data dir and port). With KAFKA_BOOTSTRAP_SERVERS or DATABASE_URL
set, the user's own Kafka or PostgreSQL is used and neither is installed nor started; the schema is
still migrated and the topics still created, since those belong to adrelay.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "shared"))

KAFKA_VERSION = "4.1.2"
MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
RUNTIME = Path(os.environ.get("ADRELAY_RUNTIME_DIR", ROOT / ".runtime")).resolve()
KAFKA_PORT = int(os.environ.get("ADRELAY_KAFKA_PORT", "19092"))
KAFKA_CONTROLLER_PORT = int(os.environ.get("ADRELAY_KAFKA_CONTROLLER_PORT", str(KAFKA_PORT + 1)))
PG_PORT = int(os.environ.get("ADRELAY_PG_PORT", "55432"))
PG_DATABASE = os.environ.get("ADRELAY_PG_DATABASE", "adrelay")
SANDBOX_PORTS = {
    "meta": int(os.environ.get("ADRELAY_SANDBOX_META_PORT", "18081")),
    "tiktok": int(os.environ.get("ADRELAY_SANDBOX_TIKTOK_PORT", "18082")),
    "snapchat": int(os.environ.get("ADRELAY_SANDBOX_SNAPCHAT_PORT", "18083")),
}
COMPONENTS = ("kafka", "postgres", "sandboxes")


class RuntimeError_(Exception):
    """A step of the local runtime failed; the message says which and why."""


def say(message: str) -> None:
    print(f"[runtime] {message}", flush=True)


# ---- helpers -------------------------------------------------------------------------------------
def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    # A zombie or a reused pid of another program does not count.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    if stat.split(") ", 1)[-1].startswith("Z"):
        return None
    marker = pid_file.with_suffix(".cmd")
    if marker.exists() and marker.read_text().encode() not in cmdline.replace(b"\0", b" "):
        return None
    return pid


def stop_pid(pid_file: Path, name: str, timeout_s: float = 30.0) -> None:
    pid = pid_alive(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return
    say(f"stopping {name} (pid {pid})")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pid_alive(pid_file) is None:
            break
        time.sleep(0.2)
    else:
        say(f"{name} did not stop in {timeout_s:.0f}s; killing it")
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


def require(binary: str, what: str) -> str:
    path = shutil.which(binary)
    if not path:
        raise RuntimeError_(f"missing prerequisite: {binary} ({what}) is not on PATH")
    return path


def start_background(
    cmd: list[str],
    log_file: Path,
    pid_file: Path,
    marker: str,
    env: dict[str, str] | None = None,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
        )
    pid_file.write_text(str(proc.pid))
    pid_file.with_suffix(".cmd").write_text(marker)
    return proc


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


# ---- Kafka ----------------------------------------------------------------------------------------
class Kafka:
    def __init__(self) -> None:
        self.dir = RUNTIME / "kafka"
        self.lib = self.dir / f"lib-{KAFKA_VERSION}"
        self.data = self.dir / "data"
        self.logs = self.dir / "logs"
        self.pid_file = self.dir / "kafka.pid"
        self.config = self.dir / "server.properties"
        self.bootstrap = f"127.0.0.1:{KAFKA_PORT}"

    @property
    def external(self) -> str | None:
        return os.environ.get("KAFKA_BOOTSTRAP_SERVERS")

    def install(self) -> None:
        marker = self.lib / ".complete"
        if marker.exists():
            return
        java = require("java", "OpenJDK 17 or newer, to run the Kafka broker")
        require("mvn", "Apache Maven, to resolve the Kafka jars from Maven Central")
        version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
        say(f"java: {version.splitlines()[0] if version else '?'}")
        say(f"resolving Apache Kafka {KAFKA_VERSION} jars from Maven Central into {self.lib}")
        shutil.rmtree(self.lib, ignore_errors=True)
        started = time.monotonic()
        result = subprocess.run(
            [
                "mvn",
                "-B",
                "-q",
                "-f",
                str(ROOT / "deploy/local/kafka/pom.xml"),
                f"-Dkafka.version={KAFKA_VERSION}",
                f"{MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={self.lib}",
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError_(
                f"mvn could not resolve Kafka:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        jars = {p.name for p in self.lib.glob("*.jar")}
        bindings = [j for j in jars if j.startswith("log4j-slf4j")]
        if f"kafka_2.13-{KAFKA_VERSION}.jar" not in jars or len(bindings) != 1:
            raise RuntimeError_(f"unexpected Kafka classpath in {self.lib}: {sorted(jars)}")
        marker.write_text(KAFKA_VERSION)
        say(f"Kafka jars ready ({len(jars)} jars, {time.monotonic() - started:.1f}s)")

    def cluster_id(self) -> str:
        path = self.dir / "cluster.id"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode())
        return path.read_text().strip()

    def write_config(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        template = (ROOT / "deploy/local/kafka/server.properties").read_text()
        self.config.write_text(
            template.replace("@KAFKA_PORT@", str(KAFKA_PORT))
            .replace("@CONTROLLER_PORT@", str(KAFKA_CONTROLLER_PORT))
            .replace("@DATA_DIR@", str(self.data))
        )

    def java_cmd(self, main: str, *args: str) -> list[str]:
        return [
            require("java", "OpenJDK 17 or newer"),
            "-Xms256m",
            "-Xmx768m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={ROOT / 'deploy/local/kafka/log4j2.properties'}",
            f"-Dkafka.logs.dir={self.logs}",
            "-cp",
            f"{self.lib}/*",
            main,
            *args,
        ]

    def format_storage(self) -> None:
        meta = self.data / "meta.properties"
        if meta.exists() and f"cluster.id={self.cluster_id()}" not in meta.read_text():
            say("Kafka data dir belongs to another cluster id; wiping it (local broker only)")
            shutil.rmtree(self.data)
            self.data.mkdir(parents=True)
        if (self.data / "meta.properties").exists():
            return
        result = subprocess.run(
            self.java_cmd(
                "kafka.tools.StorageTool", "format", "-g", "-t", self.cluster_id(), "-c", str(self.config)
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError_(f"kafka storage format failed:\n{result.stdout}\n{result.stderr}")

    def up(self) -> str:
        if self.external:
            say(
                f"using your Kafka at {self.external} (KAFKA_BOOTSTRAP_SERVERS); installing and starting none"
            )
            wait_kafka_ready(self.external, deadline_s=60)
            return self.external
        if pid_alive(self.pid_file) and port_open(KAFKA_PORT):
            wait_kafka_ready(self.bootstrap, deadline_s=60, expect_cluster_id=self.cluster_id())
            say(f"Kafka already running at {self.bootstrap}")
            return self.bootstrap
        if port_open(KAFKA_PORT):
            raise RuntimeError_(
                f"port {KAFKA_PORT} is taken by a program adrelay did not start; set ADRELAY_KAFKA_PORT "
                "or KAFKA_BOOTSTRAP_SERVERS to use that broker"
            )
        self.install()
        self.write_config()
        self.format_storage()
        say(f"starting Kafka {KAFKA_VERSION} (KRaft, one node) on {self.bootstrap}")
        started = time.monotonic()
        proc = start_background(
            self.java_cmd("kafka.Kafka", str(self.config)),
            self.logs / "stdout.log",
            self.pid_file,
            marker="kafka.Kafka " + str(self.config),
        )
        deadline = time.monotonic() + 120
        while not port_open(KAFKA_PORT):
            # Our own child: ask it directly (its /proc cmdline is still ours until it execs).
            if proc.poll() is not None:
                raise RuntimeError_(
                    f"Kafka exited during start-up:\n{tail(self.logs / 'server.log')}\n"
                    f"{tail(self.logs / 'stdout.log')}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError_(f"Kafka did not open its port in 120s:\n{tail(self.logs / 'server.log')}")
            time.sleep(0.2)
        wait_kafka_ready(self.bootstrap, deadline_s=120, expect_cluster_id=self.cluster_id())
        say(f"Kafka ready in {time.monotonic() - started:.1f}s")
        return self.bootstrap

    def down(self) -> None:
        if not self.external:
            stop_pid(self.pid_file, "Kafka")

    def status(self) -> str:
        if self.external:
            return f"external ({self.external})"
        pid = pid_alive(self.pid_file)
        return f"running (pid {pid}, {self.bootstrap})" if pid and port_open(KAFKA_PORT) else "stopped"


def wait_kafka_ready(bootstrap: str, deadline_s: float, expect_cluster_id: str | None = None) -> None:
    """Ready means: metadata answers (one broker), and a produce/consume round trip succeeds."""
    from adrelay.runtime_checks import kafka_round_trip

    try:
        cluster_id = asyncio.run(kafka_round_trip(bootstrap, deadline_s))
    except Exception as exc:  # report what failed, with the cause
        raise RuntimeError_(f"Kafka at {bootstrap} is not ready: {exc!r}") from exc
    if expect_cluster_id and cluster_id != expect_cluster_id:
        raise RuntimeError_(
            f"the broker at {bootstrap} has cluster id {cluster_id}, not ours ({expect_cluster_id})"
        )


# ---- PostgreSQL ----------------------------------------------------------------------------------
class Postgres:
    def __init__(self) -> None:
        self.root_mode = os.geteuid() == 0
        self.dir = self._choose_dir()
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.url = f"postgresql://postgres@127.0.0.1:{PG_PORT}/{PG_DATABASE}"

    def _choose_dir(self) -> Path:
        preferred = RUNTIME / "postgres"
        if os.geteuid() != 0:
            return preferred
        # The server runs as the postgres user, who must be able to reach its data dir.
        probe = preferred
        while not probe.exists():
            probe = probe.parent
        ok = (
            subprocess.run(
                ["su", "postgres", "-s", "/bin/sh", "-c", f"test -x '{probe}'"], capture_output=True
            ).returncode
            == 0
            if shutil.which("su") and _has_user("postgres")
            else True
        )
        if ok:
            return preferred
        digest = hashlib.sha1(str(RUNTIME).encode()).hexdigest()[:10]
        return Path(f"/var/tmp/adrelay-postgres-{digest}")

    @property
    def external(self) -> str | None:
        return os.environ.get("DATABASE_URL")

    def bin(self) -> Path:
        candidates = sorted(
            Path("/usr/lib/postgresql").glob("*/bin/postgres"),
            key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        )
        if not candidates:
            raise RuntimeError_("PostgreSQL server binaries not found")
        return candidates[-1].parent

    def install(self) -> None:
        if list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
            return
        say("installing PostgreSQL from Debian's packages (apt-get install postgresql)")
        sudo: list[str] = []
        if os.geteuid() != 0:
            if not shutil.which("sudo"):
                raise RuntimeError_(
                    "missing prerequisite: PostgreSQL server (apt-get install postgresql) "
                    "and no root or sudo to install it"
                )
            sudo = ["sudo", "-n"]
        conf = Path("/etc/postgresql-common/createcluster.conf")
        if not conf.exists():
            # We run our own cluster; do not let the package create and start a default one on 5432.
            subprocess.run([*sudo, "mkdir", "-p", str(conf.parent)], check=True)
            subprocess.run([*sudo, "sh", "-c", f"echo 'create_main_cluster = false' > {conf}"], check=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        cmd = [*sudo, "apt-get", "install", "-y", "--no-install-recommends", "postgresql"]
        if subprocess.run(cmd, env=env).returncode != 0:
            subprocess.run([*sudo, "apt-get", "update"], env=env, check=True)
            subprocess.run(cmd, env=env, check=True)

    def _as_owner(self, command: str) -> list[str]:
        if self.root_mode:
            return ["su", "postgres", "-s", "/bin/sh", "-c", command]
        return ["sh", "-c", command]

    def running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        result = subprocess.run(
            self._as_owner(f"{self.bin()}/pg_ctl -D '{self.data}' status"), capture_output=True, text=True
        )
        return result.returncode == 0

    def up(self) -> str:
        if self.external:
            say("using your PostgreSQL (DATABASE_URL); not installing or starting one")
            return self.external
        self.install()
        if not self.running():
            if port_open(PG_PORT):
                raise RuntimeError_(
                    f"port {PG_PORT} is taken by a program adrelay did not start; "
                    "set ADRELAY_PG_PORT or DATABASE_URL"
                )
            started = time.monotonic()
            self.dir.mkdir(parents=True, exist_ok=True)
            if self.root_mode:
                shutil.chown(self.dir, "postgres", "postgres")
            if not (self.data / "PG_VERSION").exists():
                say(f"creating a PostgreSQL cluster in {self.data}")
                subprocess.run(
                    self._as_owner(
                        f"{self.bin()}/initdb -D '{self.data}' -A trust -U postgres --no-sync -E UTF8 "
                        f"--locale=C.UTF-8 > '{self.dir}/initdb.log' 2>&1"
                    ),
                    check=True,
                )
            say(f"starting PostgreSQL on 127.0.0.1:{PG_PORT}")
            opts = (
                f"-p {PG_PORT} -k '{self.dir}' -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
            )
            result = subprocess.run(
                self._as_owner(
                    f"{self.bin()}/pg_ctl -D '{self.data}' -l '{self.log}' -w -t 60 -o \"{opts}\" start"
                ),
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise RuntimeError_(
                    f"PostgreSQL did not start:\n{result.stdout}{result.stderr}\n{tail(self.log)}"
                )
            say(f"PostgreSQL ready in {time.monotonic() - started:.1f}s")
        else:
            say(f"PostgreSQL already running on 127.0.0.1:{PG_PORT}")
        self.create_database(PG_DATABASE)
        return self.url

    def create_database(self, name: str) -> None:
        from adrelay.runtime_checks import ensure_database

        asyncio.run(ensure_database(f"postgresql://postgres@127.0.0.1:{PG_PORT}/{name}"))

    def down(self) -> None:
        if self.external or not (self.data / "PG_VERSION").exists():
            return
        if self.running():
            say("stopping PostgreSQL")
            subprocess.run(
                self._as_owner(f"{self.bin()}/pg_ctl -D '{self.data}' -m fast -w stop"), capture_output=True
            )

    def status(self) -> str:
        if self.external:
            return "external (DATABASE_URL)"
        return f"running (127.0.0.1:{PG_PORT}, data {self.data})" if self.running() else "stopped"


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# ---- sandboxes -----------------------------------------------------------------------------------
class Sandboxes:
    def __init__(self) -> None:
        self.dir = RUNTIME / "sandboxes"
        self.pid_file = self.dir / "sandboxes.pid"

    def healthy(self) -> bool:
        for port in SANDBOX_PORTS.values():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1) as resp:
                    if resp.status != 200:
                        return False
            except OSError:
                return False
        return True

    def up(self) -> None:
        if pid_alive(self.pid_file) and self.healthy():
            say("sandboxes already running")
            return
        stop_pid(self.pid_file, "sandboxes")
        taken = [p for p in SANDBOX_PORTS.values() if port_open(p)]
        if taken:
            raise RuntimeError_(f"sandbox ports {taken} are taken by a program adrelay did not start")
        self.dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "sandbox", "--state-dir", str(self.dir / "state")]
        for platform, port in SANDBOX_PORTS.items():
            cmd += [f"--{platform}-port", str(port)]
        proc = start_background(cmd, self.dir / "sandboxes.log", self.pid_file, marker="-m sandbox")
        deadline = time.monotonic() + 30
        while not self.healthy():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError_(f"sandboxes did not start:\n{tail(self.dir / 'sandboxes.log')}")
            time.sleep(0.2)
        say(
            "sandboxes ready: "
            + ", ".join(f"{p} http://127.0.0.1:{port}" for p, port in SANDBOX_PORTS.items())
        )

    def down(self) -> None:
        stop_pid(self.pid_file, "sandboxes", timeout_s=10)

    def status(self) -> str:
        pid = pid_alive(self.pid_file)
        return f"running (pid {pid})" if pid and self.healthy() else "stopped"


# ---- schema and topics ---------------------------------------------------------------------------
def migrate(database_url: str) -> None:
    from adrelay.storage.migrate import upgrade

    upgrade(database_url)
    say("database schema at the newest migration")


def create_topics(bootstrap: str) -> None:
    from adrelay.messaging.admin import ensure_topics

    created = asyncio.run(ensure_topics(bootstrap))
    say(f"topics ready ({created} created)" if created else "topics ready")


# ---- entry point ---------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument(
        "--only", default=",".join(COMPONENTS), help="comma-separated subset of " + ",".join(COMPONENTS)
    )
    args = parser.parse_args(argv)
    only = [c for c in args.only.split(",") if c]
    unknown = set(only) - set(COMPONENTS)
    if unknown:
        parser.error(f"unknown components: {sorted(unknown)}")
    kafka, postgres, sandboxes = Kafka(), Postgres(), Sandboxes()
    try:
        if args.command == "up":
            started = time.monotonic()
            RUNTIME.mkdir(parents=True, exist_ok=True)
            if "postgres" in only:
                migrate(postgres.up())
            if "kafka" in only:
                create_topics(kafka.up())
            if "sandboxes" in only:
                sandboxes.up()
            say(f"up in {time.monotonic() - started:.1f}s")
        elif args.command == "down":
            if "sandboxes" in only:
                sandboxes.down()
            if "kafka" in only:
                kafka.down()
            if "postgres" in only:
                postgres.down()
        else:
            print(f"kafka:     {kafka.status()}")
            print(f"postgres:  {postgres.status()}")
            print(f"sandboxes: {sandboxes.status()}")
    except RuntimeError_ as exc:
        print(f"[runtime] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
