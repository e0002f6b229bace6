"""Snap entities held in the common ObjectStore, and how they are rendered.

Every entity's `fields` is its platform JSON exactly as the API returns it (so seeded recorded
objects come back key for key); keys starting with `_` are sandbox-private (delivery intervals,
review timers, creators) and never leave the server. `delivery_status` is computed at render time
from the entity and its parents, with the values Snap documents and the recorded traffic shows.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from sandbox.common.store import ObjectStore, SandboxObject
from sandbox.snapchat import times

# kind → (plural key, singular key) of Snap's wrapped responses.
WRAPPERS: dict[str, tuple[str, str]] = {
    "organization": ("organizations", "organization"),
    "fundingsource": ("fundingsources", "fundingsource"),
    "adaccount": ("adaccounts", "adaccount"),
    "campaign": ("campaigns", "campaign"),
    "adsquad": ("adsquads", "adsquad"),
    "ad": ("ads", "ad"),
    "creative": ("creatives", "creative"),
    "media": ("media", "media"),
}
LABELS = {
    "organization": "Organization",
    "fundingsource": "FundingSource",
    "adaccount": "AdAccount",
    "campaign": "Campaign",
    "adsquad": "AdSquad",
    "ad": "Ad",
    "creative": "Creative",
    "media": "Media",
}
WRITER_KEYS = ("created_by_app_id", "created_by_user", "last_updated_by_app_id", "last_updated_by_user")


def new_id() -> str:
    return str(uuid.uuid4())


def public(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if not k.startswith("_")}


class Entities:
    """Typed lookups over the ObjectStore for Snap's object tree."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def get(self, kind: str, entity_id: str) -> SandboxObject | None:
        return self.store.get(str(entity_id), kind)

    def live(self, kind: str, entity_id: str) -> SandboxObject | None:
        obj = self.get(kind, entity_id)
        return None if obj is None or obj.deleted else obj

    def all(self, kind: str) -> list[SandboxObject]:
        return self.store.all(kind)

    def children(self, parent_id: str, kind: str) -> list[SandboxObject]:
        return self.store.children(parent_id, kind)

    def account_of(self, obj: SandboxObject) -> SandboxObject | None:
        if obj.kind == "adaccount":
            return obj
        return self.get("adaccount", obj.account_id) if obj.account_id else None

    def campaign_of(self, obj: SandboxObject) -> SandboxObject | None:
        if obj.kind == "campaign":
            return obj
        if obj.kind == "adsquad":
            return self.get("campaign", obj.parent_id or "")
        if obj.kind == "ad":
            squad = self.get("adsquad", obj.parent_id or "")
            return self.campaign_of(squad) if squad else None
        return None

    def squad_of(self, ad: SandboxObject) -> SandboxObject | None:
        return self.get("adsquad", ad.parent_id or "")

    def ads_under(self, obj: SandboxObject) -> list[SandboxObject]:
        """Every ad (deleted included) below a campaign, ad squad, ad or ad account."""
        if obj.kind == "ad":
            return [obj]
        if obj.kind == "adsquad":
            return self.children(obj.id, "ad")
        if obj.kind == "campaign":
            return [a for s in self.children(obj.id, "adsquad") for a in self.children(s.id, "ad")]
        if obj.kind == "adaccount":
            return [a for a in self.all("ad") if a.account_id == obj.id]
        return []


def make_object(
    kind: str,
    fields: dict[str, Any],
    parent_id: str | None,
    account_id: str | None,
    now: float | None = None,
) -> SandboxObject:
    """A SandboxObject whose timestamps follow the entity's own `created_at` / `updated_at`."""
    now = time.time() if now is None else now
    created = times.epoch(fields.get("created_at")) or now
    updated = times.epoch(fields.get("updated_at")) or created
    return SandboxObject(
        kind=kind,
        id=str(fields["id"]),
        name=str(fields.get("name", "")),
        parent_id=parent_id,
        account_id=account_id,
        status=str(fields.get("status") or fields.get("media_status") or fields.get("state") or ""),
        created_at=created,
        updated_at=updated,
        fields=fields,
    )


def sync_row(obj: SandboxObject) -> None:
    """Keep the inspection row (name, status) in step with the platform fields."""
    obj.name = str(obj.fields.get("name", obj.name))
    obj.status = str(
        obj.fields.get("status") or obj.fields.get("media_status") or obj.fields.get("state") or obj.status
    )


def account_is_funded(entities: Entities, account: SandboxObject) -> bool:
    ids = account.fields.get("funding_source_ids") or []
    for fs_id in ids:
        fs = entities.get("fundingsource", fs_id)
        if fs is not None and fs.fields.get("status") == "ACTIVE":
            return True
    return False


def account_can_serve(entities: Entities, account: SandboxObject | None) -> bool:
    return (
        account is not None
        and account.fields.get("status") == "ACTIVE"
        and not account.fields.get("test")
        and not account.fields.get("_test")
        and account_is_funded(entities, account)
    )


def _time_flags(fields: dict[str, Any], now: float, statuses: list[str]) -> None:
    start = times.epoch(fields.get("start_time"))
    end = times.epoch(fields.get("end_time"))
    if start is not None and start > now:
        statuses.append("INVALID_START_TIME")
    if end is not None and end < now:
        statuses.append("INVALID_END_TIME")


def delivery_status(entities: Entities, obj: SandboxObject, now: float, creating: bool = False) -> list[str]:
    """Snap's `delivery_status` list (values from the Delivery Status doc and recorded traffic)."""
    statuses: list[str] = []
    f = obj.fields
    account = entities.account_of(obj)
    if obj.deleted:
        statuses.append("INVALID_EFFECTIVE_DELETED")
    if f.get("status") == "PAUSED":
        statuses.append("INVALID_NOT_ACTIVE")
    parent_bad = False
    if obj.kind == "campaign":
        _time_flags(f, now, statuses)
        if account is not None and (account.fields.get("test") or account.fields.get("_test")):
            statuses.append("INVALID_TEST_ACCOUNT")
        squads = [s for s in entities.children(obj.id, "adsquad") if not s.deleted]
        if not creating and not any(s.fields.get("status") == "ACTIVE" for s in squads):
            statuses.append("INVALID_CAMPAIGN_HAS_NO_ACTIVE_AD_SQUAD")
        parent_bad = not account_can_serve(entities, account)
    elif obj.kind == "adsquad":
        _time_flags(f, now, statuses)
        campaign = entities.campaign_of(obj)
        start = times.epoch(f.get("start_time"))
        ends = [
            times.epoch(f.get("end_time")),
            times.epoch((campaign.fields if campaign else {}).get("end_time")),
        ]
        if start is not None and any(e is not None and e <= start for e in ends):
            statuses.append("INVALID_START_TIME_AFTER_END_TIME")
        parent_bad = campaign is None or campaign.deleted or campaign.fields.get("status") != "ACTIVE"
        parent_bad = parent_bad or not account_can_serve(entities, account)
    elif obj.kind == "ad":
        review = f.get("review_status")
        if review == "PENDING":
            statuses.append("INVALID_PENDING_REVIEW_STATUS")
        elif review == "REJECTED":
            statuses.append("INVALID_REJECTED_REVIEW_STATUS")
        squad = entities.squad_of(obj)
        campaign = entities.campaign_of(obj)
        parent_bad = any(
            p is None or p.deleted or p.fields.get("status") != "ACTIVE" for p in (squad, campaign)
        )
        parent_bad = parent_bad or not account_can_serve(entities, account)
        if parent_bad:
            statuses.append("INVALID_EFFECTIVE_INVALID")
    if parent_bad and "INVALID_NOT_EFFECTIVE_ACTIVE" not in statuses:
        statuses.append("INVALID_NOT_EFFECTIVE_ACTIVE")
    if statuses and "INVALID_NOT_EFFECTIVE_ACTIVE" not in statuses:
        statuses.append("INVALID_NOT_EFFECTIVE_ACTIVE")
    return statuses or ["VALID"]


def render(
    entities: Entities,
    obj: SandboxObject,
    now: float,
    *,
    mode: str = "read",
    show_deleted: bool = False,
    placement_v2: bool = False,
    hide_placement_v2: bool = True,
) -> dict[str, Any]:
    """The entity's platform JSON.

    mode: "create" (create response), "write" (PUT / upload responses, which carry the
    created_by_* / last_updated_by_* keys as recorded) or "read" (GET and lists).
    placement_v2: the read asked for `return_placement_v2=true`.
    """
    out = public(obj.fields)
    if obj.kind == "adsquad" and mode == "read" and hide_placement_v2:
        out = _placement_view(out, placement_v2)
    if obj.kind in {"campaign", "adsquad", "ad"}:
        out["delivery_status"] = delivery_status(entities, obj, now, creating=mode == "create")
    if obj.kind == "ad":
        rejected = out.get("review_status") == "REJECTED"
        if mode == "create" or rejected:
            out["review_status_reasons"] = list(obj.fields.get("_review_reasons") or []) if rejected else []
        else:
            out.pop("review_status_reasons", None)
    if mode == "write":
        out = _with_writers(out, obj)
    if show_deleted and obj.deleted:
        out["deleted"] = True
    return out


SYNTHESIZED_PLACEMENT_V2 = {
    "config": "CUSTOM",
    "platforms": ["SNAPCHAT"],
    "snapchat_positions": ["INTERSTITIAL_USER", "INTERSTITIAL_CONTENT", "INSTREAM"],
}


def _placement_view(out: dict[str, Any], flagged: bool) -> dict[str, Any]:
    """How a read shows an ad squad's placement ([S] a client's live notes, consistent with the
    recorded UI squads): a plain GET hides `placement_v2` and shows `placement: UNSUPPORTED` for squads
    created with one; `?return_placement_v2=true` shows `placement_v2` (for a legacy squad, Snap's
    translation of the legacy default) and omits `placement`."""
    view: dict[str, Any] = {}
    for key, value in out.items():
        if key in ("placement_v2", "placement"):
            if flagged:
                view["placement_v2"] = out.get("placement_v2") or dict(SYNTHESIZED_PLACEMENT_V2)
            else:
                view["placement"] = "UNSUPPORTED" if "placement_v2" in out else value
            continue
        view[key] = value
    return view


def _with_writers(out: dict[str, Any], obj: SandboxObject) -> dict[str, Any]:
    # A seeded entity has no known creator: its last writer stands in for it.
    app = obj.fields.get("_updated_by_app") or obj.fields.get("_created_by_app")
    user = obj.fields.get("_updated_by_user") or obj.fields.get("_created_by_user")
    writers = {
        "created_by_app_id": obj.fields.get("_created_by_app") or app,
        "created_by_user": obj.fields.get("_created_by_user") or user,
        "last_updated_by_app_id": app,
        "last_updated_by_user": user,
    }
    if not writers["created_by_app_id"]:
        return out
    ordered: dict[str, Any] = {}
    for key, value in out.items():
        if key in WRITER_KEYS:
            continue
        ordered[key] = value
        if key == "created_at":
            ordered.update(writers)
    return ordered


def wrap(kind: str, items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    singular = WRAPPERS[kind][1]
    return [{"sub_request_status": "SUCCESS", singular: item} for item in items]


def envelope(request_id: str, kind: str, items: Iterable[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"request_status": "SUCCESS", "request_id": request_id}
    body.update(extra)
    body[WRAPPERS[kind][0]] = wrap(kind, items)
    return body
