"""Meta objects held by the sandbox: ids, times, effective status and their Graph read shape.

Every platform object (ad account, campaign, ad set, ad, creative, image, video, label, page, pixel,
Instagram account, report run) is a `SandboxObject` in the common store, so `/_sandbox/objects` shows
it. `fields` keeps the stored values (budgets as ints); `render` turns them into what Graph returns
(budgets as strings, times in the account's time zone, `effective_status` following the parents).
Keys starting with `_` in `fields` are sandbox bookkeeping and never rendered.
"""

from __future__ import annotations

import itertools
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.common.store import ObjectStore, SandboxObject
from sandbox.meta import spec
from sandbox.meta.errors import GraphError, nonexisting_field

GRAPH_KINDS = ("campaign", "adset", "ad", "adcreative", "adimage", "advideo", "adlabel", "adreportrun")
INACTIVE = {"PAUSED", "ARCHIVED", "DELETED"}
BILLING_PROBLEM_STATUSES = {3}  # UNSETTLED
DISABLED_STATUSES = {2, 100, 101}  # DISABLED, PENDING_CLOSURE, CLOSED
EU_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)


class IdGenerator:
    """Numeric string ids in Meta's shapes; never reused, even across resets."""

    def __init__(self) -> None:
        base = 120210000000000000 + (int(time.time() * 1000) % 10**11) * 1000
        self._counter = itertools.count(base)

    def next(self) -> str:
        return str(next(self._counter))

    def video(self) -> str:
        return str(int(self.next()) % 10**16 + 10**15)

    def bump(self, seen: str) -> None:
        """After restoring state, continue above every id already issued."""
        if seen.isdigit() and len(seen) == 18:
            current = next(self._counter)
            self._counter = itertools.count(max(current, int(seen) + 1))


# ---- times ------------------------------------------------------------------------------------
_UNIX = re.compile(r"^\d{9,11}$")


def parse_time(value: Any, tz_name: str, naive_ok: bool) -> float:
    """Graph datetime param: ISO-8601 with offset (`2024-07-29T17:54:47-0700`) or Unix seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if _UNIX.match(text):
        return float(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(text) from exc
    if parsed.tzinfo is None:
        if not naive_ok:
            raise ValueError(text)
        parsed = parsed.replace(tzinfo=ZoneInfo(tz_name))
    return parsed.timestamp()


def format_time(ts: float, tz_name: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz_name)).strftime("%Y-%m-%dT%H:%M:%S%z")


def tz_offset_hours(tz_name: str, at: float | None = None) -> float:
    moment = datetime.fromtimestamp(at or time.time(), ZoneInfo(tz_name))
    offset = moment.utcoffset() or timedelta(0)
    return offset.total_seconds() / 3600


def utc_now() -> datetime:
    return datetime.now(UTC)


# ---- the fields param ------------------------------------------------------------------------
FieldSpec = list[tuple[str, "FieldSpec | None"]]


def parse_fields(raw: str | None) -> FieldSpec | None:
    """`id,name,adset{id,name}` → [("id", None), ("name", None), ("adset", [...])]."""
    if raw is None or str(raw).strip() == "":
        return None
    text = str(raw)
    pos = 0

    def parse_list() -> FieldSpec:
        nonlocal pos
        out: FieldSpec = []
        name = ""
        while pos < len(text):
            ch = text[pos]
            pos += 1
            if ch == "{":
                sub = parse_list()
                out.append((_clean(name), sub))
                name = ""
                if pos < len(text) and text[pos] == ",":
                    pos += 1
            elif ch == "}":
                if name.strip():
                    out.append((_clean(name), None))
                return out
            elif ch == ",":
                if name.strip():
                    out.append((_clean(name), None))
                name = ""
            else:
                name += ch
        if name.strip():
            out.append((_clean(name), None))
        return out

    return parse_list()


def _clean(name: str) -> str:
    # Graph field modifiers (`insights.limit(5)`) are accepted and ignored.
    return name.strip().split(".")[0]


# ---- effective status ------------------------------------------------------------------------
class Objects:
    """Queries over the store that know Meta's object graph."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def account(self, number: str) -> SandboxObject | None:
        return self.store.get(f"act_{number}", "adaccount")

    def account_of(self, obj: SandboxObject) -> SandboxObject | None:
        return self.account(obj.account_id) if obj.account_id else None

    def tz(self, obj: SandboxObject) -> str:
        acct = obj if obj.kind == "adaccount" else self.account_of(obj)
        return acct.fields.get("timezone_name", "America/Los_Angeles") if acct else "UTC"

    def campaign_of(self, obj: SandboxObject) -> SandboxObject | None:
        if obj.kind == "campaign":
            return obj
        if obj.kind == "adset":
            return self.store.get(obj.parent_id or "", "campaign")
        if obj.kind == "ad":
            adset = self.store.get(obj.parent_id or "", "adset")
            return self.campaign_of(adset) if adset else None
        return None

    def adset_of(self, obj: SandboxObject) -> SandboxObject | None:
        if obj.kind == "adset":
            return obj
        if obj.kind == "ad":
            return self.store.get(obj.parent_id or "", "adset")
        return None

    def effective_status(self, obj: SandboxObject) -> str:
        own = obj.status
        if obj.kind == "campaign":
            return own
        if obj.kind == "adset":
            if own in {"DELETED", "ARCHIVED", "PAUSED"}:
                return own
            campaign = self.campaign_of(obj)
            if campaign is not None and campaign.status in INACTIVE:
                return "CAMPAIGN_PAUSED"
            return "ACTIVE"
        if obj.kind == "ad":
            if own in {"DELETED", "ARCHIVED"}:
                return own
            review = obj.fields.get("_review", "approved")
            if review == "pending":
                return "PENDING_REVIEW"
            if review == "disapproved":
                return "DISAPPROVED"
            if own == "PAUSED":
                return "PAUSED"
            campaign = self.campaign_of(obj)
            if campaign is not None and campaign.status in INACTIVE:
                return "CAMPAIGN_PAUSED"
            adset = self.adset_of(obj)
            if adset is not None and adset.status in INACTIVE:
                return "ADSET_PAUSED"
            acct = self.account_of(obj)
            if acct is not None and (
                acct.fields.get("account_status") in BILLING_PROBLEM_STATUSES
                or not acct.fields.get("has_payment_method", True)
            ):
                return "PENDING_BILLING_INFO"
            return "ACTIVE"
        return own

    def refresh_activity(self, account_id: str | None = None, now: float | None = None) -> None:
        """Open or close each ad's delivery interval (insights grow only while an ad is ACTIVE)."""
        now = time.time() if now is None else now
        for ad in self.store.all("ad"):
            if account_id is not None and ad.account_id != account_id:
                continue
            intervals: list[list[float | None]] = ad.fields.setdefault("_active", [])
            active = self.effective_status(ad) == "ACTIVE"
            is_open = bool(intervals) and intervals[-1][1] is None
            if active and not is_open:
                intervals.append([now, None])
            elif not active and is_open:
                intervals[-1][1] = now

    def labels(self, obj: SandboxObject) -> list[SandboxObject]:
        ids = obj.fields.get("_labels", [])
        return [lbl for lbl in (self.store.get(i, "adlabel") for i in ids) if lbl is not None]


# ---- rendering -------------------------------------------------------------------------------
def _money(value: Any) -> str | None:
    return None if value is None else str(int(value))


class Renderer:
    """Graph read shape for each kind, with `fields=` selection and `{}` expansion."""

    DEFAULT_FIELDS: dict[str, list[str]] = {
        "adreportrun": [
            "id",
            "account_id",
            "time_ref",
            "async_status",
            "async_percent_completion",
            "date_start",
            "date_stop",
        ],
        "page": ["id", "name"],
        "instagram_account": ["id", "username"],
        "pixel": ["id", "name"],
        "user": ["id", "name"],
    }
    EXTRA_FIELDS: dict[str, set[str]] = {
        "adlabel": {"id", "name", "account", "created_time", "updated_time"},
        "page": {"id", "name", "access_token", "category"},
        "instagram_account": {"id", "username", "name"},
        "pixel": {"id", "name", "owner_ad_account", "creation_time", "is_unavailable"},
        "user": {"id", "name"},
    }

    def __init__(self, objects: Objects, full: Any) -> None:
        self.objects = objects
        self._full = full  # callable(obj) -> dict of every field Graph could return

    def render(self, obj: SandboxObject, wanted: FieldSpec | None) -> dict[str, Any]:
        if wanted is None:
            wanted = [(f, None) for f in self.DEFAULT_FIELDS.get(obj.kind, ["id"])]
        full = self._full(obj)
        allowed = self._known_fields(obj.kind)
        out: dict[str, Any] = {}
        for name, sub in wanted:
            if name not in full and name not in allowed:
                raise nonexisting_field(name, spec.GRAPH_TYPE_OF_KIND.get(obj.kind, obj.kind))
            if name not in full or full[name] is None:
                continue
            value = full[name]
            if sub is not None:
                value = self._expand(value, sub)
            out[name] = value
        if "id" not in out and "id" in full and obj.kind != "adreportrun":
            out["id"] = full["id"]
        return out

    def _expand(self, value: Any, sub: FieldSpec) -> Any:
        if isinstance(value, SandboxObjectRef):
            target = self.objects.store.get(value.id)
            return self.render(target, sub) if target else {"id": value.id}
        if isinstance(value, list):
            return [self._expand(v, sub) for v in value]
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if any(k == name for name, _ in sub)} or value
        return value

    def _known_fields(self, kind: str) -> set[str]:
        node = spec.NODE_OF_KIND.get(kind)
        known = set(spec.fields(node)) if node else set()
        return known | self.EXTRA_FIELDS.get(kind, set())

    def finalize(self, value: Any) -> Any:
        """Replace object references left unexpanded by `{"id": ...}`."""
        if isinstance(value, SandboxObjectRef):
            return {"id": value.id}
        if isinstance(value, list):
            return [self.finalize(v) for v in value]
        if isinstance(value, dict):
            return {k: self.finalize(v) for k, v in value.items()}
        return value


class SandboxObjectRef:
    """A relational field (`campaign`, `adset`, `creative`) that `{}` expansion can follow."""

    def __init__(self, object_id: str) -> None:
        self.id = object_id


def require_kind(obj: SandboxObject | None, object_id: str, method: str, kinds: set[str]) -> SandboxObject:
    from sandbox.meta.errors import unsupported

    if obj is None or obj.kind not in kinds:
        raise unsupported(method, object_id)
    return obj


def check_name_length(name: str, limit: int, what: str = "name") -> None:
    if len(name) > limit:
        raise GraphError(f"(#100) Param {what} must be at most {limit} characters long")
