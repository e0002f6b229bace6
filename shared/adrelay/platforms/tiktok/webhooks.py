"""TikTok's subscription callbacks for ad reviews: signature, deliveries, registration.

Signature: `TikTok-Signature: t=<unix>,s=<hex HMAC-SHA256(app secret, "<t>.<raw body>")>`, the scheme
TikTok for Developers documents [C]; that Marketing API `/subscription/` callbacks are signed the same
way is UNCONFIRMED (platform-apis §2.12) — it is what the sandbox sends. The timestamp must be within a
tolerance, so a captured delivery cannot be replayed later.

Deliveries (at least once): `{"request_id","object":3,"time","entry":[…]}`, object 3 = ad review. An
entry names `ad_id` and the advertiser (`advertiser_id`, or `adv_id` in the community SDK's model), and
the outcome: `review_status` APPROVED/REJECTED with `reject_reasons[]` (sandbox), or `reject_reason`
(community SDK); an entry that names no outcome makes the tracker read the ad.

Registration: `POST /subscription/subscribe/` with `app_id`, `secret`, `subscribe_entity: AD`,
`callback_url` and `subscription_detail{advertiser_id, access_token}`, one per advertiser; existing
ones are listed with `GET /subscription/get/` (shapes [S]; the community SDK's doc text says AD
subscriptions also take an `ad_id`: a per-advertiser subscription is UNCONFIRMED beyond the sandbox).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adrelay.platforms.tiktok.client import TikTokClient
from adrelay.tracker.outcomes import Review, ReviewOutcome, violation

SIGNATURE_HEADER = "TikTok-Signature"
AD_REVIEW_OBJECT = 3
ENTITY = "AD"
REVIEW_STATES: dict[str, Review] = {
    "APPROVED": "approved",
    "REJECTED": "disapproved",
    "REVIEWING": "pending",
}


def signature_valid(
    secret: str, body: bytes, header: str | None, *, tolerance_s: float, now: float | None = None
) -> bool:
    """`t=<unix>,s=<hex>`: the HMAC over "<t>.<raw body>" matches (constant time) and `t` is recent."""
    if not secret or not header:
        return False
    try:
        parts = dict(item.strip().split("=", 1) for item in header.split(","))
        stamp = int(parts["t"])
        given = parts["s"]
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.encode())


def delivery_id(payload: Mapping[str, Any]) -> str | None:
    value = payload.get("request_id")
    return str(value) if value else None


def parse(body: bytes) -> tuple[dict[str, Any], list[ReviewOutcome]]:
    """The payload and the ad review outcomes it tells; ValueError when it is not a delivery."""
    payload = json.loads(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise ValueError("not a TikTok webhook delivery")
    if _int(payload.get("object")) != AD_REVIEW_OBJECT:
        return payload, []
    at = _time(payload.get("time"))
    out = []
    for entry in payload["entry"]:
        if isinstance(entry, Mapping) and entry.get("ad_id"):
            out.append(_outcome(entry, at))
    return payload, out


def _outcome(entry: Mapping[str, Any], at: datetime) -> ReviewOutcome:
    reasons = [str(r) for r in entry.get("reject_reasons") or [] if r]
    if entry.get("reject_reason"):
        reasons.append(str(entry["reject_reason"]))
    review = REVIEW_STATES.get(str(entry.get("review_status") or ""))
    if review is None and str(entry.get("secondary_status") or "") == "AD_STATUS_NOT_APPROVE":
        review = "disapproved"
    if review is None and reasons:
        review = "disapproved"
    disapproved = review == "disapproved"
    advertiser = entry.get("advertiser_id") or entry.get("adv_id")
    return ReviewOutcome(
        external_ad_id=str(entry["ad_id"]),
        review=review,
        violations=tuple(violation(r) for r in reasons) if disapproved else (),
        account_id=str(advertiser) if advertiser else None,
        observed_at=_time(entry.get("time")) if entry.get("time") else at,
        complete=review is not None and (not disapproved or bool(reasons)),
    )


def _int(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _time(raw: Any) -> datetime:
    stamp = _int(raw)
    return datetime.fromtimestamp(stamp, UTC) if stamp is not None else datetime.now(UTC)


async def subscribed_advertisers(
    client: TikTokClient, token: str, app_id: str, secret: str, callback_url: str
) -> set[str]:
    """Advertisers whose AD subscription already calls `callback_url`."""
    found: set[str] = set()
    page = 1
    while True:
        data = await client.get(
            "/subscription/get/",
            token,
            {"app_id": app_id, "secret": secret, "subscribe_entity": ENTITY, "page": page, "page_size": 100},
        )
        for sub in (data or {}).get("subscriptions") or []:
            detail = sub.get("subscription_detail") or {}
            if sub.get("callback_url") == callback_url and detail.get("advertiser_id"):
                found.add(str(detail["advertiser_id"]))
        info = (data or {}).get("page_info") or {}
        if page >= int(info.get("total_page") or 1):
            return found
        page += 1


async def subscribe(
    client: TikTokClient, token: str, app_id: str, secret: str, callback_url: str, advertiser_id: str
) -> str:
    """Subscribe `callback_url` to the review outcomes of the advertiser's ads; the subscription id."""
    data = await client.post(
        "/subscription/subscribe/",
        token,
        {
            "app_id": app_id,
            "secret": secret,
            "subscribe_entity": ENTITY,
            "callback_url": callback_url,
            "subscription_detail": {"advertiser_id": advertiser_id, "access_token": token},
        },
    )
    return str((data or {}).get("subscription_id") or "")
