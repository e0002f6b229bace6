"""An ad's review outcome and a campaign's existence, read from TikTok (the tracker's polling).

`GET /ad/review_info/?advertiser_id&ad_ids=[…]` (≤100 ids) answers `ad_review_map{ad_id:
{review_status REVIEWING|APPROVED|REJECTED, reject_info[{reasons[], suggestion}]}}` — the shape is the
sandbox's, UNCONFIRMED against the live API. An ad it does not describe is read with `/ad/get/` and
judged by its secondary status (`AD_STATUS_AUDIT` reviewing, `AD_STATUS_NOT_APPROVE` rejected, without
reasons). A campaign is gone when `/campaign/get/` (every primary status) no longer lists it or shows it
deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from adrelay.platforms.http import Limiter
from adrelay.platforms.settings import PlatformSettings
from adrelay.platforms.tiktok.client import TikTokClient
from adrelay.tracker.outcomes import Review, ReviewOutcome, violation

BATCH = 100
REVIEW_STATES: dict[str, Review] = {"REVIEWING": "pending", "APPROVED": "approved", "REJECTED": "disapproved"}
GONE_SUFFIX = "_DELETE"


class TikTokReview:
    def __init__(self, client: TikTokClient) -> None:
        self.client = client

    async def ad_reviews(self, token: str, advertiser_id: str, ad_ids: Sequence[str]) -> list[ReviewOutcome]:
        out: list[ReviewOutcome] = []
        for start in range(0, len(ad_ids), BATCH):
            batch = list(ad_ids[start : start + BATCH])
            data = await self.client.get(
                "/ad/review_info/", token, {"advertiser_id": advertiser_id, "ad_ids": batch}
            )
            described = (data or {}).get("ad_review_map") or {}
            missing = []
            for ad_id in batch:
                info = described.get(ad_id)
                outcome = review_of(ad_id, info, advertiser_id) if isinstance(info, Mapping) else None
                if outcome is None:
                    missing.append(ad_id)
                else:
                    out.append(outcome)
            if missing:
                out += await self._by_status(token, advertiser_id, missing)
        return out

    async def _by_status(self, token: str, advertiser_id: str, ad_ids: list[str]) -> list[ReviewOutcome]:
        params = {
            "advertiser_id": advertiser_id,
            "filtering": {"ad_ids": ad_ids, "primary_status": "STATUS_ALL"},
            "fields": ["ad_id", "operation_status", "secondary_status"],
        }
        out = []
        async for page in self.client.pages("/ad/get/", token, params):
            for row in page:
                outcome = review_of_status(row, advertiser_id)
                if outcome is not None:
                    out.append(outcome)
        return out

    async def campaign_deleted(self, token: str, advertiser_id: str, campaign_id: str) -> bool:
        params = {
            "advertiser_id": advertiser_id,
            "filtering": {"campaign_ids": [campaign_id], "primary_status": "STATUS_ALL"},
            "fields": ["campaign_id", "operation_status", "secondary_status"],
        }
        data = await self.client.get("/campaign/get/", token, params)
        rows = [r for r in (data or {}).get("list") or [] if str(r.get("campaign_id")) == campaign_id]
        return not rows or _deleted(rows[0])

    async def close(self) -> None:
        await self.client.close()


def create_review(settings: PlatformSettings, limiter: Limiter) -> TikTokReview:
    return TikTokReview(TikTokClient(settings.tiktok, timeout_s=settings.http_timeout_s, limiter=limiter))


def review_of(ad_id: str, info: Mapping[str, Any], advertiser_id: str | None = None) -> ReviewOutcome | None:
    review = REVIEW_STATES.get(str(info.get("review_status") or ""))
    if review is None:
        return None
    reasons: list[str] = []
    suggestions: list[str] = []
    for item in info.get("reject_info") or []:
        if isinstance(item, Mapping):
            reasons += [str(r) for r in item.get("reasons") or [] if r]
            if item.get("suggestion"):
                suggestions.append(str(item["suggestion"]))
    disapproved = review == "disapproved"
    return ReviewOutcome(
        external_ad_id=ad_id,
        review=review,
        violations=tuple(violation(r) for r in reasons) if disapproved else (),
        suggestions=tuple(dict.fromkeys(suggestions)) if disapproved else (),
        account_id=advertiser_id,
        observed_at=datetime.now(UTC),
    )


def review_of_status(row: Mapping[str, Any], advertiser_id: str | None = None) -> ReviewOutcome | None:
    """Review judged from `/ad/get/`'s secondary status (no reasons there); None for a deleted ad."""
    if _deleted(row) or not row.get("ad_id"):
        return None
    status = str(row.get("secondary_status") or "")
    review: Review = (
        "pending"
        if status == "AD_STATUS_AUDIT"
        else "disapproved"
        if status == "AD_STATUS_NOT_APPROVE"
        else "approved"
    )
    return ReviewOutcome(
        external_ad_id=str(row["ad_id"]),
        review=review,
        account_id=advertiser_id,
        observed_at=datetime.now(UTC),
        complete=review != "disapproved",
    )


def _deleted(row: Mapping[str, Any]) -> bool:
    return row.get("operation_status") == "DELETE" or str(row.get("secondary_status") or "").endswith(
        GONE_SUFFIX
    )
