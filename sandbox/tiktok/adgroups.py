"""`/adgroup/create/`, `/adgroup/get/`, `/adgroup/update/` (status changes: status.py).

Targeting is FLAT on the ad group (`location_ids`, `age_groups`, `gender`, `languages`,
`operating_systems`); there is no `targeting` object (it is refused as an unknown field).
Required per the official SDK model: advertiser_id, campaign_id, adgroup_name, billing_event, budget,
budget_mode, optimization_goal, pacing, schedule_start_time, schedule_type (budget, budget_mode and
pacing are ignored under campaign budget optimization); plus location_ids, and promotion_type unless
the objective is REACH, VIDEO_VIEWS or ENGAGEMENT.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from sandbox.common.store import SandboxObject
from sandbox.tiktok import enums
from sandbox.tiktok.api import Ctx
from sandbox.tiktok.dedupe import (
    check_duplicate_name,
    check_request_id,
    remember_request_id,
    request_id_param,
)
from sandbox.tiktok.errors import AGE_RESTRICTED, NOT_EXIST, ApiError, param_error
from sandbox.tiktok.geo import MINOR_RESTRICTED_COUNTRIES
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
from sandbox.tiktok.metrics import spend_for_budget
from sandbox.tiktok.money import (
    ADGROUP_DAILY_MIN_USD,
    as_number,
    check_budget,
    check_precision,
    require_positive,
)
from sandbox.tiktok.objects import ADGROUP, CAMPAIGN, find, is_delivering, new_object, touch, view
from sandbox.tiktok.params import MISSING_MSG, Params, format_datetime
from sandbox.tiktok.state import Advertiser

TARGETING_FIELDS = (
    "location_ids",
    "zipcode_ids",
    "age_groups",
    "gender",
    "languages",
    "operating_systems",
    "interest_category_ids",
    "interest_keyword_ids",
    "audience_ids",
    "excluded_audience_ids",
    "device_price_ranges",
    "network_types",
    "spending_power",
    "household_income",
)
SETTINGS_FIELDS = (
    "placement_type",
    "placements",
    "promotion_type",
    "app_id",
    "optimization_goal",
    "optimization_event",
    "pixel_id",
    "billing_event",
    "bid_type",
    "bid_price",
    "conversion_bid_price",
    "deep_bid_type",
    "budget",
    "budget_mode",
    "pacing",
    "schedule_type",
    "schedule_start_time",
    "schedule_end_time",
    "dayparting",
    "frequency",
    "frequency_schedule",
    "comment_disabled",
    "video_download_disabled",
    "share_disabled",
    "brand_safety_type",
)
# Real fields the sandbox accepts and echoes without modelling them.
PASS_THROUGH = (
    "click_attribution_window",
    "view_attribution_window",
    "engaged_view_attribution_window",
    "attribution_event_count",
    "skip_learning_phase",
    "video_user_actions",
    "category_exclusion_ids",
    "contextual_tag_ids",
    "inventory_filter_enabled",
    "isp_ids",
    "device_model_ids",
    "min_android_version",
    "min_ios_version",
    "ios14_targeting",
    "is_hfss",
    "search_result_enabled",
    "secondary_optimization_event",
    "deep_cpa_bid",
    "roas_bid",
    "vbo_window",
    "bid_display_mode",
    "purchased_impression",
    "purchased_reach",
    "actions",
    "included_custom_actions",
    "excluded_custom_actions",
    "smart_audience_enabled",
    "smart_interest_behavior_enabled",
    "carrier_ids",
    "targeting_expansion",
)
CREATE_FIELDS = (
    "advertiser_id",
    "campaign_id",
    "adgroup_name",
    "request_id",
    "operation_status",
    *SETTINGS_FIELDS,
    *TARGETING_FIELDS,
    *PASS_THROUGH,
)
UPDATE_FIELDS = (
    "advertiser_id",
    "adgroup_id",
    "campaign_id",
    "adgroup_name",
    *SETTINGS_FIELDS,
    *TARGETING_FIELDS,
    *PASS_THROUGH,
)
IMMUTABLE = (
    "campaign_id",
    "budget_mode",
    "optimization_goal",
    "optimization_event",
    "billing_event",
    "promotion_type",
    "pixel_id",
    "app_id",
    "placement_type",
)
SDK_REQUIRED = (
    "billing_event",
    "budget",
    "budget_mode",
    "optimization_goal",
    "pacing",
    "schedule_start_time",
    "schedule_type",
)
CBO_IGNORED = ("budget", "budget_mode", "pacing")
GET_FILTERS = (
    "campaign_ids",
    "adgroup_ids",
    "adgroup_name",
    "primary_status",
    "secondary_status",
    "objective_type",
    "billing_events",
    "optimization_goal",
    "promotion_type",
    "creation_filter_start_time",
    "creation_filter_end_time",
)
DEFAULT_DAYPARTING = "1" * 336


def _require_all(p: Params, names: tuple[str, ...]) -> None:
    for name in names:
        if not p.has(name):
            raise p.error(name, MISSING_MSG)


def validate(ctx: Ctx, adv: Advertiser, campaign: SandboxObject, p: Params) -> dict[str, Any]:
    """Normalized ad group settings from a create body or an update merged onto the current values."""
    objective = str(campaign.fields["objective_type"])
    cbo = bool(campaign.fields.get("budget_optimize_on"))
    name = p.string(
        "adgroup_name", required=True, min_len=1, max_len=512, no_emoji=True, wide_counts_double=True
    )
    _require_all(p, tuple(f for f in SDK_REQUIRED if not (cbo and f in CBO_IGNORED)))
    _require_all(p, ("location_ids",))
    out: dict[str, Any] = {"adgroup_name": name}

    # Placement and promotion.
    placement_type = p.enum("placement_type", enums.PLACEMENT_TYPES, default="PLACEMENT_TYPE_NORMAL")
    placements = p.enum_list("placements", enums.PLACEMENTS, min_items=1, max_items=3)
    if placement_type == "PLACEMENT_TYPE_NORMAL" and not placements:
        raise param_error("placements", "Required when placement_type is PLACEMENT_TYPE_NORMAL.")
    out["placement_type"] = placement_type
    out["placements"] = placements if placement_type == "PLACEMENT_TYPE_NORMAL" else list(enums.PLACEMENTS)
    promotion = p.enum(
        "promotion_type", enums.PROMOTION_TYPES, required=objective not in enums.PROMOTION_TYPE_OPTIONAL
    )
    if objective == "APP_PROMOTION" and promotion not in enums.APP_PROMOTION_TYPES_AG:
        raise param_error("promotion_type", "Must be APP_ANDROID or APP_IOS for the APP_PROMOTION objective.")
    out["promotion_type"] = promotion
    app_id = p.id("app_id", required=promotion in enums.APP_PROMOTION_TYPES_AG)
    out["app_id"] = app_id

    # Optimization, billing and bidding.
    goal = p.enum("optimization_goal", enums.OPTIMIZATION_GOALS, required=True)
    assert goal is not None
    if goal in enums.DEPRECATED_GOALS:
        raise param_error("optimization_goal", f"{goal} is deprecated; use {enums.DEPRECATED_GOALS[goal]}.")
    allowed_goals = enums.GOALS_BY_OBJECTIVE.get(objective, ())
    if ctx.switch("optimization_goal_check") and goal not in allowed_goals:
        raise param_error(
            "optimization_goal",
            f"{goal} is not available for objective {objective}; use one of: {', '.join(allowed_goals)}.",
        )
    billing = p.string("billing_event", required=True)
    if billing in enums.DEPRECATED_BILLING_EVENTS:
        raise param_error("billing_event", f"{billing} is no longer supported.")
    billing = p.enum("billing_event", enums.BILLING_EVENTS, required=True)
    expected_billing = enums.BILLING_BY_GOAL.get(goal)
    if goal == "CONVERT" and billing != "OCPM":
        raise param_error("billing_event", "Must be OCPM when optimization_goal is CONVERT.")
    if ctx.switch("billing_event_check") and expected_billing and billing != expected_billing:
        raise param_error("billing_event", f"Must be {expected_billing} when optimization_goal is {goal}.")
    out.update(optimization_goal=goal, billing_event=billing)
    pixel_id = p.id("pixel_id", required=goal == "CONVERT")
    event = p.enum("optimization_event", enums.OPTIMIZATION_EVENTS, required=goal == "CONVERT")
    if pixel_id is not None:
        pixel = ctx.state.pixels.get(pixel_id)
        if pixel is None or pixel.advertiser_id != adv.advertiser_id:
            raise ApiError(NOT_EXIST, f"pixel_id: Pixel {pixel_id} does not exist.")
    out.update(pixel_id=pixel_id, optimization_event=event)

    currency = ctx.state.currency_of(adv)
    bid_type = p.enum("bid_type", enums.BID_TYPES, default="BID_TYPE_NO_BID")
    out.update(bid_type=bid_type, bid_price=0.0, conversion_bid_price=0.0)
    if bid_type == "BID_TYPE_CUSTOM":
        field = "conversion_bid_price" if billing == "OCPM" else "bid_price"
        price = p.number(field)
        if price is None:
            raise param_error(
                field, f"Required when bid_type is BID_TYPE_CUSTOM and billing_event is {billing}."
            )
        require_positive(field, price, currency)
        out[field] = as_number(price)

    # Schedule (UTC "YYYY-MM-DD HH:MM:SS").
    schedule_type = p.enum("schedule_type", enums.SCHEDULE_TYPES, required=True)
    start = p.time_value("schedule_start_time", required=True)
    assert start is not None
    end = p.time_value("schedule_end_time", required=schedule_type == "SCHEDULE_START_END")
    if schedule_type == "SCHEDULE_FROM_NOW":
        end = None
    if end is not None:
        if end <= start:
            raise param_error("schedule_end_time", "Must be later than schedule_start_time.")
        if end.timestamp() <= ctx.now:
            raise param_error("schedule_end_time", "Must be later than the current time.")
    out.update(
        schedule_type=schedule_type,
        schedule_start_time=format_datetime(start.timestamp()),
        schedule_end_time=format_datetime(end.timestamp()) if end else None,
        _schedule_start=start.timestamp(),
        _schedule_end=end.timestamp() if end else None,
    )

    # Budget and pacing (ignored under campaign budget optimization).
    if cbo:
        out.update(budget=0.0, budget_mode="BUDGET_MODE_INFINITE", pacing="PACING_MODE_SMOOTH")
    else:
        out.update(_budget(ctx, p, campaign, currency, schedule_type, start.timestamp(), end))
    pacing = p.enum("pacing", enums.PACING, required=not cbo)
    if pacing == "PACING_MODE_FAST" and bid_type != "BID_TYPE_CUSTOM":
        raise param_error("pacing", "PACING_MODE_FAST is only available with bid_type BID_TYPE_CUSTOM.")
    if not cbo:
        out["pacing"] = pacing

    out.update(_targeting(ctx, p, objective))
    dayparting = p.string("dayparting", min_len=336, max_len=336)
    if dayparting is not None and set(dayparting) - {"0", "1"}:
        raise param_error("dayparting", "Must be 336 characters of 0 and 1.")
    out["dayparting"] = dayparting or DEFAULT_DAYPARTING
    for flag in ("comment_disabled", "video_download_disabled", "share_disabled"):
        out[flag] = bool(p.boolean(flag, default=False))
    for name_ in PASS_THROUGH:
        if p.has(name_):
            out[name_] = p.raw(name_)
    return out


def _budget(
    ctx: Ctx,
    p: Params,
    campaign: SandboxObject,
    currency: Any,
    schedule_type: str | None,
    start: float,
    end: Any,
) -> dict[str, Any]:
    mode = p.enum("budget_mode", enums.BUDGET_MODES, required=True)
    if mode == "BUDGET_MODE_INFINITE":
        raise param_error("budget_mode", "BUDGET_MODE_INFINITE is not available for ad groups.")
    if campaign.fields.get("budget_mode") == "BUDGET_MODE_DAY" and mode not in enums.DAILY_MODES:
        raise param_error(
            "budget_mode", "Must be a daily budget mode when the campaign uses BUDGET_MODE_DAY."
        )
    if schedule_type == "SCHEDULE_FROM_NOW" and mode not in enums.DAILY_MODES:
        raise param_error("budget_mode", "BUDGET_MODE_TOTAL requires schedule_type SCHEDULE_START_END.")
    budget = p.number("budget", required=True)
    assert budget is not None
    inclusive = bool(ctx.switch("budget_minimum_inclusive"))
    if mode == "BUDGET_MODE_TOTAL":
        days = max(1, math.ceil((end.timestamp() - start) / 86400)) if end is not None else 1
        check_precision("budget", budget, currency)
        check_budget(
            "budget",
            budget,
            currency,
            ADGROUP_DAILY_MIN_USD * days,
            inclusive=inclusive,
            what="ad group lifetime",
        )
    else:
        check_budget(
            "budget", budget, currency, ADGROUP_DAILY_MIN_USD, inclusive=inclusive, what="ad group daily"
        )
    return {"budget": as_number(budget), "budget_mode": mode}


def _targeting(ctx: Ctx, p: Params, objective: str) -> dict[str, Any]:
    location_ids = p.id_list("location_ids", required=True, min_items=1, max_items=3000)
    assert location_ids is not None
    countries = set()
    for loc_id in location_ids:
        loc = ctx.state.locations.get(loc_id)
        if loc is None:
            raise param_error("location_ids", f"Invalid location id {loc_id}.")
        countries.add(loc.country_code)
    if len(set(location_ids)) != len(location_ids):
        raise param_error("location_ids", "Duplicate location ids.")
    age_groups = p.enum_list("age_groups", enums.AGE_GROUPS)
    if age_groups and "AGE_13_17" in age_groups and countries & MINOR_RESTRICTED_COUNTRIES:
        restricted = ", ".join(sorted(countries & MINOR_RESTRICTED_COUNTRIES))
        raise ApiError(AGE_RESTRICTED, f"age_groups: AGE_13_17 cannot be targeted in {restricted}.")
    gender = p.enum("gender", enums.GENDERS, default="GENDER_UNLIMITED")
    languages = p.string_list("languages", max_items=200) or []
    systems = p.enum_list("operating_systems", enums.OPERATING_SYSTEMS, max_items=1) or []
    if objective == "APP_PROMOTION" and not systems:
        raise param_error("operating_systems", "Required for the APP_PROMOTION objective.")
    out: dict[str, Any] = {
        "location_ids": location_ids,
        "age_groups": age_groups,
        "gender": gender,
        "languages": languages,
        "operating_systems": systems,
    }
    for name in (
        "interest_category_ids",
        "interest_keyword_ids",
        "audience_ids",
        "excluded_audience_ids",
        "zipcode_ids",
    ):
        out[name] = p.id_list(name, max_items=1000) or []
    return out


async def create(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    if ctx.switch("reject_unknown_fields"):
        p.reject_unknown(CREATE_FIELDS)
    adv = ctx.advertiser()
    campaign_id = p.id("campaign_id", required=True)
    assert campaign_id is not None
    campaign = find(ctx.sb, CAMPAIGN, adv.advertiser_id, campaign_id)
    if campaign.deleted:
        raise param_error("campaign_id", f"Campaign {campaign_id} has been deleted.")
    settings = validate(ctx, adv, campaign, p)
    status = p.enum("operation_status", enums.OPERATION_STATUS_CREATE, default="ENABLE")
    request_id = request_id_param(ctx)
    check_request_id(ctx, "adgroup_create", adv.advertiser_id, request_id)
    name = str(settings["adgroup_name"])
    check_duplicate_name(ctx, ADGROUP, adv.advertiser_id, campaign_id, name, request_id)
    adgroup_id = ctx.sb.ids.next()
    fields: dict[str, Any] = {
        "advertiser_id": adv.advertiser_id,
        "campaign_id": campaign_id,
        "adgroup_id": adgroup_id,
        **settings,
        "operation_status": status,
        "is_new_structure": True,
        "statistic_type": None,
    }
    obj = new_object(ADGROUP, adgroup_id, name, campaign_id, adv.advertiser_id, fields, ctx.now)
    ctx.store.put(obj)
    remember_request_id(ctx, "adgroup_create", adv.advertiser_id, request_id)
    return view(ctx.sb, obj, ctx.now)


async def get(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    adv = ctx.advertiser()
    flt = filtering(ctx, GET_FILTERS)
    campaign_ids = flt.id_list("campaign_ids", max_items=100)
    adgroup_ids = flt.id_list("adgroup_ids", max_items=100)
    name = flt.string("adgroup_name")
    primary = flt.enum("primary_status", enums.PRIMARY_STATUSES, default="STATUS_NOT_DELETE")
    secondary = flt.string("secondary_status")
    objective = flt.enum("objective_type", enums.OBJECTIVES + enums.DEPRECATED_OBJECTIVES)
    billing_events = flt.enum_list("billing_events", enums.BILLING_EVENTS)
    goal = flt.enum("optimization_goal", enums.OPTIMIZATION_GOALS)
    promotion = flt.enum("promotion_type", enums.PROMOTION_TYPES)
    page, size = page_args(p)
    assert primary is not None
    rows = []
    for obj in ctx.store.all(ADGROUP):
        f = obj.fields
        if obj.account_id != adv.advertiser_id or not visible(ctx, obj):
            continue
        if campaign_ids is not None and obj.parent_id not in campaign_ids:
            continue
        if adgroup_ids is not None and obj.id not in adgroup_ids:
            continue
        if name is not None and not fuzzy(obj.name, name):
            continue
        if billing_events is not None and f.get("billing_event") not in billing_events:
            continue
        if goal is not None and f.get("optimization_goal") != goal:
            continue
        if promotion is not None and f.get("promotion_type") != promotion:
            continue
        if objective is not None:
            campaign = ctx.store.get(obj.parent_id or "", CAMPAIGN)
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
    rows.sort(key=lambda r: int(r["adgroup_id"]), reverse=True)
    page_rows, info = paginate(rows, page, size)
    allowed = set(CREATE_FIELDS) | {
        "adgroup_id",
        "campaign_name",
        "secondary_status",
        "create_time",
        "modify_time",
    }
    allowed |= {"is_new_structure", "statistic_type", "dayparting"}
    return {"list": select_fields(page_rows, p, allowed), "page_info": info}


async def update(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    if ctx.switch("reject_unknown_fields"):
        p.reject_unknown(UPDATE_FIELDS)
    adv = ctx.advertiser()
    adgroup_id = p.id("adgroup_id", required=True)
    assert adgroup_id is not None
    obj = find(ctx.sb, ADGROUP, adv.advertiser_id, adgroup_id)
    if obj.deleted:
        raise param_error("adgroup_id", f"Ad group {adgroup_id} has been deleted and cannot be modified.")
    current = obj.fields
    for name in IMMUTABLE:
        if p.has(name) and p.raw(name) != current.get(name):
            raise param_error(name, "Cannot be modified after the ad group is created.")
    campaign = find(ctx.sb, CAMPAIGN, adv.advertiser_id, str(current["campaign_id"]))
    merged = {
        k: current[k]
        for k in (*SETTINGS_FIELDS, *TARGETING_FIELDS, *PASS_THROUGH, "adgroup_name")
        if current.get(k) is not None
    }
    if campaign.fields.get("budget_optimize_on"):
        for name in CBO_IGNORED:
            merged.pop(name, None)
    merged.update({k: v for k, v in p.data.items() if k not in ("advertiser_id", "adgroup_id")})
    settings = validate(ctx, adv, campaign, Params(merged, strict_ids=p.strict_ids))
    new_name = str(settings["adgroup_name"])
    if new_name != obj.name:
        check_duplicate_name(
            ctx, ADGROUP, adv.advertiser_id, obj.parent_id, new_name, None, exclude_id=obj.id
        )
    if p.has("budget") and Decimal(str(settings["budget"])) != Decimal(str(current.get("budget"))):
        spent = spend_for_budget(ctx.sb, obj, ctx.now)
        if spent > 0 and Decimal(str(settings["budget"])) < spent * Decimal("1.05"):
            raise param_error(
                "budget", f"The new budget must be at least 105% of the amount already spent ({spent})."
            )
    current.update(settings)
    obj.name = new_name
    touch(obj, ctx.now)
    return view(ctx.sb, obj, ctx.now)
