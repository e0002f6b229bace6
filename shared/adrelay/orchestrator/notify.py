"""Notification sinks: where NotificationRequested and ReauthRequired reach people.

Pluggable by `ADRELAY_NOTIFY_SINKS` (comma-separated): `log` (default) writes one structured line;
`webhook` POSTs the event JSON to `ADRELAY_NOTIFY_WEBHOOK_URL` (retried on failure; delivery is at
least once, each event carries its stable event id). Events never carry tokens.
"""

from __future__ import annotations

import abc
import logging
import os

import httpx

from adrelay.events import Envelope, encode
from adrelay.messaging.consumer import TransientError

log = logging.getLogger("adrelay.notifications")


class Sink(abc.ABC):
    @abc.abstractmethod
    async def deliver(self, envelope: Envelope) -> None:
        """Deliver or raise TransientError (the consumer retries in place)."""


class LogSink(Sink):
    async def deliver(self, envelope: Envelope) -> None:
        payload = envelope.payload
        title = getattr(payload, "title", None) or f"{envelope.type}"
        message = getattr(payload, "message", None) or getattr(payload, "reason", "")
        log.info(
            "notification: %s — %s",
            title,
            message,
            extra={"fields": {"notification": envelope.type, "kind": getattr(payload, "kind", None)}},
        )


class WebhookSink(Sink):
    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url
        self.client = httpx.AsyncClient(timeout=timeout_s)

    async def deliver(self, envelope: Envelope) -> None:
        try:
            response = await self.client.post(
                self.url,
                content=encode(envelope),
                headers={"Content-Type": "application/json", "X-Adrelay-Event-Id": str(envelope.event_id)},
            )
        except httpx.HTTPError as exc:
            raise TransientError(f"notification webhook unreachable: {exc!r}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(f"notification webhook answered {response.status_code}")
        if response.status_code >= 400:
            log.error("notification webhook refused event %s: %s", envelope.event_id, response.status_code)


def sinks_from_env() -> list[Sink]:
    names = [n.strip() for n in os.environ.get("ADRELAY_NOTIFY_SINKS", "log").split(",") if n.strip()]
    sinks: list[Sink] = []
    for name in names:
        if name == "log":
            sinks.append(LogSink())
        elif name == "webhook":
            url = os.environ.get("ADRELAY_NOTIFY_WEBHOOK_URL", "")
            if not url:
                raise ValueError("ADRELAY_NOTIFY_SINKS=webhook needs ADRELAY_NOTIFY_WEBHOOK_URL")
            sinks.append(WebhookSink(url))
        else:
            raise ValueError(f"unknown notification sink {name!r}")
    return sinks
