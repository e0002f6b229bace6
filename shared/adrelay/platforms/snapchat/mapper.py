"""adrelay's campaign → Snapchat Marketing API v1 payloads. Pure: no I/O, no clock.

Every choice cites platform-apis §3 ([C] official docs, [O] recorded traffic, [S] one secondary
source, UNCONFIRMED inference). Combinations Snapchat cannot express raise `Unmappable` with the
dotted path of our field, so `rules.py` reports them before any write.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adrelay.model import (
    Ad,
    AdSet,
    BidStrategy,
    CallToAction,
    Campaign,
    ConversionEvent,
    MediaAsset,
    MediaKind,
    Money,
    Objective,
    OptimizationGoal,
    Platform,
    SnapchatTarget,
    Targeting,
)
from adrelay.model.campaign import Budget
from adrelay.platforms.base import tagged_name
from adrelay.platforms.common import tracked_url, utm_parameters

MICROS_PER_UNIT = 1_000_000  # every Snap money field, whatever the currency [C]
NAME_MAX = 375  # campaign name limit [C]; used for every tagged name
HEADLINE_MAX = 34  # [C]
BRAND_NAME_MAX = 32  # [C]
OLDEST_AGE = 50  # Snap's oldest age bucket is "50+" [C targeting]; max_age above it cannot be expressed

AWARENESS_AND_ENGAGEMENT = "AWARENESS_AND_ENGAGEMENT"
OBJECTIVE_V2: dict[Objective, str] = {
    Objective.AWARENESS: AWARENESS_AND_ENGAGEMENT,  # [O] recorded echo
    Objective.ENGAGEMENT: AWARENESS_AND_ENGAGEMENT,  # [O]
    Objective.VIDEO_VIEWS: AWARENESS_AND_ENGAGEMENT,  # [O]
    Objective.TRAFFIC: "TRAFFIC",  # [O]/[S]
    Objective.SALES: "SALES",  # [O]/[S]
    Objective.LEADS: "LEADS",  # UNCONFIRMED [S]
    Objective.APP_PROMOTION: "APP_PROMOTION",  # UNCONFIRMED [S]; refused below (no app in our model)
}
UNSUPPORTED_OBJECTIVES: dict[Objective, str] = {
    Objective.APP_PROMOTION: (
        "Snapchat app promotion needs app ids (measurement_spec) and APP_INSTALL creatives, "
        "which adrelay campaigns do not carry"
    ),
}

PIXEL_GOAL_FOR_EVENT: dict[ConversionEvent, str] = {
    ConversionEvent.PURCHASE: "PIXEL_PURCHASE",
    ConversionEvent.ADD_TO_CART: "PIXEL_ADD_TO_CART",
    ConversionEvent.COMPLETE_REGISTRATION: "PIXEL_SIGNUP",
    ConversionEvent.LEAD: "PIXEL_SIGNUP",  # UNCONFIRMED: Snap lists no separate lead pixel goal
}  # INITIATE_CHECKOUT: no documented PIXEL_* goal → unmappable
PIXEL_GOALS = frozenset({"PIXEL_PAGE_VIEW", "PIXEL_ADD_TO_CART", "PIXEL_PURCHASE", "PIXEL_SIGNUP"})

# objective_v2_type → goals it takes. Snap validates eligibility at creation since 2025-09-23 [C];
# only AWARENESS_AND_ENGAGEMENT + IMPRESSIONS is observed [O]; the rest is UNCONFIRMED.
ELIGIBLE_GOALS: dict[str, frozenset[str]] = {
    AWARENESS_AND_ENGAGEMENT: frozenset({"IMPRESSIONS", "VIDEO_VIEWS"}),
    "TRAFFIC": frozenset({"SWIPES", "LANDING_PAGE_VIEW"}),
    "SALES": frozenset({"PIXEL_PURCHASE", "PIXEL_ADD_TO_CART", "PIXEL_SIGNUP", "LANDING_PAGE_VIEW"}),
    "LEADS": frozenset({"PIXEL_SIGNUP", "SWIPES"}),
}

BID_STRATEGY: dict[BidStrategy, str] = {
    BidStrategy.LOWEST_COST: "AUTO_BID",  # no bid_micro [S]
    BidStrategy.BID_CAP: "LOWEST_COST_WITH_MAX_BID",  # [O]
    BidStrategy.COST_CAP: "TARGET_COST",  # [S]
}

# WEB_VIEW call-to-action values. Snap's per-type list is UNCONFIRMED (VIEW_MORE reported refused);
# these are the values the sandbox models; the non-literal ones are marked.
CALL_TO_ACTION: dict[CallToAction, str] = {
    CallToAction.LEARN_MORE: "MORE",  # UNCONFIRMED nearest
    CallToAction.SHOP_NOW: "SHOP_NOW",
    CallToAction.SIGN_UP: "SIGN_UP",
    CallToAction.DOWNLOAD: "GET_NOW",  # UNCONFIRMED nearest (INSTALL_NOW is for app installs)
    CallToAction.CONTACT_US: "MORE",  # UNCONFIRMED nearest
    CallToAction.APPLY_NOW: "APPLY_NOW",
    CallToAction.BOOK_NOW: "BOOK_NOW",
    CallToAction.ORDER_NOW: "ORDER_NOW",
    CallToAction.WATCH_MORE: "WATCH",  # UNCONFIRMED nearest
    CallToAction.SUBSCRIBE: "SIGN_UP",  # UNCONFIRMED nearest
    CallToAction.GET_OFFER: "GET_NOW",  # UNCONFIRMED nearest
}

CREATIVE_TYPE = "WEB_VIEW"  # every adrelay creative has a landing URL
AD_TYPE = "REMOTE_WEBPAGE"  # the ad type of WEB_VIEW creatives [C ads type mapping]


class Unmappable(ValueError):
    """Snapchat cannot express this part of the campaign."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# ---- units --------------------------------------------------------------------------------------
def micros(amount: Money) -> int:
    """Money → Snap micro-currency, exactly (`Money.major` is a Decimal; never a float)."""
    value: Decimal = amount.major * MICROS_PER_UNIT
    if value != value.to_integral_value():
        raise ValueError(f"{amount} is finer than one micro")
    return int(value)


def snap_time(moment: datetime) -> str:
    """Zone-qualified ISO-8601 in UTC with milliseconds, as Snap echoes it: 2026-01-01T00:00:00.000Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# ---- objective and delivery -----------------------------------------------------------------------
def objective_v2(campaign: Campaign) -> str:
    reason = UNSUPPORTED_OBJECTIVES.get(campaign.objective)
    if reason:
        raise Unmappable("objective", reason)
    return OBJECTIVE_V2[campaign.objective]


def optimization_goal(campaign: Campaign, index: int, ad_set: AdSet) -> str:
    """The ad squad's optimization_goal for our objective, goal and conversion event."""
    objective = objective_v2(campaign)
    path = f"ad_sets[{index}].optimization_goal"
    goal = _goal(campaign.objective, ad_set, path)
    if goal not in ELIGIBLE_GOALS.get(objective, frozenset()):
        raise Unmappable(path, f"Snapchat does not optimize {objective} campaigns for {goal}")
    return goal


def _goal(objective: Objective, ad_set: AdSet, path: str) -> str:
    goal = ad_set.optimization_goal
    if goal is None:
        return _default_goal(objective, ad_set, path)
    if goal in (OptimizationGoal.REACH, OptimizationGoal.IMPRESSIONS):
        return "IMPRESSIONS"  # Snap has no reach goal: impressions is the nearest [C goal list]
    if goal is OptimizationGoal.VIDEO_VIEWS:
        return "VIDEO_VIEWS"
    if goal is OptimizationGoal.LINK_CLICKS:
        return "SWIPES"  # a swipe up opens the attachment
    if goal is OptimizationGoal.LANDING_PAGE_VIEWS:
        return "LANDING_PAGE_VIEW"
    if goal in (OptimizationGoal.CONVERSIONS, OptimizationGoal.LEADS):
        default = (
            ConversionEvent.PURCHASE
            if objective is Objective.SALES
            else ConversionEvent.COMPLETE_REGISTRATION
        )
        return _pixel_goal(ad_set.conversion_event or default, path)
    raise Unmappable(path, f"Snapchat cannot optimize web ads for {goal.value}")


def _default_goal(objective: Objective, ad_set: AdSet, path: str) -> str:
    if objective is Objective.TRAFFIC:
        return "SWIPES"
    if objective is Objective.VIDEO_VIEWS:
        return "VIDEO_VIEWS"
    if objective is Objective.SALES:
        return _pixel_goal(ad_set.conversion_event or ConversionEvent.PURCHASE, path)
    if objective is Objective.LEADS:
        return _pixel_goal(ad_set.conversion_event or ConversionEvent.COMPLETE_REGISTRATION, path)
    return "IMPRESSIONS"  # awareness, engagement


def _pixel_goal(event: ConversionEvent, path: str) -> str:
    goal = PIXEL_GOAL_FOR_EVENT.get(event)
    if goal is None:
        raise Unmappable(path, f"Snapchat has no pixel optimization goal for {event.value}")
    return goal


def needs_pixel(goal: str) -> bool:
    return goal in PIXEL_GOALS


# ---- targeting ----------------------------------------------------------------------------------
def targeting(spec: Targeting, path: str) -> dict[str, Any]:
    """`geos` with lowercase ISO codes [C]/[O]; one demographics entry with ages (ints, as the docs'
    examples), the gender when only one is wanted, and the languages."""
    if spec.age_min > OLDEST_AGE:
        raise Unmappable(f"{path}.age_min", f"Snapchat targets ages up to {OLDEST_AGE}+ only")
    demographics: dict[str, Any] = {"min_age": spec.age_min}
    if spec.age_max < OLDEST_AGE:
        demographics["max_age"] = spec.age_max
    genders = set(spec.genders)
    if len(genders) == 1:
        demographics["gender"] = genders.pop().upper()
    if spec.languages:
        demographics["languages"] = list(spec.languages)
    return {
        "geos": [{"country_code": code.lower()} for code in spec.countries],
        "demographics": [demographics],
    }


# ---- payloads -----------------------------------------------------------------------------------
def campaign_payload(campaign: Campaign, target: SnapchatTarget, tag: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": tagged_name(campaign.name, tag, NAME_MAX),
        "ad_account_id": target.ad_account_id,
        "status": "PAUSED",
        "start_time": snap_time(campaign.schedule.start_time),
    }
    if campaign.schedule.end_time is not None:
        payload["end_time"] = snap_time(campaign.schedule.end_time)
    payload["objective_v2_properties"] = {"objective_v2_type": objective_v2(campaign)}
    if campaign.budget_level == "campaign" and campaign.budget is not None:
        key = "daily_budget_micro" if campaign.budget.period == "daily" else "lifetime_spend_cap_micro"
        payload[key] = micros(campaign.budget.amount)
    return payload


def ad_squad_budget(campaign: Campaign, ad_set: AdSet) -> Budget:
    """The ad squad's own budget. Snap requires one on every ad squad [C]; with a campaign budget each
    squad may spend up to the whole of it and the campaign's spend cap bounds the total."""
    budget = ad_set.budget if campaign.budget_level == "ad_set" else campaign.budget
    assert budget is not None  # guaranteed by Campaign._consistent
    return budget


def ad_squad_payload(
    campaign: Campaign, index: int, target: SnapchatTarget, campaign_id: str, tag: str
) -> dict[str, Any]:
    ad_set = campaign.ad_sets[index]
    schedule = campaign.schedule_for(ad_set)
    goal = optimization_goal(campaign, index, ad_set)
    payload: dict[str, Any] = {
        "campaign_id": campaign_id,
        "name": tagged_name(ad_set.name, tag, NAME_MAX),
        "type": "SNAP_ADS",
        "status": "PAUSED",
        "targeting": targeting(ad_set.targeting, f"ad_sets[{index}].targeting"),
        "placement_v2": {"config": "AUTOMATIC"},
        "billing_event": "IMPRESSION",
        "optimization_goal": goal,
        "bid_strategy": BID_STRATEGY[ad_set.bid_strategy],
    }
    if ad_set.bid_amount is not None:
        payload["bid_micro"] = micros(ad_set.bid_amount)
    budget = ad_squad_budget(campaign, ad_set)
    key = "daily_budget_micro" if budget.period == "daily" else "lifetime_budget_micro"
    payload[key] = micros(budget.amount)
    payload["start_time"] = snap_time(schedule.start_time)
    if schedule.end_time is not None:
        payload["end_time"] = snap_time(schedule.end_time)
    if needs_pixel(goal):
        if target.pixel_id is None:
            raise Unmappable("targets.snapchat.pixel_id", f"optimization goal {goal} needs a Snap Pixel")
        payload["pixel_id"] = target.pixel_id
    return payload


def media_payload(asset: MediaAsset, target: SnapchatTarget, tag: str) -> dict[str, Any]:
    return {
        "name": tagged_name(asset.file_name or asset.id, tag, NAME_MAX),
        "type": "IMAGE" if asset.kind is MediaKind.IMAGE else "VIDEO",
        "ad_account_id": target.ad_account_id,
    }


def brand_name(ad: Ad, target: SnapchatTarget) -> str | None:
    return ad.creative.display_name or target.brand_name


def landing_url(campaign: Campaign, ad: Ad) -> str:
    """The landing URL with adrelay's UTM parameters. Snapchat appends its own click id (`ScCid`) to
    web-view URLs [S], so no click-id macro is added."""
    return tracked_url(str(ad.creative.landing_url), utm_parameters(Platform.SNAPCHAT, campaign, ad.id))


def creative_payload(
    campaign: Campaign, ad: Ad, target: SnapchatTarget, media_id: str, tag: str
) -> dict[str, Any]:
    creative = ad.creative
    payload: dict[str, Any] = {
        "ad_account_id": target.ad_account_id,
        "name": tagged_name(creative.name, tag, NAME_MAX),
        "type": CREATIVE_TYPE,
        "headline": creative.headline,
    }
    if target.profile_id is not None:
        payload["profile_properties"] = {"profile_id": target.profile_id}  # [O] recorded
    else:
        payload["brand_name"] = brand_name(ad, target)
    payload["top_snap_media_id"] = media_id
    payload["call_to_action"] = CALL_TO_ACTION[creative.call_to_action]
    payload["web_view_properties"] = {"url": landing_url(campaign, ad)}
    payload["shareable"] = True
    return payload


def ad_payload(ad: Ad, ad_squad_id: str, creative_id: str, tag: str) -> dict[str, Any]:
    return {
        "ad_squad_id": ad_squad_id,
        "creative_id": creative_id,
        "name": tagged_name(ad.name, tag, NAME_MAX),
        "type": AD_TYPE,
        "status": "PAUSED",
    }


# ---- Snap attribute → our field, for errors ------------------------------------------------------
CAMPAIGN_FIELDS: Mapping[str, str] = {
    "name": "name",
    "start_time": "schedule.start_time",
    "end_time": "schedule.end_time",
    "daily_budget_micro": "budget.amount",
    "lifetime_spend_cap_micro": "budget.amount",
    "objective_v2_properties": "objective",
    "objective": "objective",
}
AD_SQUAD_FIELDS: Mapping[str, str] = {
    "name": "name",
    "targeting": "targeting",
    "geos": "targeting.countries",
    "country_code": "targeting.countries",
    "languages": "targeting.languages",
    "min_age": "targeting.age_min",
    "max_age": "targeting.age_max",
    "gender": "targeting.genders",
    "demographics": "targeting",
    "daily_budget_micro": "budget.amount",
    "lifetime_budget_micro": "budget.amount",
    "bid_micro": "bid_amount",
    "bid_strategy": "bid_strategy",
    "optimization_goal": "optimization_goal",
    "start_time": "schedule.start_time",
    "end_time": "schedule.end_time",
}
CREATIVE_FIELDS: Mapping[str, str] = {
    "name": "creative.name",
    "headline": "creative.headline",
    "brand_name": "creative.display_name",
    "call_to_action": "creative.call_to_action",
    "web_view_properties": "creative.landing_url",
    "top_snap_media_id": "creative.media_id",
}


def our_fields(snap_fields: list[str], kind: str, campaign: Campaign, ref: str | None) -> list[str]:
    """Translate blamed Snap attributes into dotted paths of our campaign where we know them."""
    prefix, table = _owner(kind, campaign, ref)
    out: list[str] = []
    for field in snap_fields:
        mapped = None
        for part in (field, *field.split(".")):
            if part in table:
                mapped = f"{prefix}{table[part]}"
                break
        if mapped is not None and kind == "ad_set" and mapped.endswith("budget.amount"):
            mapped = mapped if campaign.budget_level == "ad_set" else "budget.amount"
        path = mapped or field
        if path not in out:
            out.append(path)
    return out


def _owner(kind: str, campaign: Campaign, ref: str | None) -> tuple[str, Mapping[str, str]]:
    if kind == "campaign":
        return "", CAMPAIGN_FIELDS
    for i, ad_set in enumerate(campaign.ad_sets):
        if kind == "ad_set" and ad_set.id == ref:
            return f"ad_sets[{i}].", AD_SQUAD_FIELDS
        for j, ad in enumerate(ad_set.ads):
            if ad.id == ref and kind == "creative":
                return f"ad_sets[{i}].ads[{j}].", CREATIVE_FIELDS
            if ad.id == ref and kind == "ad":
                return f"ad_sets[{i}].ads[{j}].", {"name": "name"}
    return "", {}
