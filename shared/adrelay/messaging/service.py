"""What every adrelay service process is made of.

A faust-streaming app (its app id is the consumer group; `at_least_once`; one agent per subscribed
topic with concurrency 1), a PostgreSQL pool, one idempotent Kafka producer, the outbox relay, and
the web endpoints `/healthz`, `/readyz` and `/metrics`. A service module only wires: which topics,
which handlers, which background loops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, NoReturn

import faust
from aiohttp import web as aioweb
from aiokafka import TopicPartition

from adrelay import topics
from adrelay.config import Settings
from adrelay.events import Envelope
from adrelay.messaging import crash
from adrelay.messaging.consumer import Handler, MessageProcessor, Subscription, faust_agent
from adrelay.messaging.kafka import KafkaProducer
from adrelay.messaging.offsets import BrokerOffsets
from adrelay.messaging.outbox import Outbox, OutboxRelay
from adrelay.messaging.watchdog import ConsumerWatchdog, DeliveryProgress
from adrelay.observability import logging as obs_logging
from adrelay.observability import metrics
from adrelay.storage.db import Database
from adrelay.topics import TopicSpec

log = logging.getLogger(__name__)

BackgroundLoop = Callable[[], Awaitable[None]]


def _broker_urls(bootstrap: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap.split(",") if server.strip()]


class ServiceRuntime:
    def __init__(self, name: str, settings: Settings | None = None) -> None:
        self.name = name
        self.settings = settings or Settings()
        self.db = Database(self.settings.database_url, max_size=self.settings.db_pool_max)
        self.kafka = KafkaProducer(self.settings.kafka_bootstrap_servers, client_id=name)
        self.outbox = Outbox(name)
        self.relay = OutboxRelay(
            self.settings.database_url, name, self.kafka, poll_interval_s=self.settings.outbox_poll_s
        )
        self.app = self._make_app()
        metrics.OUTBOX_PUBLISHED.labels(name).inc(0)
        metrics.OUTBOX_FAILED.labels(name).inc(0)
        self.started = asyncio.Event()
        self.subscriptions: list[Subscription] = []
        self.progress = DeliveryProgress()
        metrics.CONSUMER_STALL_RESTARTS.labels(name).set(crash.restarts_in_place())
        self._loops: list[tuple[str, BackgroundLoop]] = [("outbox-relay", self.relay.run)]
        self._readiness_checks: list[Callable[[], Awaitable[bool]]] = []
        self._install_web()
        self._install_input_guard()

    # ---- wiring ------------------------------------------------------------------------------
    def _make_app(self) -> faust.App:
        s = self.settings
        os.makedirs(s.faust_datadir, exist_ok=True)  # faust creates only the last level
        app = faust.App(
            topics.prefixed(self.name),  # app id = consumer group; namespaced like the topics
            broker=_broker_urls(s.kafka_bootstrap_servers),
            value_serializer="raw",
            key_serializer="raw",
            processing_guarantee="at_least_once",
            store="memory://",
            datadir=os.path.join(s.faust_datadir, "{conf.name}"),
            autodiscover=False,
            topic_allow_declare=False,
            topic_disable_leader=True,
            consumer_auto_offset_reset="earliest",
            broker_session_timeout=s.session_timeout_s,
            broker_heartbeat_interval=s.heartbeat_interval_s,
            broker_rebalance_timeout=max(s.session_timeout_s * 2, 10.0),
            broker_commit_interval=s.commit_interval_s,
            producer_acks=-1,
            web_enabled=True,
            web_port=s.web_port(self.name),
            web_bind="0.0.0.0",
            web_tables_enabled=False,
            web_router_enabled=False,
            web_stats_enabled=False,
            web_graph_enabled=False,
            web_metrics_enabled=False,
        )
        from faust.sensors.prometheus import setup_prometheus_sensors

        setup_prometheus_sensors(app, pattern="/metrics", name_prefix=self.name.replace("-", "_"))

        @app.task
        async def _started() -> None:
            self.started.set()
            log.info("%s started", self.name)

        @app.on_before_shutdown.connect  # type: ignore[arg-type]
        async def _shutdown(_app: Any, **_kwargs: Any) -> None:
            await self.kafka.close()
            await self.db.close()

        return app

    def subscribe(
        self, spec: TopicSpec, handler: Handler, event_types: Iterable[str] | None = None
    ) -> Subscription:
        """Consume `spec`'s topic; each event is applied by `handler` once, in one transaction."""
        sub = Subscription(spec, handler, frozenset(event_types) if event_types is not None else None)
        self.subscriptions.append(sub)
        metrics.DLQ_MESSAGES.labels(self.name, spec.name).inc(0)  # series exist before the first letter
        for kind in ("transient", "permanent", "unexpected"):
            metrics.EVENTS_FAILED.labels(self.name, spec.name, kind).inc(0)
        topic = self.app.topic(
            spec.name, key_serializer="raw", value_serializer="raw", allow_empty=True, internal=False
        )
        processor = MessageProcessor(self, sub)
        self.app.agent(topic, name=f"{self.name}.{spec.key}", concurrency=1)(
            faust_agent(processor, self.progress)
        )
        return sub

    def background(self, name: str, loop: BackgroundLoop) -> None:
        """A long-running loop started with the service (runners, schedulers)."""
        self._loops.append((name, loop))

    def readiness_check(self, check: Callable[[], Awaitable[bool]]) -> None:
        self._readiness_checks.append(check)

    async def emit(self, conn: Any, envelope: Envelope) -> None:
        """Emit `envelope` when the caller's transaction commits (outbox)."""
        await self.outbox.add(conn, envelope)

    def _install_watchdog(self) -> None:
        if not self.subscriptions or self.settings.consumer_stall_s <= 0:
            return
        subscribed = {sub.topic for sub in self.subscriptions}

        def assignment() -> list[TopicPartition]:
            if not self.started.is_set():
                return []
            return [
                TopicPartition(tp.topic, tp.partition)
                for tp in self.app.consumer.assignment()
                if tp.topic in subscribed
            ]

        watchdog = ConsumerWatchdog(
            service=self.name,
            group=self.app.conf.id,
            offsets=BrokerOffsets(self.settings.kafka_bootstrap_servers, client_id=f"{self.name}-watchdog"),
            progress=self.progress,
            assignment=assignment,
            stall_after_s=self.settings.consumer_stall_s,
            on_stall=restart_in_place,
        )
        self._loops.append(("consumer-watchdog", watchdog.run))

    def _install_loops(self) -> None:
        self._install_watchdog()
        for name, loop in self._loops:

            async def supervised(name: str = name, loop: BackgroundLoop = loop) -> None:
                while True:
                    try:
                        await loop()
                        return
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("background loop %s crashed; restarting", name)
                        await asyncio.sleep(1.0)

            self.app.task(supervised, traced=False)

    # ---- web ---------------------------------------------------------------------------------
    def _install_web(self) -> None:
        runtime = self

        @self.app.page("/healthz")
        async def healthz(web: Any, request: Any) -> Any:
            return web.json({"status": "ok", "service": runtime.name})

        @self.app.page("/readyz")
        async def readyz(web: Any, request: Any) -> Any:
            checks = await runtime.readiness()
            ok = all(checks.values())
            return web.json({"ready": ok, "checks": checks}, status=200 if ok else 503)

    async def readiness(self) -> dict[str, bool]:
        """Ready: app started, database and broker reachable. Not tied to partition assignment."""
        database, broker = await asyncio.gather(self.db.ping(), self.kafka.reachable())
        checks = {"started": self.started.is_set(), "database": database, "broker": broker}
        for i, check in enumerate(self._readiness_checks):
            try:
                checks[f"check_{i}"] = await check()
            except Exception:
                checks[f"check_{i}"] = False
        return checks

    def _install_input_guard(self) -> None:
        """No request carrying a NUL character (U+0000) reaches a handler: PostgreSQL text cannot hold
        it, so it would surface as a 500 deep inside; it is refused up front with a clear 400."""

        @aioweb.middleware
        async def refuse_nul(request: aioweb.Request, handler: Any) -> Any:
            bad = "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.query.items())
            small = request.content_length is not None and request.content_length <= 1024 * 1024
            if not bad and small and request.content_type == "application/json":
                body = await request.read()  # cached: the handler reads it again for free
                bad = b"\\u0000" in body
            if bad:
                return aioweb.json_response(
                    {"error": "NUL characters (U+0000) are not accepted in paths, queries or bodies"},
                    status=400,
                )
            return await handler(request)

        self.app.web.web_app.middlewares.append(refuse_nul)  # type: ignore[attr-defined]

    def add_routes(self, routes: list[aioweb.RouteDef]) -> None:
        """Extra HTTP endpoints (the orchestrator's API, the tracker's webhooks)."""
        web_app = self.app.web.web_app  # type: ignore[attr-defined]  # the aiohttp app behind faust's web
        web_app.add_routes(routes)

    # ---- running -----------------------------------------------------------------------------
    def run(self) -> None:
        """Run the worker in this process until SIGTERM/SIGINT (graceful shutdown)."""
        self._install_loops()
        worker = faust.Worker(
            self.app,
            loglevel=self.settings.log_level,
            logging_config=obs_logging.logging_config(self.name, self.settings.log_level),
            redirect_stdouts=False,
            override_logging=True,
            quiet=True,
        )
        worker.execute_from_commandline()


def restart_in_place(reason: str) -> NoReturn:
    """Replace this process with a fresh run of the same command line (same PID, same log files), as a
    supervisor would restart it, counting the restart in the environment."""
    log.error("restarting in place: %s", reason)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    env = {**os.environ, crash.RESTARTS_ENV: str(crash.restarts_in_place() + 1)}
    os.execve(sys.executable, sys.orig_argv, env)
