"""App webhooks as Meta runs them: subscription with a verification handshake, signed deliveries.

`POST /{app_id}/subscriptions` (app access token) first calls the callback with
`hub.mode=subscribe&hub.challenge=<n>&hub.verify_token=<token>` and accepts the subscription only when
the raw challenge comes back with HTTP 200 (else error 2200, as Graph). The ad account must also
subscribe the app (`POST /act_{id}/subscribed_apps`; switch `webhooks_require_subscribed_apps`).
Deliveries are `{"object":"ad_account","entry":[{"id","time","changes":[{"field","value"}]}]}`,
signed `X-Hub-Signature-256: sha256=HMAC-SHA256(app_secret, raw body)` plus the legacy SHA-1
`X-Hub-Signature`. Field names per event are switches (UNCONFIRMED).
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import aiohttp

from sandbox.meta.errors import GraphError

AD_ACCOUNT_FIELDS = (
    "with_issues_ad_objects",
    "in_process_ad_objects",
    "ad_recommendations",
    "creative_fatigue",
    "product_set_issue",
)


def sign(secret: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
    }


def delivery_body(account: str, field: str, value: dict[str, Any]) -> bytes:
    payload = {
        "object": "ad_account",
        "entry": [{"id": account, "time": int(time.time()), "changes": [{"field": field, "value": value}]}],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


class Webhooks:
    def __init__(self) -> None:
        # app_id → object → {"callback_url", "fields", "verify_token", "active"}
        self.subscriptions: dict[str, dict[str, dict[str, Any]]] = {}
        # account number → app_id → subscribed fields
        self.account_apps: dict[str, dict[str, list[str]]] = {}

    def clear(self) -> None:
        self.subscriptions.clear()
        self.account_apps.clear()

    async def subscribe(self, app_id: str, params: dict[str, Any], version: str) -> dict[str, Any]:
        obj = str(params.get("object") or "")
        if not obj:
            raise GraphError("(#100) The parameter object is required", 100)
        callback = str(params.get("callback_url") or "")
        if not callback:
            raise GraphError("(#100) The parameter callback_url is required", 100)
        if not callback.startswith(("http://", "https://")):
            raise GraphError("(#100) Param callback_url must be a valid URL", 100)
        fields = _field_list(params.get("fields"))
        if not fields:
            raise GraphError("(#100) The parameter fields is required", 100)
        if obj == "ad_account":
            for name in fields:
                if name not in AD_ACCOUNT_FIELDS:
                    raise GraphError(
                        f"(#100) Param fields[{name}] is not a valid field for object ad_account", 100
                    )
        verify = str(params.get("verify_token") or "")
        challenge = str(secrets.randbelow(10**9))
        query = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
                async with session.get(callback, params=query) as resp:
                    body = await resp.text()
                    status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GraphError(f"(#2200) callback verification failed: {exc.__class__.__name__}", 2200) from exc
        if status != 200:
            raise GraphError(f"(#2200) callback verification failed: Received HTTP code: {status}", 2200)
        if body.strip() != challenge:
            raise GraphError(
                "(#2200) callback verification failed: The URL couldn't be validated. Response does "
                "not match "
                'challenge, expected value="' + challenge + '", received="' + body[:40] + '"',
                2200,
            )
        self.subscriptions.setdefault(app_id, {})[obj] = {
            "callback_url": callback,
            "fields": [{"name": f, "version": version} for f in fields],
            "verify_token": verify,
            "active": True,
            "include_values": str(params.get("include_values", "true")).lower() != "false",
        }
        return {"success": True}

    def list(self, app_id: str) -> dict[str, Any]:
        rows = [
            {"object": obj, "callback_url": s["callback_url"], "active": s["active"], "fields": s["fields"]}
            for obj, s in self.subscriptions.get(app_id, {}).items()
        ]
        return {"data": rows}

    def unsubscribe(self, app_id: str, params: dict[str, Any]) -> dict[str, Any]:
        obj = params.get("object")
        subs = self.subscriptions.get(app_id, {})
        if obj:
            subs.pop(str(obj), None)
        else:
            subs.clear()
        return {"success": True}

    def targets(self, account: str, field: str, require_account_sub: bool) -> builtins.list[tuple[str, str]]:
        """(app_id, callback_url) pairs that should receive `field` for this account."""
        out = []
        for app_id, subs in self.subscriptions.items():
            sub = subs.get("ad_account")
            if not sub or not sub["active"] or field not in {f["name"] for f in sub["fields"]}:
                continue
            if require_account_sub:
                fields = self.account_apps.get(account, {}).get(app_id)
                if fields is None or (fields and field not in fields):
                    continue
            out.append((app_id, sub["callback_url"]))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"subscriptions": self.subscriptions, "account_apps": self.account_apps}

    def restore(self, raw: dict[str, Any]) -> None:
        self.subscriptions = raw.get("subscriptions", {})
        self.account_apps = raw.get("account_apps", {})


def _field_list(raw: Any) -> list[str]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, list):
        return [str(f) for f in raw]
    text = str(raw)
    if text.startswith("["):
        try:
            return [str(f) for f in json.loads(text)]
        except json.JSONDecodeError:
            pass
    return [f.strip() for f in text.split(",") if f.strip()]
