"""Subscriptions (`/subscription/subscribe/`, `/subscription/get/`, `/subscription/unsubscribe/`) and the
signed deliveries sent when an ad's review completes.

Payload (shape UNCONFIRMED beyond the top-level keys from the community SDK):
`{"request_id", "object": 3, "time": <unix>, "entry": [{"subscription_id", "advertiser_id",
"campaign_id", "adgroup_id", "ad_id", "review_status": "APPROVED"|"REJECTED", "secondary_status",
"reject_reasons": [...], "time"}]}`.
Signature (switch `webhook_signature`, default "tiktok_developers", UNCONFIRMED for Marketing API):
header `TikTok-Signature: t=<unix>,s=<hex HMAC-SHA256(app secret, "<t>.<raw body>")>`.
Deliveries are at-least-once (retries, and `config.webhook_duplicate_deliveries` extra copies).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from sandbox.tiktok import enums, errors
from sandbox.tiktok.accounts import check_app
from sandbox.tiktok.api import Ctx
from sandbox.tiktok.errors import ApiError, log_id, param_error
from sandbox.tiktok.listing import page_args, paginate
from sandbox.tiktok.objects import AD, ad_secondary
from sandbox.tiktok.state import Subscription

if TYPE_CHECKING:
    from sandbox.tiktok.app import TikTokSandbox

ADVERTISER_ENTITIES = (
    "AD",
    "AD_GROUP",
    "REPORT_DATA_CHANGE",
    "AD_ACCOUNT_SUSPENSION",
    "CREATIVE_FATIGUE",
    "LEAD",
)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},s={digest}"


def verify(secret: str, body: bytes, header: str, tolerance_s: float = 300.0) -> bool:
    """What a receiver does (used by the tests): recompute and compare in constant time."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


def _subscription_view(sub: Subscription) -> dict[str, Any]:
    return {
        "subscription_id": sub.subscription_id,
        "app_id": sub.app_id,
        "subscribe_entity": sub.subscribe_entity,
        "callback_url": sub.callback_url,
        "subscription_detail": sub.subscription_detail,
        "create_time": int(sub.create_time),
    }


async def subscribe(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    if ctx.switch("reject_unknown_fields"):
        p.reject_unknown(("app_id", "secret", "subscribe_entity", "callback_url", "subscription_detail"))
    app = check_app(ctx)
    entity = p.enum("subscribe_entity", enums.SUBSCRIBE_ENTITIES, required=True)
    url = p.string("callback_url", required=True, min_len=1, max_len=2048)
    assert entity is not None and url is not None
    parsed = urlparse(url)
    schemes = ("https",) if ctx.switch("webhook_require_https") else ("http", "https")
    if parsed.scheme not in schemes or not parsed.netloc:
        raise param_error("callback_url", f"Not a valid {'/'.join(schemes)} URL.")
    detail = p.nested("subscription_detail", required=entity in ADVERTISER_ENTITIES)
    detail_raw: dict[str, Any] = dict(detail.data) if detail else {}
    if entity in ADVERTISER_ENTITIES and detail is not None:
        advertiser_id = detail.id("advertiser_id", required=True)
        token_value = detail.string("access_token")
        tokens = [ctx.state.tokens.get(token_value)] if token_value else list(ctx.state.tokens.values())
        if not any(
            t and t.app_id == app.app_id and not t.revoked and advertiser_id in t.advertiser_ids
            for t in tokens
        ):
            raise ApiError(
                errors.PERMISSION_ERROR, f"Advertiser {advertiser_id} has not authorized this app."
            )
    sub = Subscription(ctx.sb.ids.next(), app.app_id, entity, url, detail_raw, ctx.now)
    ctx.state.subscriptions[sub.subscription_id] = sub
    return {"subscription_id": sub.subscription_id}


async def get(ctx: Ctx) -> dict[str, Any]:
    app = check_app(ctx)
    entity = ctx.params.enum("subscribe_entity", enums.SUBSCRIBE_ENTITIES)
    page, size = page_args(ctx.params, default_size=10, max_size=1000)
    rows = [
        _subscription_view(s)
        for s in ctx.state.subscriptions.values()
        if s.app_id == app.app_id and (entity is None or s.subscribe_entity == entity)
    ]
    page_rows, info = paginate(rows, page, size)
    return {"subscriptions": page_rows, "page_info": info}


async def unsubscribe(ctx: Ctx) -> dict[str, Any]:
    app = check_app(ctx)
    sub_id = ctx.params.id("subscription_id", required=True)
    sub = ctx.state.subscriptions.get(sub_id or "")
    if sub is None or sub.app_id != app.app_id:
        raise ApiError(errors.NOT_EXIST, f"subscription_id: Subscription {sub_id} does not exist.")
    del ctx.state.subscriptions[sub.subscription_id]
    return {"subscription_id": sub.subscription_id}


async def notify_review(sb: TikTokSandbox, ad_id: str, review_index: int, generation: int) -> None:
    """Deliver the outcome of one review to every AD subscription covering the ad's advertiser."""
    if generation != sb.generation:
        return  # the sandbox was reset since the review started
    ad = sb.store.get(ad_id, AD)
    reviews = ad.fields.get("_reviews", []) if ad else []
    if ad is None or review_index >= len(reviews) or reviews[review_index].get("notified"):
        return
    review = reviews[review_index]
    review["notified"] = True
    now = time.time()
    for sub in list(sb.state.subscriptions.values()):
        if sub.subscribe_entity != "AD" or sub.subscription_detail.get("advertiser_id") != ad.account_id:
            continue
        app = sb.state.apps.get(sub.app_id)
        entry = {
            "subscription_id": sub.subscription_id,
            "advertiser_id": ad.account_id,
            "campaign_id": ad.fields.get("campaign_id"),
            "adgroup_id": ad.parent_id,
            "ad_id": ad.id,
            "review_status": review["outcome"],
            "secondary_status": ad_secondary(sb, ad, now),
            "reject_reasons": review.get("reasons", []),
            "time": int(now),
        }
        payload = {
            "request_id": log_id(),
            "object": enums.WEBHOOK_OBJECT["AD"],
            "time": int(now),
            "entry": [entry],
        }
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if sb.switch("webhook_signature") == "tiktok_developers" and app is not None:
            headers["TikTok-Signature"] = sign(app.secret, body, int(now))
        sb.spawn(sb.deliver_webhook(sub.callback_url, body, headers))
