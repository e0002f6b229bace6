"""Meta's app webhooks for ad accounts: verification handshake, signature, deliveries, registration.

Handshake (platform-apis §1.8 [C]): Meta calls the callback with `hub.mode=subscribe`,
`hub.challenge` and `hub.verify_token`; the answer is the raw challenge when the token is ours.
Deliveries are signed `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`, checked
over the raw bytes in constant time. A delivery is
`{"object":"ad_account","entry":[{"id","time","changes":[{"field","value"}]}]}`; the review-related
fields are `in_process_ad_objects` (`{"id","level":"AD","status_name"}`) and `with_issues_ad_objects`
(`{"id","level","error_code","error_summary","error_message"}`) — field names and values UNCONFIRMED
beyond the sandbox. Registration: `POST /{app_id}/subscriptions` with the app access token
(`object=ad_account`, callback, fields, verify token; Meta runs the handshake before accepting), and
`POST /act_{id}/subscribed_apps` with a token of the ad account, so its events reach the app.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adrelay.platforms.meta.client import MetaClient
from adrelay.tracker.outcomes import Review, ReviewOutcome, violation

SIGNATURE_HEADER = "X-Hub-Signature-256"
OBJECT = "ad_account"
FIELDS = ("in_process_ad_objects", "with_issues_ad_objects")
PENDING_STATUSES = frozenset({"PENDING_REVIEW", "IN_PROCESS"})
APPROVED_STATUSES = frozenset(
    {"ACTIVE", "PAUSED", "CAMPAIGN_PAUSED", "ADSET_PAUSED", "PENDING_BILLING_INFO", "PREAPPROVED"}
)


def challenge(params: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to echo when the handshake is a subscribe with our token; None refuses it."""
    if not verify_token or params.get("hub.mode") != "subscribe":
        return None
    given = params.get("hub.verify_token") or ""
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    return params.get("hub.challenge")


def signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """`sha256=<hex>` over the raw body with the app secret, compared in constant time."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def parse(body: bytes) -> list[ReviewOutcome]:
    """The review outcomes a delivery tells; ValueError when it is not a delivery at all."""
    payload = json.loads(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise ValueError("not a Meta webhook delivery")
    if payload.get("object") != OBJECT:
        return []
    out: list[ReviewOutcome] = []
    for entry in payload["entry"]:
        if not isinstance(entry, dict):
            continue
        account = str(entry.get("id") or "") or None
        at = _time(entry.get("time"))
        for change in entry.get("changes") or []:
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                continue
            outcome = _outcome(str(change.get("field") or ""), change["value"], account, at)
            if outcome is not None:
                out.append(outcome)
    return out


def _outcome(field: str, value: Mapping[str, Any], account: str | None, at: datetime) -> ReviewOutcome | None:
    if str(value.get("level") or "AD").upper() != "AD" or not value.get("id"):
        return None
    ad_id = str(value["id"])
    if field == "in_process_ad_objects":
        status = str(value.get("status_name") or "")
        review: Review | None = (
            "pending"
            if status in PENDING_STATUSES
            else "approved"
            if status in APPROVED_STATUSES
            else "disapproved"
            if status == "DISAPPROVED"
            else None
        )
        if status in {"DELETED", "ARCHIVED"}:
            return None
        # A disapproval here carries no reasons: the ad is read for them (complete=False).
        return ReviewOutcome(
            ad_id, review, account_id=account, observed_at=at, complete=review != "disapproved"
        )
    if field == "with_issues_ad_objects":
        summary = str(value.get("error_summary") or "")
        message = str(value.get("error_message") or summary)
        if "disapproved" in summary.lower() and message:
            return ReviewOutcome(
                ad_id, "disapproved", (violation(message),), account_id=account, observed_at=at
            )
        return ReviewOutcome(ad_id, None, account_id=account, observed_at=at, complete=False)
    return None


def _time(raw: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC)


async def register_app(
    client: MetaClient, app_id: str, app_secret: str, callback_url: str, verify_token: str
) -> bool:
    """The app's ad-account subscription points at `callback_url` with our fields; False when it
    already did (Meta keeps one callback per app and object)."""
    app_token = f"{app_id}|{app_secret}"
    current = await client.get(
        f"{app_id}/subscriptions", app_token, endpoint="GET /{app_id}/subscriptions", account=None
    )
    for sub in current.get("data") or []:
        names = {str(f.get("name")) for f in sub.get("fields") or [] if isinstance(f, dict)}
        if (
            sub.get("object") == OBJECT
            and sub.get("callback_url") == callback_url
            and sub.get("active", True)
            and set(FIELDS) <= names
        ):
            return False
    await client.post(
        f"{app_id}/subscriptions",
        app_token,
        endpoint="POST /{app_id}/subscriptions",
        account=None,
        data={
            "object": OBJECT,
            "callback_url": callback_url,
            "fields": ",".join(FIELDS),
            "verify_token": verify_token,
            "include_values": True,
        },
    )
    return True


async def subscribe_account(client: MetaClient, token: str, account_id: str, app_id: str) -> None:
    """The ad account sends its events to our app (idempotent on Meta's side)."""
    account = account_id if account_id.startswith("act_") else f"act_{account_id}"
    await client.post(
        f"{account}/subscribed_apps",
        token,
        endpoint="POST /act_{ad_account_id}/subscribed_apps",
        account=account,
        data={"app_id": app_id},
    )
