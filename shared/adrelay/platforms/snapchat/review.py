"""An ad's review outcome and a campaign's existence, read from Snap (the tracker's polling).

Snap has no ads webhooks (platform-apis §4: none found, UNCONFIRMED), so review outcomes are polled:
`GET /ads/{id}` → `review_status` PENDING | APPROVED | REJECTED, with `review_status_reasons[]` when
rejected [C docs / O recorded]. Deleted entities answer 404 (E3004) by id, so a campaign that reads
as not found, or with `deleted: true`, is gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from adrelay.model import Platform
from adrelay.platforms.base import TokenSource
from adrelay.platforms.errors import NotFound
from adrelay.platforms.http import Limiter, PlatformHttp
from adrelay.platforms.settings import PlatformSettings
from adrelay.platforms.snapchat.client import Caller, SnapClient
from adrelay.platforms.snapchat.limits import SnapLimits
from adrelay.tracker.outcomes import Review, ReviewOutcome, violation

REVIEW_STATES: dict[str, Review] = {
    "PENDING": "pending",
    "PENDING_REVIEW": "pending",
    "APPROVED": "approved",
    "REJECTED": "disapproved",
}
SUGGESTION = "Edit the ad so that it complies with Snap's Advertising Policies; the edit is reviewed again."


class GivenToken(TokenSource):
    """The tracker hands over a token it holds; a refusal goes back to it, classified."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def access_token(self) -> str:
        return self.token

    async def after_auth_error(self, failed_token: str) -> str | None:
        return None


class SnapchatReview:
    def __init__(self, client: SnapClient) -> None:
        self.client = client

    async def ad_reviews(
        self, token: str, account_id: str, ad_ids: Sequence[str], *, connection_id: str | None = None
    ) -> list[ReviewOutcome]:
        caller = Caller(GivenToken(token), connection_id or account_id)
        out = []
        for ad_id in ad_ids:
            try:
                ad = await self.client.get(caller, f"/ads/{ad_id}", "ad", endpoint="GET /ads/{ad_id}")
            except NotFound:
                continue
            outcome = review_of(ad, account_id)
            if outcome is not None:
                out.append(outcome)
        return out

    async def campaign_deleted(
        self, token: str, account_id: str, campaign_id: str, *, connection_id: str | None = None
    ) -> bool:
        caller = Caller(GivenToken(token), connection_id or account_id)
        try:
            campaign = await self.client.get(
                caller, f"/campaigns/{campaign_id}", "campaign", endpoint="GET /campaigns/{campaign_id}"
            )
        except NotFound:
            return True
        return bool(campaign.get("deleted")) or str(campaign.get("status") or "") == "DELETED"

    async def close(self) -> None:
        await self.client.http.close()


def create_review(settings: PlatformSettings, limiter: Limiter) -> SnapchatReview:
    http = PlatformHttp(
        Platform.SNAPCHAT, settings.snapchat.api_url, timeout_s=settings.http_timeout_s, limiter=limiter
    )
    return SnapchatReview(SnapClient(http, SnapLimits(settings.snapchat, limiter)))


def review_of(ad: Mapping[str, Any], account_id: str | None = None) -> ReviewOutcome | None:
    if ad.get("deleted") or not ad.get("id"):
        return None
    review = REVIEW_STATES.get(str(ad.get("review_status") or "").upper())
    if review is None:
        return None
    disapproved = review == "disapproved"
    reasons = [str(r) for r in ad.get("review_status_reasons") or [] if r] if disapproved else []
    return ReviewOutcome(
        external_ad_id=str(ad["id"]),
        review=review,
        violations=tuple(violation(r) for r in reasons),
        suggestions=(SUGGESTION,) if disapproved else (),
        account_id=account_id,
        observed_at=datetime.now(UTC),
    )
