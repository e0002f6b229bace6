"""Campaigns, ad groups and ads in the object store: status changes, derived statuses and views.

`operation_status` is what the advertiser set (ENABLE / DISABLE / DELETE); `secondary_status` is
derived on every read from the object, its parents, its review and its advertiser, as the platform
derives it. Internal bookkeeping lives in `fields` under keys starting with "_" and is never shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.common.store import SandboxObject
from sandbox.tiktok.delivery import Span, intersect_all, set_active, spans
from sandbox.tiktok.errors import NOT_EXIST, ApiError
from sandbox.tiktok.params import format_datetime

if TYPE_CHECKING:
    from sandbox.tiktok.app import TikTokSandbox

CAMPAIGN, ADGROUP, AD, IMAGE, VIDEO = "campaign", "adgroup", "ad", "image", "video"
ID_FIELD = {CAMPAIGN: "campaign_id", ADGROUP: "adgroup_id", AD: "ad_id"}
NAME_FIELD = {CAMPAIGN: "campaign_name", ADGROUP: "adgroup_name", AD: "ad_name"}
LABEL = {CAMPAIGN: "Campaign", ADGROUP: "Ad group", AD: "Ad"}


def new_object(
    kind: str,
    object_id: str,
    name: str,
    parent_id: str | None,
    advertiser_id: str,
    fields: dict[str, Any],
    now: float,
) -> SandboxObject:
    obj = SandboxObject(
        kind=kind,
        id=object_id,
        name=name,
        parent_id=parent_id,
        account_id=advertiser_id,
        status=str(fields.get("operation_status", "ENABLE")),
        created_at=now,
        updated_at=now,
        fields=fields,
    )
    fields.setdefault("_active", [])
    fields["create_time"] = format_datetime(now)
    fields["modify_time"] = format_datetime(now)
    set_active(fields["_active"], obj.status == "ENABLE", now)
    return obj


def set_operation_status(obj: SandboxObject, status: str, now: float, reason: str = "self") -> None:
    """ENABLE / DISABLE / DELETE; DELETE is final and remembers whether a parent caused it."""
    obj.fields["operation_status"] = status
    obj.status = status
    if status == "DELETE":
        obj.deleted = True
        obj.fields["_delete_reason"] = reason
    set_active(obj.fields.setdefault("_active", []), status == "ENABLE", now)
    touch(obj, now)


def touch(obj: SandboxObject, now: float) -> None:
    obj.updated_at = now
    obj.fields["modify_time"] = format_datetime(now)


def find(
    sb: TikTokSandbox, kind: str, advertiser_id: str, object_id: str, field: str | None = None
) -> SandboxObject:
    """An object of this advertiser, or 40007 naming it."""
    obj = sb.store.get(object_id, kind)
    if obj is None or obj.account_id != advertiser_id:
        label = field or ID_FIELD.get(kind, kind)
        raise ApiError(NOT_EXIST, f"{label}: {LABEL.get(kind, kind)} {object_id} does not exist.")
    return obj


def parents(sb: TikTokSandbox, obj: SandboxObject) -> tuple[SandboxObject | None, SandboxObject | None]:
    """(campaign, ad group) of an object (None where not applicable)."""
    if obj.kind == CAMPAIGN:
        return None, None
    if obj.kind == ADGROUP:
        return sb.store.get(obj.parent_id or "", CAMPAIGN), None
    adgroup = sb.store.get(obj.parent_id or "", ADGROUP)
    campaign = sb.store.get(adgroup.parent_id or "", CAMPAIGN) if adgroup else None
    return campaign, adgroup


# ---- review --------------------------------------------------------------------------------
def current_review(ad: SandboxObject) -> dict[str, Any] | None:
    reviews = ad.fields.get("_reviews") or []
    return reviews[-1] if reviews else None


def review_state(ad: SandboxObject, now: float) -> str:
    """REVIEWING, APPROVED or REJECTED for the ad's latest version."""
    review = current_review(ad)
    if review is None:
        return "APPROVED"
    if now < review["done_at"]:
        return "REVIEWING"
    return str(review["outcome"])


def approved_spans(ad: SandboxObject) -> list[Span]:
    """Approved from each approving review's end until the next review starts."""
    reviews = ad.fields.get("_reviews") or []
    out: list[Span] = []
    for i, review in enumerate(reviews):
        if review["outcome"] != "APPROVED":
            continue
        end = reviews[i + 1]["started_at"] if i + 1 < len(reviews) else float("inf")
        if review["done_at"] < end:
            out.append((review["done_at"], end))
    return out


# ---- delivery ------------------------------------------------------------------------------
def schedule_span(adgroup: SandboxObject) -> Span:
    start = float(adgroup.fields.get("_schedule_start") or 0.0)
    end = adgroup.fields.get("_schedule_end")
    return start, float("inf") if end is None else float(end)


def ad_delivery(sb: TikTokSandbox, ad: SandboxObject) -> list[Span]:
    """When the ad was (and is) delivering."""
    campaign, adgroup = parents(sb, ad)
    if campaign is None or adgroup is None:
        return []
    return intersect_all(
        [
            spans(ad.fields.get("_active", [])),
            spans(adgroup.fields.get("_active", [])),
            spans(campaign.fields.get("_active", [])),
            sb.state.advertiser_spans(ad.account_id or ""),
            approved_spans(ad),
            [schedule_span(adgroup)],
        ]
    )


def _funded(sb: TikTokSandbox, advertiser_id: str | None) -> bool:
    adv = sb.state.advertisers.get(advertiser_id or "")
    return adv is not None and adv.funded()


def campaign_secondary(obj: SandboxObject) -> str:
    status = obj.fields.get("operation_status")
    if status == "DELETE":
        return "CAMPAIGN_STATUS_DELETE"
    if status == "DISABLE":
        return "CAMPAIGN_STATUS_DISABLE"
    return "CAMPAIGN_STATUS_ENABLE"


def adgroup_secondary(sb: TikTokSandbox, obj: SandboxObject, now: float) -> str:
    campaign, _ = parents(sb, obj)
    status = obj.fields.get("operation_status")
    if status == "DELETE":
        return (
            "ADGROUP_STATUS_CAMPAIGN_DELETE"
            if obj.fields.get("_delete_reason") == "campaign"
            else ("ADGROUP_STATUS_DELETE")
        )
    if campaign is not None and campaign.fields.get("operation_status") == "DISABLE":
        return "ADGROUP_STATUS_CAMPAIGN_DISABLE"
    if status == "DISABLE":
        return "ADGROUP_STATUS_DISABLE"
    if not _funded(sb, obj.account_id):
        return "ADGROUP_STATUS_BALANCE_EXCEED"
    start, end = schedule_span(obj)
    if now < start:
        return "ADGROUP_STATUS_NOT_START"
    if now >= end:
        return "ADGROUP_STATUS_TIME_DONE"
    ads = [a for a in sb.store.children(obj.id, AD) if not a.deleted]
    if not ads:
        return "ADGROUP_STATUS_CREATE"
    states = {review_state(a, now) for a in ads}
    if "APPROVED" in states:
        return "ADGROUP_STATUS_DELIVERY_OK"
    if "REVIEWING" in states:
        return "ADGROUP_STATUS_AUDIT"
    return "ADGROUP_STATUS_NOT_DELIVER"


def ad_secondary(sb: TikTokSandbox, obj: SandboxObject, now: float) -> str:
    campaign, adgroup = parents(sb, obj)
    status = obj.fields.get("operation_status")
    if status == "DELETE":
        reason = obj.fields.get("_delete_reason")
        return {"campaign": "AD_STATUS_CAMPAIGN_DELETE", "adgroup": "AD_STATUS_ADGROUP_DELETE"}.get(
            str(reason), "AD_STATUS_DELETE"
        )
    review = review_state(obj, now)
    if review == "REVIEWING":
        return "AD_STATUS_AUDIT"
    if review == "REJECTED":
        return "AD_STATUS_NOT_APPROVE"
    if campaign is not None and campaign.fields.get("operation_status") == "DISABLE":
        return "AD_STATUS_CAMPAIGN_DISABLE"
    if adgroup is not None and adgroup.fields.get("operation_status") == "DISABLE":
        return "AD_STATUS_ADGROUP_DISABLE"
    if status == "DISABLE":
        return "AD_STATUS_DISABLE"
    if not _funded(sb, obj.account_id):
        return "AD_STATUS_BALANCE_EXCEED"
    if adgroup is not None:
        start, end = schedule_span(adgroup)
        if now < start:
            return "AD_STATUS_NOT_START"
        if now >= end:
            return "AD_STATUS_DONE"
    return "AD_STATUS_DELIVERY_OK"


def secondary_status(sb: TikTokSandbox, obj: SandboxObject, now: float) -> str:
    if obj.kind == CAMPAIGN:
        return campaign_secondary(obj)
    if obj.kind == ADGROUP:
        return adgroup_secondary(sb, obj, now)
    return ad_secondary(sb, obj, now)


def is_delivering(sb: TikTokSandbox, obj: SandboxObject, now: float) -> bool:
    status = secondary_status(sb, obj, now)
    return status.endswith("DELIVERY_OK") or status == "CAMPAIGN_STATUS_ENABLE"


def view(sb: TikTokSandbox, obj: SandboxObject, now: float) -> dict[str, Any]:
    """The platform's representation of the object (no internal keys)."""
    out = {k: v for k, v in obj.fields.items() if not k.startswith("_")}
    out["secondary_status"] = secondary_status(sb, obj, now)
    campaign, adgroup = parents(sb, obj)
    if campaign is not None:
        out["campaign_name"] = campaign.name
    if adgroup is not None:
        out["adgroup_name"] = adgroup.name
    return out
