"""`POST /_sandbox/seed` for Meta: apps, ad accounts, tokens, pages, identities, pixels, objects.

The format is documented in the `sandbox.meta` package docstring. Seeding is additive and idempotent
by id (seeding an id again replaces it).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sandbox.common.store import SandboxObject
from sandbox.meta import money
from sandbox.meta.auth import App, token_from_seed

if TYPE_CHECKING:
    from sandbox.meta.app import MetaSandbox

OBJECT_KINDS = {"campaign", "adset", "ad", "adcreative", "adimage", "advideo", "adlabel"}


def _bare(value: Any) -> str:
    text = str(value)
    return text[4:] if text.startswith("act_") else text


def apply_seed(sb: MetaSandbox, payload: dict[str, Any]) -> dict[str, Any]:
    counts = {
        k: 0 for k in ("apps", "accounts", "tokens", "pages", "instagram_accounts", "pixels", "objects")
    }
    for raw in payload.get("apps", []):
        app = App(str(raw["app_id"]), str(raw["app_secret"]), str(raw.get("name", "adrelay")))
        sb.auth.apps[app.app_id] = app
        counts["apps"] += 1
    for raw in payload.get("accounts", []):
        number = _bare(raw["id"])
        if not number.isdigit():
            raise ValueError(f"ad account id must be numeric (act_<n> or <n>): {raw['id']!r}")
        currency = str(raw.get("currency", "USD"))
        fields = {
            "currency": currency,
            "timezone_name": str(raw.get("timezone_name", "America/Los_Angeles")),
            "timezone_id": raw.get("timezone_id"),
            "account_status": int(raw.get("account_status", 1)),
            "disable_reason": int(raw.get("disable_reason", 0)),
            "_minimums": money.minimums_from_seed(currency, raw.get("min_daily_budget")),
            "spend_cap": int(raw.get("spend_cap", 0)),
            "has_payment_method": bool(raw.get("has_payment_method", True)),
            "funding_source": str(raw.get("funding_source", "6" + number[-10:].rjust(10, "0"))),
            "business_name": str(raw.get("business_name", "")),
            "default_dsa_beneficiary": raw.get("default_dsa_beneficiary"),
            "default_dsa_payor": raw.get("default_dsa_payor"),
        }
        sb.store.put(
            SandboxObject(
                kind="adaccount",
                id=f"act_{number}",
                name=str(raw.get("name", f"Ad account {number}")),
                parent_id=None,
                account_id=number,
                status="ACTIVE",
                fields=fields,
            )
        )
        counts["accounts"] += 1
    default_app = next(iter(sb.auth.apps), None)
    for raw in payload.get("tokens", []):
        token = token_from_seed(raw, default_app)
        sb.auth.tokens[token.access_token] = token
        counts["tokens"] += 1
    for key, kind in (("pages", "page"), ("instagram_accounts", "instagram_account"), ("pixels", "pixel")):
        for raw in payload.get(key, []):
            extra: dict[str, Any] = {}
            if kind == "pixel":
                accounts = raw.get("accounts") or ([raw["account_id"]] if raw.get("account_id") else [])
                extra["_accounts"] = [_bare(a) for a in accounts]
            if kind == "instagram_account":
                extra["username"] = str(raw.get("username", raw.get("name", "")))
            sb.store.put(
                SandboxObject(
                    kind=kind,
                    id=str(raw["id"]),
                    name=str(raw.get("name", raw.get("username", ""))),
                    parent_id=None,
                    account_id=None,
                    status="ACTIVE",
                    fields=extra,
                )
            )
            counts[key] += 1
    for raw in payload.get("objects", []):
        kind = str(raw["kind"])
        if kind not in OBJECT_KINDS:
            raise ValueError(f"unknown object kind {kind!r}; known: {sorted(OBJECT_KINDS)}")
        number = _bare(raw["account_id"])
        if sb.objects.account(number) is None:
            raise ValueError(f"object {raw.get('id')} names unknown ad account {number}")
        status = str(raw.get("status", "ACTIVE"))
        fields = dict(raw.get("fields", {}))
        if kind == "ad":
            fields.setdefault("_review", "approved")
        if kind == "advideo":
            fields.setdefault("_uploaded", True)
            fields.setdefault("_ready_at", 0)
        if kind == "adimage":
            fields.setdefault(
                "url", f"https://scontent.sandbox.fbcdn.net/v/t45.1600-4/{fields.get('hash')}_n.png"
            )
        obj_id = str(raw.get("id") or sb.ids.next())
        sb.store.put(
            SandboxObject(
                kind=kind,
                id=obj_id,
                name=str(raw.get("name", "")),
                parent_id=str(raw.get("parent_id") or f"act_{number}"),
                account_id=number,
                status=status,
                deleted=status == "DELETED",
                created_at=float(raw.get("created_at", time.time())),
                fields=fields,
            )
        )
        sb.ids.bump(obj_id)
        counts["objects"] += 1
    sb.objects.refresh_activity()
    return {"seeded": counts}
