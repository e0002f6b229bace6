"""Settings from the environment, with defaults that match the local runtime (`make up`).

Users with their own Kafka and PostgreSQL set KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL. Platform base
URLs default to the real hosts; the local runtime and the tests point them at the sandboxes.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

# The local runtime's endpoints (deploy/local/runtime.py), following its port variables.
DEFAULT_KAFKA = f"127.0.0.1:{os.environ.get('ADRELAY_KAFKA_PORT') or '19092'}"
DEFAULT_DATABASE_URL = (
    f"postgresql://postgres@127.0.0.1:{os.environ.get('ADRELAY_PG_PORT') or '55432'}/"
    f"{os.environ.get('ADRELAY_PG_DATABASE') or 'adrelay'}"
)

SERVICE_WEB_PORTS = {
    "orchestrator": 6066,
    "meta-publisher": 6067,
    "tiktok-publisher": 6068,
    "snapchat-publisher": 6069,
    "tracker": 6070,
}


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


def _int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap_servers: str = field(
        default_factory=lambda: _env("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA)
    )
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", DEFAULT_DATABASE_URL))
    log_level: str = field(default_factory=lambda: _env("ADRELAY_LOG_LEVEL", "INFO"))
    # Consumer group timings: production defaults; tests shorten them.
    session_timeout_s: float = field(default_factory=lambda: _float("ADRELAY_SESSION_TIMEOUT_S", 30.0))
    heartbeat_interval_s: float = field(default_factory=lambda: _float("ADRELAY_HEARTBEAT_INTERVAL_S", 3.0))
    commit_interval_s: float = field(default_factory=lambda: _float("ADRELAY_COMMIT_INTERVAL_S", 1.0))
    db_pool_max: int = field(default_factory=lambda: _int("ADRELAY_DB_POOL_MAX", 10))
    outbox_poll_s: float = field(default_factory=lambda: _float("ADRELAY_OUTBOX_POLL_S", 1.0))
    # A consumer that delivers nothing this long while messages wait restarts its service in place
    # (adrelay.messaging.watchdog); 0 turns the watchdog off.
    consumer_stall_s: float = field(default_factory=lambda: _float("ADRELAY_CONSUMER_STALL_S", 120.0))
    crash_at: str = field(default_factory=lambda: _env("ADRELAY_CRASH_AT", ""))
    # Faust keeps per-app state here; it holds nothing we need (tables are in memory), so it stays
    # out of the working directory.
    faust_datadir: str = field(
        default_factory=lambda: _env(
            "ADRELAY_FAUST_DATADIR", os.path.join(tempfile.gettempdir(), "adrelay-faust")
        )
    )

    def web_port(self, service: str) -> int:
        env = "ADRELAY_WEB_PORT"
        return _int(env, SERVICE_WEB_PORTS.get(service, 6066))


def settings() -> Settings:
    return Settings()
