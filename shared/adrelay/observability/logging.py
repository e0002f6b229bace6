"""JSON logs with campaign id and publish id, and a redaction filter so no secret reaches a log line.

The context (service, campaign id, publish id, event id) travels in contextvars: set it with
`log_context(...)` around the handling of one event or one run and every line inside carries it.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "adrelay_log_context", default=None
)
SERVICE_NAME = {"value": "adrelay"}

# Values that look like credentials in URLs, headers or JSON; redacted whatever registered secrets say.
_SECRET_PATTERNS = [
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|app_secret|fb_exchange_token|input_token|auth_code"
        r"|appsecret_proof|secret|password)(?:=|\"\s*:\s*\"|'\s*:\s*'))([^&\s\"',}]+)"
    ),
    re.compile(r"(?i)([?&]code=)([^&\s\"']+)"),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]{6,})"),
    re.compile(r"(?i)(access-token\"?\s*[:=]\s*\"?)([^\s\",}]+)"),
]
# The most recently used secrets, newest last. Bounded: Snapchat alone issues a token per connection
# every 30 minutes, and every log line is checked against the whole registry.
MAX_REGISTERED_SECRETS = 4096
_registered: OrderedDict[str, None] = OrderedDict()
_registered_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Every decrypted token is registered, so it is redacted even where no pattern would catch it.
    A token in use is registered again each time it is decrypted, so only long-unused ones age out."""
    if value and len(value) >= 6:
        with _registered_lock:
            _registered[value] = None
            _registered.move_to_end(value)
            while len(_registered) > MAX_REGISTERED_SECRETS:
                _registered.popitem(last=False)


def redact(text: str) -> str:
    with _registered_lock:
        secrets = list(_registered)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "[REDACTED]")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}[REDACTED]", text)
    return text


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    merged = {**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_context.get() or {})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": SERVICE_NAME["value"],
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update(_context.get() or {})
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


class RedactingFilter(logging.Filter):
    """For handlers that are not ours (faust's own console handler): scrub the message text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def logging_config(service: str, level: str = "INFO") -> dict[str, Any]:
    """dictConfig for a service process (handed to the faust Worker)."""
    SERVICE_NAME["value"] = service
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "filters": {"redact": {"()": RedactingFilter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["redact"],
            }
        },
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            # httpx logs full request URLs at INFO; platform URLs can carry tokens (Meta access_token).
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            "aiokafka": {"level": "WARNING"},
            "faust": {"level": "WARNING" if level != "DEBUG" else "DEBUG"},
            "mode": {"level": "WARNING" if level != "DEBUG" else "DEBUG"},
            "alembic": {"level": "WARNING"},
        },
    }


def setup(service: str, level: str = "INFO") -> None:
    import logging.config

    logging.config.dictConfig(logging_config(service, level))
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
