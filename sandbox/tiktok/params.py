"""Typed, strict access to one request's parameters.

GET parameters arrive as strings, with list and object values JSON-encoded in the query
(`campaign_ids=["1"]`, `filtering={...}`); POST bodies are JSON. Every problem becomes a 40002 whose
message names the field, in the platform's marshmallow-style wording.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.tiktok.errors import ApiError, param_error

MISSING_MSG = "Missing data for required field."
UNKNOWN_MSG = "Unknown field."
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_ID_RE = re.compile(r"^[0-9]{1,20}$")

# Emoji and pictograph blocks; the platform refuses emoji in names and ad texts.
_EMOJI_RANGES = (
    (0x1F000, 0x1FAFF),
    (0x2600, 0x27BF),
    (0x2B00, 0x2BFF),
    (0xFE00, 0xFE0F),
    (0x1F1E6, 0x1F1FF),
    (0x200D, 0x200D),
    (0xE0020, 0xE007F),
)
# CJK characters count as two towards name limits.
_WIDE_RANGES = ((0x1100, 0x11FF), (0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF))


def has_emoji(text: str) -> bool:
    return any(lo <= ord(ch) <= hi for ch in text for lo, hi in _EMOJI_RANGES)


def display_length(text: str) -> int:
    """Length as the platform counts it for names: CJK characters count 2."""
    return sum(2 if any(lo <= ord(ch) <= hi for lo, hi in _WIDE_RANGES) else 1 for ch in text)


def parse_datetime(field: str, value: Any) -> datetime:
    """`YYYY-MM-DD HH:MM:SS` in UTC; ISO forms with `T` or an offset are refused like the platform does."""
    if not isinstance(value, str):
        raise param_error(field, "Not a valid string.")
    try:
        parsed = datetime.strptime(value, DATETIME_FORMAT)
    except ValueError:
        raise param_error(field, "Not a valid datetime. Expected format YYYY-MM-DD HH:MM:SS (UTC).") from None
    return parsed.replace(tzinfo=UTC)


def format_datetime(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime(DATETIME_FORMAT)


def format_iso(ts: float) -> str:
    """File objects use `2020-06-10T07:39:14Z`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Params:
    """Parameters of one request (or one nested object), validated on access."""

    def __init__(
        self, data: Mapping[str, Any], *, query: bool = False, prefix: str = "", strict_ids: bool = True
    ) -> None:
        self.data = data
        self.query = query
        self.prefix = prefix
        self.strict_ids = strict_ids

    # ---- basics ---------------------------------------------------------------------------
    def name(self, field: str) -> str:
        return f"{self.prefix}{field}"

    def has(self, field: str) -> bool:
        return field in self.data and self.data[field] is not None

    def raw(self, field: str) -> Any:
        return self.data.get(field)

    def error(self, field: str, reason: str) -> ApiError:
        return param_error(self.name(field), reason)

    def _require(self, field: str, required: bool) -> bool:
        """True when the field is present; raises if it is required and absent."""
        if self.has(field):
            return True
        if required:
            raise self.error(field, MISSING_MSG)
        return False

    def reject_unknown(self, allowed: Iterable[str]) -> None:
        allowed_set = set(allowed)
        for key in self.data:
            if key not in allowed_set:
                raise self.error(key, UNKNOWN_MSG)

    # ---- scalars --------------------------------------------------------------------------
    def string(
        self,
        field: str,
        *,
        required: bool = False,
        default: str | None = None,
        min_len: int | None = None,
        max_len: int | None = None,
        no_emoji: bool = False,
        wide_counts_double: bool = False,
    ) -> str | None:
        if not self._require(field, required):
            return default
        value = self.data[field]
        if not isinstance(value, str):
            raise self.error(field, "Not a valid string.")
        length = display_length(value) if wide_counts_double else len(value)
        lo = 0 if min_len is None else min_len
        if (min_len is not None and length < min_len) or (max_len is not None and length > max_len):
            raise self.error(field, f"Length must be between {lo} and {max_len}.")
        if no_emoji and has_emoji(value):
            raise self.error(field, "Emoji are not supported.")
        return value

    def id(self, field: str, *, required: bool = False) -> str | None:
        """An id: a decimal string (v1.3 ids are strings)."""
        if not self._require(field, required):
            return None
        return self._id_value(field, self.data[field])

    def _id_value(self, field: str, value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and not self.strict_ids:
            value = str(value)
        if not isinstance(value, str):
            raise self.error(field, "Not a valid string.")
        if not _ID_RE.match(value):
            raise self.error(field, f"Invalid id {value!r}.")
        return value

    def enum(
        self, field: str, values: Sequence[str], *, required: bool = False, default: str | None = None
    ) -> str | None:
        if not self._require(field, required):
            return default
        value = self.data[field]
        if not isinstance(value, str) or value not in values:
            raise self.error(field, f"Must be one of: {', '.join(values)}.")
        return value

    def boolean(self, field: str, *, default: bool | None = None) -> bool | None:
        if not self.has(field):
            return default
        value = self.data[field]
        if self.query and isinstance(value, str):
            if value.lower() in {"true", "false"}:
                return value.lower() == "true"
            raise self.error(field, "Not a valid boolean.")
        if not isinstance(value, bool):
            raise self.error(field, "Not a valid boolean.")
        return value

    def integer(
        self,
        field: str,
        *,
        required: bool = False,
        default: int | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        if not self._require(field, required):
            return default
        value = self.data[field]
        if self.query and isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                raise self.error(field, "Not a valid integer.") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(field, "Not a valid integer.")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise self.error(
                field, f"Must be greater than or equal to {minimum} and less than or equal to {maximum}."
            )
        return value

    def number(self, field: str, *, required: bool = False) -> Decimal | None:
        """A JSON number (money is a decimal number in major units); strings are refused."""
        if not self._require(field, required):
            return None
        value = self.data[field]
        if self.query and isinstance(value, str):
            try:
                return Decimal(value)
            except InvalidOperation:
                raise self.error(field, "Not a valid number.") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(field, "Not a valid number.")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(field, "Not a valid number.")
        return Decimal(str(value))

    def time_value(self, field: str, *, required: bool = False) -> datetime | None:
        if not self._require(field, required):
            return None
        return parse_datetime(self.name(field), self.data[field])

    def day(self, field: str, *, required: bool = False) -> date | None:
        if not self._require(field, required):
            return None
        value = self.data[field]
        if not isinstance(value, str):
            raise self.error(field, "Not a valid string.")
        try:
            return datetime.strptime(value, "%Y-%m-%d").date()
        except ValueError:
            raise self.error(field, "Not a valid date. Expected format YYYY-MM-DD.") from None

    # ---- containers -----------------------------------------------------------------------
    def _decoded(self, field: str) -> Any:
        value = self.data[field]
        if self.query and isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise self.error(field, "Not a valid JSON string.") from None
        return value

    def array(
        self,
        field: str,
        *,
        required: bool = False,
        min_items: int | None = None,
        max_items: int | None = None,
    ) -> list[Any] | None:
        if not self._require(field, required):
            return None
        value = self._decoded(field)
        if not isinstance(value, list):
            raise self.error(field, "Not a valid list.")
        if min_items is not None and len(value) < min_items:
            raise self.error(field, f"Length must be between {min_items} and {max_items}.")
        if max_items is not None and len(value) > max_items:
            raise self.error(field, f"Length must be between {min_items or 0} and {max_items}.")
        return value

    def id_list(
        self,
        field: str,
        *,
        required: bool = False,
        min_items: int | None = None,
        max_items: int | None = None,
    ) -> list[str] | None:
        values = self.array(field, required=required, min_items=min_items, max_items=max_items)
        if values is None:
            return None
        return [self._id_value(field, v) for v in values]

    def string_list(
        self,
        field: str,
        *,
        required: bool = False,
        min_items: int | None = None,
        max_items: int | None = None,
    ) -> list[str] | None:
        values = self.array(field, required=required, min_items=min_items, max_items=max_items)
        if values is None:
            return None
        for v in values:
            if not isinstance(v, str):
                raise self.error(field, "Not a valid string.")
        return values

    def enum_list(
        self,
        field: str,
        allowed: Sequence[str],
        *,
        required: bool = False,
        min_items: int | None = None,
        max_items: int | None = None,
    ) -> list[str] | None:
        values = self.string_list(field, required=required, min_items=min_items, max_items=max_items)
        if values is None:
            return None
        for v in values:
            if v not in allowed:
                raise self.error(field, f"Must be one of: {', '.join(allowed)}.")
        return values

    def nested(self, field: str, *, required: bool = False) -> Params | None:
        """A nested object (JSON-encoded in GET queries); its fields are checked with their own types."""
        if not self._require(field, required):
            return None
        value = self._decoded(field)
        if not isinstance(value, dict):
            raise self.error(field, "Not a valid mapping type.")
        return Params(value, query=False, prefix=f"{self.name(field)}.", strict_ids=self.strict_ids)
