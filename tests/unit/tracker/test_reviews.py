"""Review outcomes read from each platform's ad shape, and when a change is news."""

from __future__ import annotations

from datetime import UTC, datetime

from adrelay.platforms.meta.review import review_of as meta_review
from adrelay.platforms.snapchat.review import review_of as snapchat_review
from adrelay.platforms.tiktok.review import review_of as tiktok_review
from adrelay.platforms.tiktok.review import review_of_status
from adrelay.tracker.outcomes import violation
from adrelay.tracker.reviews import ReviewRow, change_of


def test_meta_review_from_effective_status_and_feedback() -> None:
    ad = {
        "id": "120",
        "effective_status": "DISAPPROVED",
        "ad_review_feedback": {"global": {"Text": "Your ad doesn't comply with our Advertising Policies."}},
    }
    outcome = meta_review(ad, "act_1")
    assert outcome is not None and outcome.review == "disapproved"
    assert [v.message for v in outcome.violations] == [
        "Your ad doesn't comply with our Advertising Policies."
    ]
    assert outcome.suggestions
    named = meta_review(
        {**ad, "ad_review_feedback": {"global": {"Misleading Claims": "Unrealistic outcome"}}}
    )
    assert named is not None and named.violations[0].message == "Misleading Claims: Unrealistic outcome"
    assert (meta_review({"id": "1", "effective_status": "PENDING_REVIEW"}) or ad).review == "pending"  # type: ignore[union-attr]
    assert (meta_review({"id": "1", "effective_status": "CAMPAIGN_PAUSED"}) or ad).review == "approved"  # type: ignore[union-attr]
    assert meta_review({"id": "1", "effective_status": "DELETED"}) is None


def test_tiktok_review_from_review_info_and_secondary_status() -> None:
    info = {
        "review_status": "REJECTED",
        "reject_info": [
            {"reasons": ["Landing page is not accessible"], "suggestion": "Fix the landing page."}
        ],
    }
    outcome = tiktok_review("71", info, "7300")
    assert outcome is not None and outcome.review == "disapproved"
    assert outcome.violations[0].kind == "landing_page" and outcome.suggestions == ("Fix the landing page.",)
    assert (tiktok_review("71", {"review_status": "REVIEWING"}) or outcome).review == "pending"
    by_status = review_of_status({"ad_id": "71", "secondary_status": "AD_STATUS_NOT_APPROVE"})
    assert by_status is not None and by_status.review == "disapproved" and not by_status.complete
    assert review_of_status({"ad_id": "71", "secondary_status": "AD_STATUS_CAMPAIGN_DELETE"}) is None


def test_snapchat_review_from_review_status() -> None:
    outcome = snapchat_review(
        {"id": "a1", "review_status": "REJECTED", "review_status_reasons": ["Image quality"]}
    )
    assert outcome is not None and outcome.review == "disapproved" and outcome.violations[0].kind == "image"
    assert (snapchat_review({"id": "a1", "review_status": "PENDING"}) or outcome).review == "pending"
    assert snapchat_review({"id": "a1", "review_status": "APPROVED", "deleted": True}) is None


def _row(review: str | None, emitted: str | None) -> ReviewRow:
    return ReviewRow(
        platform="meta",
        external_ad_id="9",
        account_id="act_1",
        publish_id="pub-1",
        campaign_id="cmp-1",
        ad_id="ad-1-1",
        review=review,
        violations=[violation("Prohibited content").model_dump(mode="json")],
        suggestions=[],
        source="webhook",
        needs_detail=False,
        emitted_review=emitted,
        emitted_version=0,
        attempts=0,
        created_at=datetime.now(UTC),
    )


def test_a_change_is_news_once_and_a_first_pending_is_not() -> None:
    assert change_of(_row("pending", None)) is None
    assert change_of(_row("approved", "approved")) is None
    assert change_of(_row(None, None)) is None
    change = change_of(_row("disapproved", "approved"))
    assert change is not None and change.source == "webhook" and change.ad_id == "ad-1-1"
    assert change.violations[0].ad_id == "ad-1-1"
    assert change_of(_row("pending", "disapproved")) is not None  # re-reviewed after an edit
