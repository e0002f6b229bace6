"""`/campaign/create/`, `/campaign/get/`, `/campaign/update/` (status changes: status.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.tiktok import enums
from sandbox.tiktok.api import Ctx
from sandbox.tiktok.dedupe import (
    check_duplicate_name,
    check_request_id,
    remember_request_id,
    request_id_param,
)
from sandbox.tiktok.errors import PARAM_ERROR, ApiError, param_error
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
from sandbox.tiktok.money import CAMPAIGN_MIN_USD, as_number, check_budget
from sandbox.tiktok.objects import CAMPAIGN, find, is_delivering, new_object, touch, view
from sandbox.tiktok.params import Params
from sandbox.tiktok.state import Advertiser

CREATE_FIELDS = (
    "advertiser_id",
    "campaign_name",
    "objective_type",
    "budget_mode",
    "budget",
    "budget_optimize_on",
    "operation_status",
    "special_industries",
    "campaign_type",
    "app_promotion_type",
    "request_id",
    "virtual_objective_type",
    "is_search_campaign",
    "is_advanced_dedicated_campaign",
    "disable_skan_campaign",
    "campaign_product_source",
    "catalog_enabled",
    "app_id",
    "postback_window_mode",
    "rta_id",
    "rta_bid_enabled",
    "rta_product_selection_enabled",
)
UPDATE_FIELDS = (
    "advertiser_id",
    "campaign_id",
    "campaign_name",
    "budget_mode",
    "budget",
    "special_industries",
    "postback_window_mode",
    "rta_id",
    "rta_bid_enabled",
    "rta_product_selection_enabled",
)
VIEW_FIELDS = (
    "advertiser_id",
    "campaign_id",
    "campaign_name",
    "campaign_type",
    "campaign_system_origin",
    "objective_type",
    "objective",
    "app_promotion_type",
    "virtual_objective_type",
    "budget",
    "budget_mode",
    "budget_optimize_on",
    "operation_status",
    "secondary_status",
    "special_industries",
    "is_new_structure",
    "is_smart_performance_campaign",
    "is_search_campaign",
    "is_advanced_dedicated_campaign",
    "rf_campaign_type",
    "deep_bid_type",
    "roas_bid",
    "create_time",
    "modify_time",
)
GET_FILTERS = (
    "campaign_ids",
    "campaign_name",
    "primary_status",
    "objective_type",
    "secondary_status",
    "creation_filter_start_time",
    "creation_filter_end_time",
    "campaign_type",
    "buying_types",
    "campaign_system_origins",
    "is_smart_performance_campaign",
    "split_test_enabled",
)


def _objective(params: Params) -> str:
    objective = params.string("objective_type", required=True)
    assert objective is not None
    if objective in enums.DEPRECATED_OBJECTIVES:
        raise param_error(
            "objective_type",
            f"{objective} is deprecated and can no longer be used to create campaigns. "
            f"Use one of: {', '.join(enums.OBJECTIVES)}.",
        )
    if objective in enums.RESERVATION_OBJECTIVES:
        raise param_error(
            "objective_type", f"{objective} requires reservation buying, not available to this advertiser."
        )
    if objective not in enums.OBJECTIVES:
        raise param_error("objective_type", f"Must be one of: {', '.join(enums.OBJECTIVES)}.")
    return objective


def validate_budget(ctx: Ctx, adv: Advertiser, params: Params, mode: str, cbo: bool) -> Decimal:
    allowed = enums.CBO_BUDGET_MODES if cbo else enums.NON_CBO_CAMPAIGN_BUDGET_MODES
    if mode not in allowed:
        reason = "with budget optimization (budget_optimize_on)" if cbo else "without budget optimization"
        raise param_error("budget_mode", f"{mode} is not allowed {reason}; use one of: {', '.join(allowed)}.")
    if mode == "BUDGET_MODE_INFINITE":
        return Decimal(0)
    budget = params.number("budget", required=True)
    assert budget is not None
    check_budget(
        "budget",
        budget,
        ctx.state.currency_of(adv),
        CAMPAIGN_MIN_USD,
        inclusive=bool(ctx.switch("budget_minimum_inclusive")),
        what="campaign",
    )
    return budget


async def create(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    if ctx.switch("reject_unknown_fields"):
        p.reject_unknown(CREATE_FIELDS)
    adv = ctx.advertiser()
    name = p.string(
        "campaign_name", required=True, min_len=1, max_len=512, no_emoji=True, wide_counts_double=True
    )
    objective = _objective(p)
    cbo = bool(p.boolean("budget_optimize_on", default=False))
    mode = p.enum("budget_mode", enums.BUDGET_MODES, required=True)
    assert name is not None and mode is not None
    budget = validate_budget(ctx, adv, p, mode, cbo)
    status = p.enum("operation_status", enums.OPERATION_STATUS_CREATE, default="ENABLE")
    industries = p.enum_list("special_industries", enums.SPECIAL_INDUSTRIES) or []
    campaign_type = p.enum("campaign_type", enums.CAMPAIGN_TYPES, default="REGULAR_CAMPAIGN")
    app_promotion_type = None
    if objective == "APP_PROMOTION":
        app_promotion_type = p.enum("app_promotion_type", enums.APP_PROMOTION_TYPES, required=True)
    request_id = request_id_param(ctx)
    check_request_id(ctx, "campaign_create", adv.advertiser_id, request_id)
    check_duplicate_name(ctx, CAMPAIGN, adv.advertiser_id, None, name, request_id)
    live = [o for o in ctx.store.all(CAMPAIGN) if o.account_id == adv.advertiser_id and not o.deleted]
    if len(live) >= int(ctx.switch("max_campaigns_per_advertiser")):
        raise ApiError(
            PARAM_ERROR, "The number of campaigns in this advertiser account has reached the limit."
        )

    campaign_id = ctx.sb.ids.next()
    fields: dict[str, Any] = {
        "advertiser_id": adv.advertiser_id,
        "campaign_id": campaign_id,
        "campaign_name": name,
        "campaign_type": campaign_type,
        "campaign_system_origin": "TT_ADS_PLATFORM",
        "objective_type": objective,
        "objective": enums.LEGACY_OBJECTIVE.get(objective, objective),
        "app_promotion_type": app_promotion_type,
        "virtual_objective_type": p.raw("virtual_objective_type"),
        "budget": as_number(budget),
        "budget_mode": mode,
        "budget_optimize_on": cbo,
        "operation_status": status,
        "special_industries": industries,
        "is_new_structure": True,
        "is_smart_performance_campaign": False,
        "is_search_campaign": bool(p.boolean("is_search_campaign", default=False)),
        "is_advanced_dedicated_campaign": bool(p.boolean("is_advanced_dedicated_campaign", default=False)),
        "rf_campaign_type": "STANDARD",
        "deep_bid_type": None,
        "roas_bid": 0.0,
    }
    obj = new_object(CAMPAIGN, campaign_id, name, None, adv.advertiser_id, fields, ctx.now)
    ctx.store.put(obj)
    remember_request_id(ctx, "campaign_create", adv.advertiser_id, request_id)
    return view(ctx.sb, obj, ctx.now)


async def get(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    adv = ctx.advertiser()
    flt = filtering(ctx, GET_FILTERS)
    ids = flt.id_list("campaign_ids", max_items=100)
    name = flt.string("campaign_name")
    primary = flt.enum("primary_status", enums.PRIMARY_STATUSES, default="STATUS_NOT_DELETE")
    objective = flt.enum("objective_type", enums.OBJECTIVES + enums.DEPRECATED_OBJECTIVES)
    secondary = flt.string("secondary_status")
    page, size = page_args(p)
    assert primary is not None
    rows = []
    for obj in ctx.store.all(CAMPAIGN):
        if obj.account_id != adv.advertiser_id or not visible(ctx, obj):
            continue
        if ids is not None and obj.id not in ids:
            continue
        if name is not None and not fuzzy(obj.name, name):
            continue
        if objective is not None and obj.fields.get("objective_type") != objective:
            continue
        if not creation_window(flt, obj):
            continue
        if not primary_status_ok(primary, obj, is_delivering(ctx.sb, obj, ctx.now)):
            continue
        row = view(ctx.sb, obj, ctx.now)
        if secondary is not None and row["secondary_status"] != secondary:
            continue
        rows.append(row)
    rows.sort(key=lambda r: int(r["campaign_id"]), reverse=True)
    page_rows, info = paginate(rows, page, size)
    return {"list": select_fields(page_rows, p, VIEW_FIELDS), "page_info": info}


async def update(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    if ctx.switch("reject_unknown_fields"):
        p.reject_unknown(UPDATE_FIELDS)
    adv = ctx.advertiser()
    campaign_id = p.id("campaign_id", required=True)
    assert campaign_id is not None
    obj = find(ctx.sb, CAMPAIGN, adv.advertiser_id, campaign_id)
    if obj.deleted:
        raise param_error("campaign_id", f"Campaign {campaign_id} has been deleted and cannot be modified.")
    changes: dict[str, Any] = {}
    if p.has("campaign_name"):
        name = p.string("campaign_name", min_len=1, max_len=512, no_emoji=True, wide_counts_double=True)
        assert name is not None
        check_duplicate_name(ctx, CAMPAIGN, adv.advertiser_id, None, name, None, exclude_id=obj.id)
        changes["campaign_name"] = name
    mode = obj.fields["budget_mode"]
    if p.has("budget_mode") and p.raw("budget_mode") != mode:
        raise param_error("budget_mode", "The budget mode of a campaign cannot be modified.")
    if p.has("budget"):
        if mode == "BUDGET_MODE_INFINITE":
            raise param_error("budget", "A campaign with BUDGET_MODE_INFINITE has no budget to modify.")
        budget = validate_budget(ctx, adv, p, mode, bool(obj.fields.get("budget_optimize_on")))
        _check_not_below_spend(ctx, obj, budget)
        changes["budget"] = as_number(budget)
    if p.has("special_industries"):
        changes["special_industries"] = p.enum_list("special_industries", enums.SPECIAL_INDUSTRIES)
    obj.fields.update(changes)
    if "campaign_name" in changes:
        obj.name = changes["campaign_name"]
    touch(obj, ctx.now)
    return view(ctx.sb, obj, ctx.now)


def _check_not_below_spend(ctx: Ctx, obj: Any, budget: Decimal) -> None:
    """Budget Doc: a new budget must be at least 105 % of what was already spent (today for daily)."""
    spent = spend_for_budget(ctx.sb, obj, ctx.now)
    if spent > 0 and budget < spent * Decimal("1.05"):
        raise param_error(
            "budget", f"The new budget must be at least 105% of the amount already spent ({spent})."
        )
