"""`/ad/create/`, `/ad/get/`, `/ad/update/`, `/ad/review_info/` — creatives are inline in the ad.

There is no creative endpoint (a `create_creative` call gets 404) and no `request_id` on ads. Every
created or updated ad goes through an asynchronous review (`config.review_delay_s`): `AD_STATUS_AUDIT`
while reviewing, then delivering / disabled, or `AD_STATUS_NOT_APPROVE` with reject reasons when a
`disapprove` fault matched the request (review.py notifies subscribers).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from sandbox.common.store import SandboxObject
from sandbox.tiktok import enums, errors
from sandbox.tiktok.api import DISAPPROVE, Ctx
from sandbox.tiktok.errors import ApiError, param_error
from sandbox.tiktok.files import video_ready
from sandbox.tiktok.listing import (
    creation_window,
    filtering,
    fuzzy,
    page_args,
    paginate,
    primary_status_ok,
    select_fields,
    visible,
)
from sandbox.tiktok.objects import (
    AD,
    ADGROUP,
    CAMPAIGN,
    IMAGE,
    VIDEO,
    current_review,
    find,
    is_delivering,
    new_object,
    review_state,
    touch,
    view,
)
from sandbox.tiktok.params import Params, format_datetime
from sandbox.tiktok.state import Advertiser

# Real creative fields the sandbox accepts and echoes without modelling them.
PASS_THROUGH = (
    "card_id",
    "landing_page_urls",
    "fallback_type",
    "dark_post_status",
    "branded_content_disabled",
    "promotional_music_disabled",
    "item_duet_status",
    "item_stitch_status",
    "vertical_video_strategy",
    "playable_url",
    "shopping_ads_fallback_type",
    "carousel_image_index",
)
CREATIVE_FIELDS = (
    "ad_name",
    "ad_format",
    "ad_text",
    "video_id",
    "image_ids",
    "call_to_action",
    "call_to_action_id",
    "landing_page_url",
    "identity_type",
    "identity_id",
    "identity_authorized_bc_id",
    "display_name",
    "tiktok_item_id",
    "tracking_pixel_id",
    "impression_tracking_url",
    "click_tracking_url",
    "deeplink",
    "deeplink_type",
    "operation_status",
    "avatar_icon_web_uri",
    "music_id",
    "creative_authorized",
    "utm_params",
    "page_id",
    *PASS_THROUGH,
)
SPARK_IDENTITIES = ("AUTH_CODE", "TT_USER", "BC_AUTH_TT")
REJECT_REASON = "The ad content violates the advertising policies (sandbox `disapprove` fault)."
GET_FILTERS = (
    "campaign_ids",
    "adgroup_ids",
    "ad_ids",
    "ad_name",
    "primary_status",
    "secondary_status",
    "objective_type",
    "buying_types",
    "creation_filter_start_time",
    "creation_filter_end_time",
    "modified_after",
)


def _image_of(ctx: Ctx, adv: Advertiser, field: str, image_id: Any) -> SandboxObject:
    obj = ctx.store.get(str(image_id), IMAGE) if isinstance(image_id, str) else None
    if obj is None or obj.account_id != adv.advertiser_id:
        raise ApiError(errors.NOT_EXIST, f"{field}: Image {image_id} does not exist.")
    return obj


def validate_creative(
    ctx: Ctx, adv: Advertiser, adgroup: SandboxObject, raw: Any, index: int, *, update: bool
) -> dict[str, Any]:
    prefix = f"creatives.{index}."
    if not isinstance(raw, dict):
        raise param_error(f"creatives.{index}", "Not a valid mapping type.")
    p = Params(raw, prefix=prefix, strict_ids=ctx.params.strict_ids)
    if ctx.switch("reject_unknown_fields"):
        p.reject_unknown((*CREATIVE_FIELDS, "ad_id") if update else CREATIVE_FIELDS)
    if p.has("call_to_action_id"):
        raise p.error(
            "call_to_action_id", "CTA portfolios are not available for this advertiser; use call_to_action."
        )
    out: dict[str, Any] = {}
    name = p.string("ad_name", max_len=512, no_emoji=True, wide_counts_double=True)
    if not name:
        stamp = format_datetime(ctx.now).replace("-", "").replace(":", "").replace(" ", "")
        name = f"{adgroup.name}_{stamp}_{index}"
    out["ad_name"] = name
    fmt = p.string("ad_format", required=True)
    if fmt in enums.UNSUPPORTED_AD_FORMATS:
        raise p.error("ad_format", f"{fmt} is not available for this ad group.")
    fmt = p.enum("ad_format", enums.AD_FORMATS, required=True)
    out["ad_format"] = fmt

    identity_type = p.enum("identity_type", enums.IDENTITY_TYPES, required=True)
    identity_id = p.string("identity_id", required=True)
    identity = ctx.state.identities.get(identity_id or "")
    if (
        identity is None
        or identity.advertiser_id != adv.advertiser_id
        or identity.identity_type != identity_type
    ):
        raise ApiError(
            errors.NOT_EXIST, f"{prefix}identity_id: Identity {identity_id} ({identity_type}) does not exist."
        )
    bc_id = p.id("identity_authorized_bc_id", required=identity_type == "BC_AUTH_TT")
    out.update(identity_type=identity_type, identity_id=identity_id, identity_authorized_bc_id=bc_id)
    item_id = p.id("tiktok_item_id")
    if item_id is not None and identity_type not in SPARK_IDENTITIES:
        raise p.error(
            "tiktok_item_id", "Spark Ads posts need identity_type AUTH_CODE, TT_USER or BC_AUTH_TT."
        )
    spark = item_id is not None
    out["tiktok_item_id"] = item_id

    text = p.string("ad_text", required=not spark, min_len=1, max_len=100, no_emoji=True)
    out["ad_text"] = text
    out.update(_media(ctx, adv, p, fmt or "", spark, prefix))
    out["call_to_action"] = p.enum("call_to_action", enums.CALL_TO_ACTIONS, required=not spark)

    promotion = adgroup.fields.get("promotion_type")
    url = p.string("landing_page_url", required=promotion in ("WEBSITE", "WEBSITE_OR_DISPLAY"), max_len=999)
    if url is not None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise p.error("landing_page_url", "Not a valid URL.")
    out["landing_page_url"] = url
    display = p.string("display_name", min_len=1, max_len=40)
    out["display_name"] = display or identity.display_name
    pixel_id = p.id("tracking_pixel_id")
    if pixel_id is not None and (ctx.state.pixels.get(pixel_id) is None):
        raise ApiError(errors.NOT_EXIST, f"{prefix}tracking_pixel_id: Pixel {pixel_id} does not exist.")
    out["tracking_pixel_id"] = pixel_id
    for name_ in (
        "deeplink",
        "impression_tracking_url",
        "click_tracking_url",
        "music_id",
        "avatar_icon_web_uri",
    ):
        out[name_] = p.string(name_)
    out["operation_status"] = p.enum("operation_status", enums.OPERATION_STATUS_CREATE, default="ENABLE")
    for name_ in PASS_THROUGH:
        if p.has(name_):
            out[name_] = p.raw(name_)
    return out


def _media(ctx: Ctx, adv: Advertiser, p: Params, fmt: str, spark: bool, prefix: str) -> dict[str, Any]:
    image_ids = p.string_list("image_ids", max_items=35) or []
    video_id = p.string("video_id")
    if fmt == "SINGLE_VIDEO" and not spark:
        if video_id is None:
            raise p.error("video_id", "Required for SINGLE_VIDEO ads.")
        video = ctx.store.get(video_id, VIDEO)
        if video is None or video.account_id != adv.advertiser_id:
            raise ApiError(errors.NOT_EXIST, f"{prefix}video_id: Video {video_id} does not exist.")
        if not video_ready(ctx.sb, video, ctx.now):
            raise ApiError(errors.VIDEO_TRANSCODING, f"{prefix}video_id: The video is still being processed.")
        if len(image_ids) != 1:
            raise p.error("image_ids", "SINGLE_VIDEO ads need exactly one cover image.")
        cover = _image_of(ctx, adv, f"{prefix}image_ids", image_ids[0])
        if ctx.switch("cover_ratio_check") and video.fields["height"] and cover.fields["height"]:
            v_ratio = video.fields["width"] / video.fields["height"]
            c_ratio = cover.fields["width"] / cover.fields["height"]
            if abs(v_ratio - c_ratio) > 0.02 * v_ratio:
                raise p.error("image_ids", "The cover image's aspect ratio must match the video's.")
    elif fmt == "SINGLE_IMAGE":
        if len(image_ids) != 1:
            raise p.error("image_ids", "SINGLE_IMAGE ads need exactly one image.")
        _image_of(ctx, adv, f"{prefix}image_ids", image_ids[0])
    elif fmt == "CAROUSEL_ADS":
        if not 1 <= len(image_ids) <= 35:
            raise p.error("image_ids", "CAROUSEL_ADS need 1 to 35 images.")
        for image_id in image_ids:
            _image_of(ctx, adv, f"{prefix}image_ids", image_id)
    return {"image_ids": image_ids, "video_id": video_id}


def _start_review(ctx: Ctx, ad: SandboxObject) -> None:
    fault = ctx.request.get(DISAPPROVE)
    reasons = list(fault.get("reasons") or [REJECT_REASON]) if fault is not None else []
    done_at = ctx.now + float(ctx.sb.config.review_delay_s)
    review = {
        "started_at": ctx.now,
        "done_at": done_at,
        "outcome": "REJECTED" if fault is not None else "APPROVED",
        "reasons": reasons,
        "notified": False,
    }
    ad.fields.setdefault("_reviews", []).append(review)
    ctx.sb.schedule_review_notification(ad.id, done_at)


def _creatives_param(ctx: Ctx) -> list[Any]:
    creatives = ctx.params.array("creatives", required=True, min_items=1, max_items=20)
    assert creatives is not None
    return creatives


def _live_adgroup(ctx: Ctx, adv: Advertiser) -> tuple[SandboxObject, SandboxObject]:
    adgroup_id = ctx.params.id("adgroup_id", required=True)
    assert adgroup_id is not None
    adgroup = find(ctx.sb, ADGROUP, adv.advertiser_id, adgroup_id)
    if adgroup.deleted:
        raise param_error("adgroup_id", f"Ad group {adgroup_id} has been deleted.")
    campaign = find(ctx.sb, CAMPAIGN, adv.advertiser_id, adgroup.parent_id or "")
    return adgroup, campaign


def _answer(ctx: Ctx, ads: list[SandboxObject]) -> dict[str, Any]:
    return {
        "ad_ids": [a.id for a in ads],
        "need_audit": bool(ctx.switch("need_audit_on_create")),
        "creatives": [view(ctx.sb, a, ctx.now) for a in ads],
    }


async def create(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    if ctx.switch("reject_unknown_fields"):
        p.reject_unknown(("advertiser_id", "adgroup_id", "creatives"))
    adv = ctx.advertiser()
    adgroup, campaign = _live_adgroup(ctx, adv)
    creatives = _creatives_param(ctx)
    validated = [
        validate_creative(ctx, adv, adgroup, raw, i, update=False) for i, raw in enumerate(creatives)
    ]
    live = [a for a in ctx.store.children(adgroup.id, AD) if not a.deleted]
    limit = int(ctx.switch("max_ads_per_adgroup"))
    if len(live) + len(validated) > limit:
        raise ApiError(errors.AD_NUMBER_LIMIT, f"An ad group can have at most {limit} ads.")
    ads = []
    for fields in validated:
        ad_id = ctx.sb.ids.next()
        fields = {
            "advertiser_id": adv.advertiser_id,
            "campaign_id": campaign.id,
            "adgroup_id": adgroup.id,
            "ad_id": ad_id,
            **fields,
            "is_aco": False,
            "is_new_structure": True,
        }
        ad = new_object(AD, ad_id, fields["ad_name"], adgroup.id, adv.advertiser_id, fields, ctx.now)
        ctx.store.put(ad)
        _start_review(ctx, ad)
        ads.append(ad)
    return _answer(ctx, ads)


async def update(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    if ctx.switch("reject_unknown_fields"):
        p.reject_unknown(("advertiser_id", "adgroup_id", "creatives"))
    adv = ctx.advertiser()
    adgroup, _campaign = _live_adgroup(ctx, adv)
    creatives = _creatives_param(ctx)
    targets: list[tuple[SandboxObject, dict[str, Any]]] = []
    for i, raw in enumerate(creatives):
        ad_id = Params(raw if isinstance(raw, dict) else {}, prefix=f"creatives.{i}.").id(
            "ad_id", required=True
        )
        ad = find(ctx.sb, AD, adv.advertiser_id, ad_id or "", field=f"creatives.{i}.ad_id")
        if ad.parent_id != adgroup.id:
            raise param_error(f"creatives.{i}.ad_id", f"Ad {ad_id} does not belong to ad group {adgroup.id}.")
        if ad.deleted:
            raise param_error(f"creatives.{i}.ad_id", f"Ad {ad_id} has been deleted and cannot be modified.")
        targets.append((ad, validate_creative(ctx, adv, adgroup, raw, i, update=True)))
    for ad, fields in targets:
        status = ad.fields["operation_status"]
        ad.fields.update(fields)
        ad.fields["operation_status"] = status  # status changes go through /ad/status/update/
        ad.name = fields["ad_name"]
        touch(ad, ctx.now)
        _start_review(ctx, ad)
    return _answer(ctx, [a for a, _ in targets])


async def get(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    adv = ctx.advertiser()
    known = GET_FILTERS if ctx.switch("ad_name_filter") else tuple(f for f in GET_FILTERS if f != "ad_name")
    flt = filtering(ctx, known)
    campaign_ids = flt.id_list("campaign_ids", max_items=100)
    adgroup_ids = flt.id_list("adgroup_ids", max_items=100)
    ad_ids = flt.id_list("ad_ids", max_items=100)
    name = flt.string("ad_name")
    primary = flt.enum("primary_status", enums.PRIMARY_STATUSES, default="STATUS_NOT_DELETE")
    secondary = flt.string("secondary_status")
    objective = flt.enum("objective_type", enums.OBJECTIVES + enums.DEPRECATED_OBJECTIVES)
    modified_after = flt.time_value("modified_after")
    page, size = page_args(p)
    assert primary is not None
    rows = []
    for obj in ctx.store.all(AD):
        f = obj.fields
        if obj.account_id != adv.advertiser_id or not visible(ctx, obj):
            continue
        if campaign_ids is not None and f.get("campaign_id") not in campaign_ids:
            continue
        if adgroup_ids is not None and obj.parent_id not in adgroup_ids:
            continue
        if ad_ids is not None and obj.id not in ad_ids:
            continue
        if name is not None and not fuzzy(obj.name, name):
            continue
        if modified_after is not None and obj.updated_at < modified_after.timestamp():
            continue
        if objective is not None:
            campaign = ctx.store.get(str(f.get("campaign_id")), CAMPAIGN)
            if campaign is None or campaign.fields.get("objective_type") != objective:
                continue
        if not creation_window(flt, obj):
            continue
        if not primary_status_ok(primary, obj, is_delivering(ctx.sb, obj, ctx.now)):
            continue
        row = view(ctx.sb, obj, ctx.now)
        if secondary is not None and row["secondary_status"] != secondary:
            continue
        rows.append(row)
    rows.sort(key=lambda r: int(r["ad_id"]), reverse=True)
    page_rows, info = paginate(rows, page, size)
    allowed = {
        *CREATIVE_FIELDS,
        "advertiser_id",
        "campaign_id",
        "campaign_name",
        "adgroup_id",
        "adgroup_name",
    }
    allowed |= {"ad_id", "secondary_status", "create_time", "modify_time", "is_aco", "is_new_structure"}
    return {"list": select_fields(page_rows, p, allowed), "page_info": info}


async def review_info(ctx: Ctx) -> dict[str, Any]:
    """Review outcome per ad with reject reasons (shape UNCONFIRMED)."""
    adv = ctx.advertiser()
    ad_ids = ctx.params.id_list("ad_ids", required=True, min_items=1, max_items=100)
    assert ad_ids is not None
    out: dict[str, Any] = {}
    for ad_id in ad_ids:
        ad = find(ctx.sb, AD, adv.advertiser_id, ad_id, field="ad_ids")
        state = review_state(ad, ctx.now)
        review = current_review(ad) or {}
        out[ad_id] = {
            "ad_id": ad_id,
            "review_status": state,
            "is_approved": state == "APPROVED",
            "reject_info": (
                [{"reasons": review.get("reasons", []), "suggestion": "Edit the ad and submit it again."}]
                if state == "REJECTED"
                else []
            ),
        }
    return {"ad_review_map": out}
