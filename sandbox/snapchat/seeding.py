"""`POST /_sandbox/seed` for Snapchat: accounts, credentials and objects with given ids.

Payload (every key optional; seeding adds to what is there):

    {"apps": [{"client_id", "client_secret", "redirect_uri", "app_id"?}],
     "users": [{"id", "email"?, "display_name"?, ...}],
     "organizations": [{"id", "name", ...platform fields..., "me_fields"?: {...}, "get_fields"?: {...}}],
     "funding_sources": [{"id", "organization_id", "type", "status", "budget_spent_micro"?, ...}],
     "ad_accounts": [{"id", "organization_id", "name", "currency", "timezone", "status"?,
                      "funding_source_ids", "min_daily_budget_micro"? (default 5000000), "test"?, ...}],
     "tokens": [{"access_token", "refresh_token"?, "client_id", "expires_in"? (default 3600; <= 0 gives
                 an expired token), "user_id"?, "organization_ids"? , "ad_account_ids"?}],
     "auth_codes": [{"code", "client_id", "redirect_uri"?, "user_id"?, "organization_ids"?,
                     "ad_account_ids"?, "expires_in"? (default 600)}],
     "public_profiles": [{"id", "ad_account_id" | "organization_id"}],
     "objects": [{"kind": "campaign|adsquad|ad|creative|media", "id", "name"?, "status"?,
                  "parent_id"?, "account_id"?, "deleted"?, "fields": {...platform JSON...},
                  "delivery"?: [[start ISO, end ISO | null], ...]}]}

`me_fields` / `get_fields` are the extra keys Snap shows for an organization in `/me/organizations`
and in `/organizations/{id}` respectively. Object `fields` are the entity's platform JSON (e.g. copied
from recorded traffic) and are returned as given, key for key; parents come from `ad_account_id` /
`campaign_id` / `ad_squad_id` unless `parent_id` is given. Seeded ads default to review APPROVED;
`delivery` (ads only) is past delivery history — the intervals in which the ad served — so stats of
past days have numbers (a still-delivering seeded ad also gets an interval opened at seed time).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sandbox.snapchat.objects import make_object
from sandbox.snapchat.switches import switch
from sandbox.snapchat.times import parse_zoned, utc_ms

if TYPE_CHECKING:
    from sandbox.snapchat.app import SnapchatSandbox

KIND_ORDER = {"media": 0, "creative": 1, "campaign": 2, "adsquad": 3, "ad": 4}
DEFAULT_USER = "5c4f1a5e-7d9b-4b8f-9d5e-1f2a3b4c5d6e"


def seed(sandbox: SnapchatSandbox, payload: dict[str, Any]) -> dict[str, Any]:
    now = time.time()
    stamp = utc_ms(now)
    state, store, entities = sandbox.state, sandbox.store, sandbox.entities
    for app in payload.get("apps", []):
        state.apps[app["client_id"]] = {
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "redirect_uri": app.get("redirect_uri"),
            "app_id": app.get("app_id") or app["client_id"],
        }
    for user in payload.get("users", []):
        state.users[user["id"]] = {"id": user["id"], "updated_at": stamp, "created_at": stamp, **user}
    for raw in payload.get("organizations", []):
        fields = {k: v for k, v in raw.items() if k not in ("me_fields", "get_fields")}
        fields = {"id": raw["id"], "updated_at": stamp, "created_at": stamp, **fields}
        fields.setdefault("type", "ENTERPRISE")
        fields.setdefault("state", "ACTIVE")
        fields["_me_fields"] = dict(raw.get("me_fields") or {})
        fields["_get_fields"] = dict(raw.get("get_fields") or {})
        store.put(make_object("organization", fields, None, None, now))
    for raw in payload.get("funding_sources", []):
        fields = {"id": raw["id"], "updated_at": stamp, "created_at": stamp, **raw}
        fields.setdefault("type", "CREDIT_CARD")
        fields.setdefault("status", "ACTIVE")
        store.put(make_object("fundingsource", fields, raw["organization_id"], None, now))
    for raw in payload.get("ad_accounts", []):
        store.put(
            make_object("adaccount", _account_fields(raw, stamp), raw["organization_id"], raw["id"], now)
        )
    lifetime = int(switch(sandbox.config, "access_token_lifetime_s"))
    for tok in payload.get("tokens", []):
        grant = _grant(tok)
        refresh = tok.get("refresh_token")
        state.tokens[tok["access_token"]] = {
            **grant,
            "expires_at": now + float(tok.get("expires_in", lifetime)),
            "refresh_token": refresh,
        }
        if refresh:
            state.refresh_tokens[refresh] = {**grant, "revoked": False, "issued_at": now}
    code_life = float(switch(sandbox.config, "auth_code_lifetime_s"))
    for code in payload.get("auth_codes", []):
        state.auth_codes[code["code"]] = {
            **_grant(code),
            "redirect_uri": code.get("redirect_uri"),
            "expires_at": now + float(code.get("expires_in", code_life)),
            "used": False,
        }
    for profile in payload.get("public_profiles", []):
        state.public_profiles[profile["id"]] = dict(profile)
    objects = sorted(payload.get("objects", []), key=lambda o: KIND_ORDER.get(o.get("kind", ""), 9))
    for raw in objects:
        _seed_object(sandbox, raw, now, stamp)
    for account in entities.all("adaccount"):
        sandbox.lifecycle.refresh_account(account.id, now)
    return {
        "seeded": {
            key: len(payload.get(key, []))
            for key in (
                "apps",
                "organizations",
                "funding_sources",
                "ad_accounts",
                "tokens",
                "auth_codes",
                "public_profiles",
                "objects",
            )
        }
    }


def _grant(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "client_id": raw["client_id"],
        "user_id": raw.get("user_id") or DEFAULT_USER,
        "organization_ids": list(raw.get("organization_ids") or []),
        "ad_account_ids": list(raw.get("ad_account_ids") or []),
    }


def _account_fields(raw: dict[str, Any], stamp: str) -> dict[str, Any]:
    ZoneInfo(str(raw["timezone"]))  # an unknown zone is a bad seed (ValueError → HTTP 400)
    fields: dict[str, Any] = {
        "id": raw["id"],
        "updated_at": raw.get("updated_at", stamp),
        "created_at": raw.get("created_at", stamp),
        "name": raw["name"],
        "type": raw.get("type", "PARTNER"),
        "status": raw.get("status", "ACTIVE"),
        "organization_id": raw["organization_id"],
        "funding_source_ids": list(raw.get("funding_source_ids") or []),
        "currency": raw["currency"],
        "timezone": raw["timezone"],
    }
    if raw.get("advertiser"):
        fields["advertiser"] = raw["advertiser"]
    fields["billing_type"] = raw.get("billing_type", "REVOLVING")
    fields["agency_representing_client"] = bool(raw.get("agency_representing_client", False))
    fields["client_paying_invoices"] = bool(raw.get("client_paying_invoices", False))
    fields["regulations"] = raw.get("regulations") or {"restricted_delivery_signals": False}
    if raw.get("test"):
        fields["test"] = True
    fields["_min_daily_budget_micro"] = int(raw.get("min_daily_budget_micro", 5_000_000))
    return fields


def _seed_object(sandbox: SnapchatSandbox, raw: dict[str, Any], now: float, stamp: str) -> None:
    kind = raw["kind"]
    if kind not in KIND_ORDER:
        raise ValueError(f"unknown object kind {kind!r}")
    fields = {"id": raw["id"], "updated_at": stamp, "created_at": stamp, **dict(raw.get("fields") or {})}
    fields["id"] = raw["id"]
    for key in ("name", "status"):
        if key in raw:
            fields[key] = raw[key]
    entities = sandbox.entities
    parent_id = raw.get("parent_id")
    account_id = raw.get("account_id")
    if kind == "campaign":
        parent_id = parent_id or fields.get("ad_account_id") or account_id
        account_id = account_id or parent_id
        fields.setdefault("ad_account_id", account_id)
    elif kind == "adsquad":
        parent_id = parent_id or fields.get("campaign_id")
        campaign = entities.get("campaign", parent_id or "")
        account_id = account_id or (campaign.account_id if campaign else None)
        fields.setdefault("campaign_id", parent_id)
    elif kind == "ad":
        parent_id = parent_id or fields.get("ad_squad_id")
        squad = entities.get("adsquad", parent_id or "")
        account_id = account_id or (squad.account_id if squad else None)
        fields.setdefault("ad_squad_id", parent_id)
        fields.setdefault("review_status", "APPROVED")
    else:
        account_id = account_id or fields.get("ad_account_id")
        parent_id = parent_id or account_id
        fields.setdefault("ad_account_id", account_id)
    if not account_id or entities.get("adaccount", account_id) is None:
        raise ValueError(
            f"{kind} {raw['id']}: its ad account is not seeded (seed ad_accounts and parents first)"
        )
    if kind == "ad" and raw.get("delivery"):
        fields["_delivery"] = [
            [_epoch(start), _epoch(end) if end else None] for start, end in raw["delivery"]
        ]
    obj = make_object(kind, fields, parent_id, account_id, now)
    if raw.get("deleted"):
        obj.deleted = True
        obj.fields["_deleted_at"] = now
    sandbox.store.put(obj)


def _epoch(value: str) -> float:
    return parse_zoned(value, "delivery").timestamp()
