"""An ad's review outcome and a campaign's existence, read from the Graph API (the tracker's polling).

`GET /{ad_id}?fields=effective_status,ad_review_feedback,issues_info`: review is in the effective status
(`PENDING_REVIEW`/`IN_PROCESS` pending, `DISAPPROVED`, every delivering or paused status approved);
`ad_review_feedback` holds the reasons (`{"global": {"<policy>": "<text>"}, "placement_specific": …}`)
and `issues_info` the problems of an ad `WITH_ISSUES`. A deleted campaign still reads, with
`effective_status` DELETED; one that is gone altogether answers code 100 / subcode 33.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from adrelay.platforms.errors import PlatformCallError
from adrelay.platforms.http import Limiter
from adrelay.platforms.meta.classify import SUBCODE_OBJECT_MISSING
from adrelay.platforms.meta.client import MetaClient
from adrelay.platforms.settings import PlatformSettings
from adrelay.tracker.outcomes import Review, ReviewOutcome, violation

AD_FIELDS = "id,account_id,effective_status,ad_review_feedback,issues_info"
PENDING = frozenset({"PENDING_REVIEW", "IN_PROCESS"})
APPROVED = frozenset(
    {"ACTIVE", "PAUSED", "CAMPAIGN_PAUSED", "ADSET_PAUSED", "PENDING_BILLING_INFO", "PREAPPROVED"}
)
GONE = frozenset({"DELETED", "ARCHIVED"})
SUGGESTION = "Edit the ad so that it complies with Meta's Advertising Standards; the edit is reviewed again."


class MetaReview:
    def __init__(self, client: MetaClient) -> None:
        self.client = client

    async def ad_reviews(self, token: str, account_id: str, ad_ids: Sequence[str]) -> list[ReviewOutcome]:
        """The review of each ad that still exists (one read per ad)."""
        out = []
        for ad_id in ad_ids:
            try:
                ad = await self.client.get(
                    ad_id, token, endpoint="GET /{ad_id}", account=account_id, params={"fields": AD_FIELDS}
                )
            except PlatformCallError as exc:
                if _missing(exc):
                    continue
                raise
            outcome = review_of(ad, account_id)
            if outcome is not None:
                out.append(outcome)
        return out

    async def campaign_deleted(self, token: str, account_id: str, campaign_id: str) -> bool:
        try:
            campaign = await self.client.get(
                campaign_id,
                token,
                endpoint="GET /{campaign_id}",
                account=account_id,
                params={"fields": "id,effective_status"},
            )
        except PlatformCallError as exc:
            if _missing(exc):
                return True
            raise
        return str(campaign.get("effective_status") or "") == "DELETED"

    async def close(self) -> None:
        await self.client.close()


def create_review(settings: PlatformSettings, limiter: Limiter) -> MetaReview:
    return MetaReview(MetaClient(settings.meta, limiter, timeout_s=settings.http_timeout_s))


def review_of(ad: Mapping[str, Any], account_id: str | None = None) -> ReviewOutcome | None:
    """The outcome an ad's fields say; None for a deleted or archived ad (no review to report)."""
    status = str(ad.get("effective_status") or "")
    if status in GONE:
        return None
    review: Review | None
    reasons = feedback_reasons(ad.get("ad_review_feedback"))
    if status in PENDING:
        review = "pending"
    elif status == "DISAPPROVED":
        review = "disapproved"
    elif status in APPROVED:
        review = "approved"
    elif status == "WITH_ISSUES":
        reasons += issue_reasons(ad.get("issues_info"))
        review = "disapproved" if reasons else None
    else:
        review = None
    disapproved = review == "disapproved"
    return ReviewOutcome(
        external_ad_id=str(ad["id"]),
        review=review,
        violations=tuple(violation(r) for r in reasons) if disapproved else (),
        suggestions=(SUGGESTION,) if disapproved else (),
        account_id=account_id,
        observed_at=datetime.now(UTC),
    )


def feedback_reasons(feedback: Any) -> list[str]:
    """`{"global": {"Policy": "text"}, "placement_specific": {"instagram": {…}}}` → "Policy: text"."""
    if not isinstance(feedback, Mapping):
        return [str(feedback)] if feedback else []
    reasons: list[str] = []
    for scope, entries in feedback.items():
        if isinstance(entries, Mapping):
            for policy, text in entries.items():
                if isinstance(text, Mapping):  # placement_specific: placement → {policy: text}
                    reasons += [f"{scope} {policy} {p}: {t}" for p, t in text.items()]
                else:
                    reasons.append(f"{policy}: {text}" if policy not in {"Text", "text"} else str(text))
        elif entries:
            reasons.append(str(entries))
    return reasons


def issue_reasons(issues: Any) -> list[str]:
    if not isinstance(issues, list):
        return []
    return [
        str(i.get("error_message") or i.get("error_summary"))
        for i in issues
        if isinstance(i, Mapping) and (i.get("error_message") or i.get("error_summary"))
    ]


def _missing(exc: PlatformCallError) -> bool:
    return exc.error.platform_code == "100" and exc.error.platform_subcode == str(SUBCODE_OBJECT_MISSING)
