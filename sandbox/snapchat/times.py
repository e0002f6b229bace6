"""Time formats as Snap uses them.

Entity times are echoed in UTC with millisecond precision and a `Z` (`2026-01-01T00:00:00.000Z`, as
recorded); stats times are echoed with the caller's offset (`2025-07-01T00:00:00.000+02:00`, as
recorded). Inputs must carry a zone: a naive `2026-01-01T00:00:00` is refused, as on the platform.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any


class TimeFormatError(ValueError):
    """A time value that Snap would refuse (not ISO-8601, or without a zone)."""


def utc_ms(ts: float) -> str:
    """Epoch seconds → `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    return iso_ms(datetime.fromtimestamp(ts, UTC))


def iso_ms(dt: datetime) -> str:
    """An aware datetime in its own offset with milliseconds; UTC is written `Z`."""
    base = dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{dt.microsecond // 1000:03d}"
    offset = dt.utcoffset() or timedelta(0)
    if offset == timedelta(0):
        return base + "Z"
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{base}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def parse_zoned(value: Any, field: str) -> datetime:
    """Parse an ISO-8601 time that must carry a zone (`Z` or `±HH:MM`)."""
    if not isinstance(value, str) or not value:
        raise TimeFormatError(f"{field} must be an ISO-8601 date-time string with a time zone")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise TimeFormatError(f"{field} is not a valid ISO-8601 date-time: {value!r}") from exc
    if "T" not in text or parsed.tzinfo is None or parsed.utcoffset() is None:
        raise TimeFormatError(
            f"{field} must include a time zone designator (e.g. 2026-01-01T00:00:00.000Z): {value!r}"
        )
    return parsed


def normalize_utc(value: Any, field: str) -> str:
    """Validate a zoned time and return Snap's echo form (UTC, ms, `Z`)."""
    return iso_ms(parse_zoned(value, field).astimezone(UTC))


def epoch(value: str | None) -> float | None:
    """A stored entity time (`...Z`) as epoch seconds; None stays None."""
    if not value:
        return None
    return datetime.fromisoformat(value).timestamp()


def local(dt: datetime, zone: tzinfo) -> datetime:
    return dt.astimezone(zone)
