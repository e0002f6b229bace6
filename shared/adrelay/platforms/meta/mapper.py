"""adrelay's campaign → Marketing API payloads. Pure: no I/O, same input → same payload.

Payload values are Python objects (nested dicts and lists); the client form-encodes them, nested values
as JSON strings, as Graph expects. Every create carries its tag: in the name (campaign, ad set, ad,
creative, video title) and, for creatives, as an ad label too, because creatives cannot be searched by
name (docs/lookup-by-tag.md §1.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from adrelay.model import (
    Ad,
    AdSet,
    BidStrategy,
    Campaign,
    ConversionEvent,
    MediaKind,
    MetaTarget,
    Money,
    Objective,
    OptimizationGoal,
    Platform,
    SpecialAdCategory,
    Targeting,
)
from adrelay.model.campaign import Creative, MediaAsset
from adrelay.platforms.base import tagged_name
from adrelay.platforms.common import tracked_url, utm_parameters

NAME_LIMIT = 400  # campaign, ad set and ad names
CREATIVE_NAME_LIMIT = 100
VIDEO_TITLE_LIMIT = 255
INITIAL_STATUS = "PAUSED"  # everything is created paused; activation is a separate, later step
BILLING_EVENT = "IMPRESSIONS"  # accepted with every optimization goal

# Meta's "Currency Codes" offset table: these currencies are counted in whole units, all others in
# hundredths. VND is not in the table excerpt read (UNCONFIRMED): counting it in whole units can only
# ever under-spend by 100x, never over-spend, and Meta refuses an under-minimum budget.
OFFSET_ONE_CURRENCIES = frozenset(
    {"CLP", "COP", "CRC", "HUF", "ISK", "IDR", "JPY", "KRW", "PYG", "TWD", "VND"}
)

# ODAX only: legacy objectives are refused for new campaigns since v17. Video views live under
# Engagement in Meta's own legacy→ODAX table (VIDEO_VIEWS → OUTCOME_ENGAGEMENT), with the ThruPlay goal.
OBJECTIVES: Mapping[Objective, str] = {
    Objective.AWARENESS: "OUTCOME_AWARENESS",
    Objective.TRAFFIC: "OUTCOME_TRAFFIC",
    Objective.ENGAGEMENT: "OUTCOME_ENGAGEMENT",
    Objective.LEADS: "OUTCOME_LEADS",
    Objective.APP_PROMOTION: "OUTCOME_APP_PROMOTION",
    Objective.SALES: "OUTCOME_SALES",
    Objective.VIDEO_VIEWS: "OUTCOME_ENGAGEMENT",
}

# Our goal → Meta's. There is no CONVERSIONS goal on Meta: website conversions (and website leads) are
# OFFSITE_CONVERSIONS with promoted_object {pixel_id, custom_event_type}.
GOALS: Mapping[OptimizationGoal, str] = {
    OptimizationGoal.REACH: "REACH",
    OptimizationGoal.IMPRESSIONS: "IMPRESSIONS",
    OptimizationGoal.LINK_CLICKS: "LINK_CLICKS",
    OptimizationGoal.LANDING_PAGE_VIEWS: "LANDING_PAGE_VIEWS",
    OptimizationGoal.CONVERSIONS: "OFFSITE_CONVERSIONS",
    OptimizationGoal.VIDEO_VIEWS: "THRUPLAY",
    OptimizationGoal.LEADS: "OFFSITE_CONVERSIONS",
    OptimizationGoal.APP_INSTALLS: "APP_INSTALLS",
}
PIXEL_GOALS = frozenset({"OFFSITE_CONVERSIONS"})

# The goal an ad set gets when it names none.
DEFAULT_GOALS: Mapping[Objective, str] = {
    Objective.AWARENESS: "REACH",
    Objective.TRAFFIC: "LINK_CLICKS",
    Objective.ENGAGEMENT: "POST_ENGAGEMENT",
    Objective.LEADS: "OFFSITE_CONVERSIONS",
    Objective.APP_PROMOTION: "APP_INSTALLS",
    Objective.SALES: "OFFSITE_CONVERSIONS",
    Objective.VIDEO_VIEWS: "THRUPLAY",
}

# Meta goals allowed under each objective. Pairs seen in official examples or several real clients,
# plus the reach/impressions/link-click goals every ODAX objective offers; OUTCOME_SALES +
# LANDING_PAGE_VIEWS is left out because Meta refuses it (2490408, facebook-java-business-sdk #446).
OBJECTIVE_GOALS: Mapping[str, frozenset[str]] = {
    "OUTCOME_AWARENESS": frozenset({"REACH", "IMPRESSIONS", "THRUPLAY"}),
    "OUTCOME_TRAFFIC": frozenset({"LINK_CLICKS", "LANDING_PAGE_VIEWS", "REACH", "IMPRESSIONS"}),
    "OUTCOME_ENGAGEMENT": frozenset(
        {
            "POST_ENGAGEMENT",
            "THRUPLAY",
            "LINK_CLICKS",
            "LANDING_PAGE_VIEWS",
            "REACH",
            "IMPRESSIONS",
            "OFFSITE_CONVERSIONS",
        }
    ),
    "OUTCOME_LEADS": frozenset(
        {"OFFSITE_CONVERSIONS", "LINK_CLICKS", "LANDING_PAGE_VIEWS", "REACH", "IMPRESSIONS"}
    ),
    "OUTCOME_APP_PROMOTION": frozenset({"APP_INSTALLS", "LINK_CLICKS"}),
    "OUTCOME_SALES": frozenset({"OFFSITE_CONVERSIONS", "LINK_CLICKS", "REACH", "IMPRESSIONS"}),
}

CONVERSION_EVENTS: Mapping[ConversionEvent, str] = {
    ConversionEvent.PURCHASE: "PURCHASE",
    ConversionEvent.ADD_TO_CART: "ADD_TO_CART",
    ConversionEvent.LEAD: "LEAD",
    ConversionEvent.COMPLETE_REGISTRATION: "COMPLETE_REGISTRATION",
    ConversionEvent.INITIATE_CHECKOUT: "INITIATED_CHECKOUT",
}
# The pixel event when an ad set optimizing for conversions names none.
DEFAULT_CONVERSION_EVENTS: Mapping[Objective, ConversionEvent] = {
    Objective.SALES: ConversionEvent.PURCHASE,
    Objective.LEADS: ConversionEvent.LEAD,
}

BID_STRATEGIES: Mapping[BidStrategy, str] = {
    BidStrategy.LOWEST_COST: "LOWEST_COST_WITHOUT_CAP",
    BidStrategy.BID_CAP: "LOWEST_COST_WITH_BID_CAP",
    BidStrategy.COST_CAP: "COST_CAP",
}

SPECIAL_AD_CATEGORIES: Mapping[SpecialAdCategory, str] = {
    SpecialAdCategory.CREDIT: "CREDIT",
    SpecialAdCategory.EMPLOYMENT: "EMPLOYMENT",
    SpecialAdCategory.HOUSING: "HOUSING",
    SpecialAdCategory.POLITICS: "ISSUES_ELECTIONS_POLITICS",
}

GENDERS: Mapping[str, int] = {"male": 1, "female": 2}


class MappingError(ValueError):
    """The campaign cannot be expressed on Meta exactly (rules.py reports it before any write)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# ---- money --------------------------------------------------------------------------------------
def currency_offset(currency: str) -> int:
    return 1 if currency in OFFSET_ONE_CURRENCIES else 100


def meta_amount(money: Money, path: str = "amount") -> int:
    """An amount in Meta's units for its currency, exactly; refuses what would need rounding
    (HUF 1234.50 has no whole-forint value, and Meta counts HUF in forints)."""
    value = money.major * currency_offset(money.currency)
    if value != value.to_integral_value():
        unit = "whole units" if currency_offset(money.currency) == 1 else "hundredths"
        raise MappingError(
            path, f"{money} cannot be sent to Meta exactly: Meta counts {money.currency} in {unit}"
        )
    return int(value)


def from_meta_amount(amount: int | str, currency: str) -> Decimal:
    """Meta units back to major units (budgets read back, minimums)."""
    return Decimal(int(amount)) / currency_offset(currency)


# ---- objectives and goals -----------------------------------------------------------------------
def objective(campaign: Campaign) -> str:
    return OBJECTIVES[campaign.objective]


def optimization_goal(campaign: Campaign, ad_set: AdSet) -> str:
    if ad_set.optimization_goal is None:
        return DEFAULT_GOALS[campaign.objective]
    return GOALS[ad_set.optimization_goal]


def goal_allowed(campaign: Campaign, ad_set: AdSet) -> bool:
    return optimization_goal(campaign, ad_set) in OBJECTIVE_GOALS[objective(campaign)]


def conversion_event(campaign: Campaign, ad_set: AdSet) -> ConversionEvent | None:
    if ad_set.conversion_event is not None:
        return ad_set.conversion_event
    if ad_set.optimization_goal is OptimizationGoal.LEADS:
        return ConversionEvent.LEAD
    return DEFAULT_CONVERSION_EVENTS.get(campaign.objective)


def bid_strategy(ad_set: AdSet) -> str:
    return BID_STRATEGIES[ad_set.bid_strategy]


# ---- targeting and time -------------------------------------------------------------------------
def targeting_spec(targeting: Targeting) -> dict[str, Any]:
    """Meta's targeting spec. Advantage+ audience is always set explicitly off: Meta requires the flag
    whenever age or gender are customised (v23+), and our campaign's audience is meant literally.
    Languages are not sent (Meta wants numeric locale ids; rules.py warns)."""
    spec: dict[str, Any] = {
        "geo_locations": {"countries": [c.upper() for c in targeting.countries]},
        "age_min": targeting.age_min,
        "age_max": targeting.age_max,
    }
    genders = sorted({GENDERS[g] for g in targeting.genders})
    if len(genders) == 1:
        spec["genders"] = genders
    spec["targeting_automation"] = {"advantage_audience": 0}
    return spec


def meta_time(moment: datetime, zone: str) -> str:
    """ISO-8601 with a numeric offset, in the advertiser's zone (`2024-07-29T17:54:47-0700`)."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S%z")


# ---- payloads -----------------------------------------------------------------------------------
def campaign_payload(campaign: Campaign, tag: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": tagged_name(campaign.name, tag, NAME_LIMIT),
        "objective": objective(campaign),
        "status": INITIAL_STATUS,
        "buying_type": "AUCTION",
        "special_ad_categories": [SPECIAL_AD_CATEGORIES[c] for c in campaign.special_ad_categories],
    }
    if campaign.budget_level == "campaign":
        assert campaign.budget is not None  # the model guarantees it
        payload[f"{campaign.budget.period}_budget"] = meta_amount(campaign.budget.amount, "budget.amount")
        # With a campaign budget (Advantage campaign budget) the bid strategy belongs to the campaign.
        payload["bid_strategy"] = BID_STRATEGIES[campaign.ad_sets[0].bid_strategy]
    else:
        payload["is_adset_budget_sharing_enabled"] = False
    return payload


def ad_set_payload(
    campaign: Campaign, ad_set: AdSet, target: MetaTarget, tag: str, campaign_id: str
) -> dict[str, Any]:
    index = campaign.ad_sets.index(ad_set)
    goal = optimization_goal(campaign, ad_set)
    schedule = campaign.schedule_for(ad_set)
    payload: dict[str, Any] = {
        "name": tagged_name(ad_set.name, tag, NAME_LIMIT),
        "campaign_id": campaign_id,
        "status": INITIAL_STATUS,
        "billing_event": BILLING_EVENT,
        "optimization_goal": goal,
        "targeting": targeting_spec(ad_set.targeting),
        "start_time": meta_time(schedule.start_time, schedule.timezone),
    }
    if schedule.end_time is not None:
        payload["end_time"] = meta_time(schedule.end_time, schedule.timezone)
    if campaign.budget_level == "ad_set":
        assert ad_set.budget is not None  # the model guarantees it
        path = f"ad_sets[{index}].budget.amount"
        payload[f"{ad_set.budget.period}_budget"] = meta_amount(ad_set.budget.amount, path)
        payload["bid_strategy"] = bid_strategy(ad_set)
    if ad_set.bid_amount is not None:
        payload["bid_amount"] = meta_amount(ad_set.bid_amount, f"ad_sets[{index}].bid_amount")
    if goal in PIXEL_GOALS:
        event = conversion_event(campaign, ad_set)
        if target.pixel_id is None or event is None:
            raise MappingError(
                f"ad_sets[{index}].optimization_goal",
                "conversion optimization needs the target's pixel_id and an event",
            )
        payload["promoted_object"] = {
            "pixel_id": target.pixel_id,
            "custom_event_type": CONVERSION_EVENTS[event],
        }
    return payload


def landing_url(campaign: Campaign, ad: Ad) -> str:
    """The creative's link with adrelay's UTM parameters. No click-id macro: Meta appends `fbclid` to
    every outbound click by itself."""
    return tracked_url(str(ad.creative.landing_url), utm_parameters(Platform.META, campaign, ad.id))


def call_to_action(creative: Creative, link: str) -> dict[str, Any]:
    # Our call-to-action names are Meta's enum values, lowercased (all eleven exist in the v25 enum).
    return {"type": creative.call_to_action.value.upper(), "value": {"link": link}}


def creative_payload(
    campaign: Campaign,
    ad: Ad,
    target: MetaTarget,
    tag: str,
    media: MediaAsset,
    media_ids: Mapping[str, str],
) -> dict[str, Any]:
    """`media_ids`: "image_hash" (image, or the video's cover) and "video_id" for a video."""
    creative = ad.creative
    link = landing_url(campaign, ad)
    story: dict[str, Any] = {"page_id": target.page_id}
    if target.instagram_account_id:
        story["instagram_user_id"] = target.instagram_account_id
    if media.kind is MediaKind.IMAGE:
        link_data: dict[str, Any] = {
            "link": link,
            "message": creative.primary_text,
            "name": creative.headline,
            "image_hash": media_ids["image_hash"],
            "call_to_action": call_to_action(creative, link),
        }
        if creative.description:
            link_data["description"] = creative.description
        story["link_data"] = link_data
    else:
        video_data: dict[str, Any] = {
            "video_id": media_ids["video_id"],
            "image_hash": media_ids["image_hash"],
            "message": creative.primary_text,
            "title": creative.headline,
            "call_to_action": call_to_action(creative, link),
        }
        if creative.description:
            video_data["link_description"] = creative.description
        story["video_data"] = video_data
    return {
        "name": tagged_name(creative.name, tag, CREATIVE_NAME_LIMIT),
        "object_story_spec": story,
        "adlabels": [{"name": tag}],
    }


def ad_payload(ad: Ad, tag: str, ad_set_id: str, creative_id: str) -> dict[str, Any]:
    return {
        "name": tagged_name(ad.name, tag, NAME_LIMIT),
        "adset_id": ad_set_id,
        "creative": {"creative_id": creative_id},
        "status": INITIAL_STATUS,
    }


def video_title(asset: MediaAsset, tag: str) -> str:
    return tagged_name(asset.file_name or asset.id, tag, VIDEO_TITLE_LIMIT)


def image_file_name(asset: MediaAsset) -> str:
    extension = "png" if asset.mime_type == "image/png" else "jpg"
    return asset.file_name or f"{asset.id}.{extension}"
