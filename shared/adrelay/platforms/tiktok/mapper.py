"""Our campaign → TikTok API for Business v1.3 payloads. Pure: no I/O, no clock.

Where TikTok differs from the seed (platform-apis §2, §4): objectives are the post-2023 set, money is a
decimal number in the advertiser currency's MAJOR unit, targeting is flat on the ad group, times are
"YYYY-MM-DD HH:MM:SS" in UTC, creatives are inline in `/ad/create/`, and the only idempotency help is a
`request_id` on campaign and ad group creates. Everything is created disabled; activation enables it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adrelay.model import (
    Ad,
    AdSet,
    BidStrategy,
    Budget,
    CallToAction,
    Campaign,
    ConversionEvent,
    MediaAsset,
    MediaKind,
    Money,
    Objective,
    OptimizationGoal,
    Platform,
    Schedule,
    SpecialAdCategory,
    Targeting,
    TikTokTarget,
)
from adrelay.platforms.base import tagged_name
from adrelay.platforms.common import tracked_url, utm_parameters

NAME_LIMIT = 512  # campaign/ad group/ad names; CJK characters count 2; no emoji
AD_TEXT_LIMIT = 100
DISPLAY_NAME_LIMIT = 40
FILE_NAME_LIMIT = 100
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # UTC
# TikTok substitutes its click id at click time ([O] in many independent clients; the help centre says
# `ttclid` is also auto-attached since 2022-11, and a URL that already carries it is left alone).
CLICK_ID_MACROS = {"ttclid": "__CLICKID__"}


class MappingError(ValueError):
    """The campaign cannot be expressed on TikTok; `path` is the dotted field to blame."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# ---- objectives and delivery ------------------------------------------------------------------------
OBJECTIVE_TYPES: dict[Objective, str] = {
    Objective.AWARENESS: "REACH",
    Objective.TRAFFIC: "TRAFFIC",
    Objective.ENGAGEMENT: "ENGAGEMENT",
    Objective.LEADS: "LEAD_GENERATION",
    Objective.APP_PROMOTION: "APP_PROMOTION",
    # WEB_CONVERSIONS, not PRODUCT_SALES: our sales campaigns send people to a landing page measured by
    # a pixel; PRODUCT_SALES needs a catalog or a TikTok Shop as the product source, which we lack.
    Objective.SALES: "WEB_CONVERSIONS",
    Objective.VIDEO_VIEWS: "VIDEO_VIEWS",
}

# Per objective: our optimization goal (None = the objective's default) → TikTok's. Confirmed pairs:
# TRAFFIC/CLICK, WEB_CONVERSIONS/CONVERT ([C] TTDOC guides); the others are UNCONFIRMED (community SDK).
GOALS: dict[Objective, dict[OptimizationGoal | None, str]] = {
    Objective.AWARENESS: {None: "REACH", OptimizationGoal.REACH: "REACH"},
    Objective.TRAFFIC: {
        None: "CLICK",
        OptimizationGoal.LINK_CLICKS: "CLICK",
        OptimizationGoal.LANDING_PAGE_VIEWS: "TRAFFIC_LANDING_PAGE_VIEW",
    },
    Objective.ENGAGEMENT: {None: "FOLLOWERS"},
    Objective.LEADS: {
        None: "CONVERT",
        OptimizationGoal.LEADS: "CONVERT",
        OptimizationGoal.CONVERSIONS: "CONVERT",
    },
    Objective.SALES: {None: "CONVERT", OptimizationGoal.CONVERSIONS: "CONVERT"},
    Objective.VIDEO_VIEWS: {None: "ENGAGED_VIEW", OptimizationGoal.VIDEO_VIEWS: "ENGAGED_VIEW"},
}
# APP_PROMOTION needs an app id, app_promotion_type and an operating system, which our model does not
# carry: rules refuse it for TikTok.
UNSUPPORTED_OBJECTIVES = frozenset({Objective.APP_PROMOTION})

# Optimization goal → billing event. CLICK→CPC and CONVERT→OCPM are [C]; REACH→CPM and the OCPM pairs
# are UNCONFIRMED (platform-apis §2.5).
BILLING_EVENTS: dict[str, str] = {
    "CLICK": "CPC",
    "REACH": "CPM",
    "CONVERT": "OCPM",
    "TRAFFIC_LANDING_PAGE_VIEW": "OCPM",
    "FOLLOWERS": "OCPM",
    "ENGAGED_VIEW": "OCPM",
}
# promotion_type is required except for REACH, VIDEO_VIEWS and ENGAGEMENT ([S] BUB).
WEBSITE_OBJECTIVES = frozenset({Objective.TRAFFIC, Objective.LEADS, Objective.SALES})
PIXEL_GOALS = frozenset({"CONVERT"})

# Our conversion event → the pixel's optimization_event ([C] examples: SHOPPING, ON_WEB_CART,
# INITIATE_ORDER; the others from the community SDK).
OPTIMIZATION_EVENTS: dict[ConversionEvent, str] = {
    ConversionEvent.PURCHASE: "SHOPPING",
    ConversionEvent.ADD_TO_CART: "ON_WEB_CART",
    ConversionEvent.INITIATE_CHECKOUT: "INITIATE_ORDER",
    ConversionEvent.COMPLETE_REGISTRATION: "ON_WEB_REGISTER",
    ConversionEvent.LEAD: "FORM",
}
DEFAULT_CONVERSION_EVENT = {Objective.SALES: ConversionEvent.PURCHASE, Objective.LEADS: ConversionEvent.LEAD}

CALLS_TO_ACTION: dict[CallToAction, str] = {
    CallToAction.LEARN_MORE: "LEARN_MORE",
    CallToAction.SHOP_NOW: "SHOP_NOW",
    CallToAction.SIGN_UP: "SIGN_UP",
    CallToAction.DOWNLOAD: "DOWNLOAD_NOW",
    CallToAction.CONTACT_US: "CONTACT_US",
    CallToAction.APPLY_NOW: "APPLY_NOW",
    CallToAction.BOOK_NOW: "BOOK_NOW",
    CallToAction.ORDER_NOW: "ORDER_NOW",
    CallToAction.WATCH_MORE: "WATCH_NOW",
    CallToAction.SUBSCRIBE: "SUBSCRIBE",
    # TikTok has no "get offer"; LEARN_MORE is its neutral button (rules warn).
    CallToAction.GET_OFFER: "LEARN_MORE",
}

SPECIAL_INDUSTRIES: dict[SpecialAdCategory, str] = {
    SpecialAdCategory.CREDIT: "CREDIT",
    SpecialAdCategory.EMPLOYMENT: "EMPLOYMENT",
    SpecialAdCategory.HOUSING: "HOUSING",
}  # POLITICS: TikTok does not allow political ads (rules refuse it)

# ---- targeting ----------------------------------------------------------------------------------------
# ISO country → TikTok location id (GeoNames country ids, as `/tool/region/` returns them). US and SA
# appear in official examples ([C]); the rest are the GeoNames ids of the same countries.
LOCATION_IDS: dict[str, str] = {
    "US": "6252001", "GB": "2635167", "DE": "2921044", "FR": "3017382", "CA": "6251999", "AU": "2077456",
    "JP": "1861060", "BR": "3469034", "IN": "1269750", "ES": "2510769", "IT": "3175395", "NL": "2750405",
    "SA": "102358", "AE": "290557", "MX": "3996063", "KR": "1835841", "ID": "1643084", "TH": "1605651",
    "VN": "1562822", "PH": "1694008", "MY": "1733045", "SG": "1880251", "TW": "1668284", "TR": "298795",
    "EG": "357994", "ZA": "953987", "IL": "294640", "KW": "285570", "QA": "289688", "PL": "798544",
    "SE": "2661886", "NO": "3144096", "DK": "2623032", "FI": "660013", "BE": "2802361", "AT": "2782113",
    "CH": "2658434", "IE": "2963597", "PT": "2264397", "NZ": "2186224", "AR": "3865483", "CO": "3686110",
    "CL": "3895114", "PE": "3932488",
}  # fmt: skip


@dataclass(frozen=True)
class AgeBucket:
    value: str
    low: int
    high: int


AGE_BUCKETS = (
    AgeBucket("AGE_13_17", 13, 17),
    AgeBucket("AGE_18_24", 18, 24),
    AgeBucket("AGE_25_34", 25, 34),
    AgeBucket("AGE_35_44", 35, 44),
    AgeBucket("AGE_45_54", 45, 54),
    AgeBucket("AGE_55_100", 55, 100),
)
OPEN_AGE = 65  # our age_max 65 means "65 and older"


@dataclass(frozen=True)
class AgeMapping:
    groups: list[str]
    covered: tuple[int, int]  # the ages the buckets actually reach (high 100 = no upper bound)

    def widened(self, targeting: Targeting) -> bool:
        wanted_high = 100 if targeting.age_max >= OPEN_AGE else targeting.age_max
        return self.covered[0] < targeting.age_min or self.covered[1] > wanted_high


def age_groups(targeting: Targeting) -> AgeMapping:
    """The fewest TikTok age buckets covering our range; rules warn when they reach beyond it."""
    high = 100 if targeting.age_max >= OPEN_AGE else targeting.age_max
    chosen = [b for b in AGE_BUCKETS if b.low <= high and b.high >= targeting.age_min]
    return AgeMapping([b.value for b in chosen], (chosen[0].low, chosen[-1].high))


def gender(targeting: Targeting) -> str:
    genders = set(targeting.genders)
    if genders == {"male"}:
        return "GENDER_MALE"
    if genders == {"female"}:
        return "GENDER_FEMALE"
    return "GENDER_UNLIMITED"


def location_ids(targeting: Targeting, path: str) -> list[str]:
    out = []
    for i, country in enumerate(targeting.countries):
        location = LOCATION_IDS.get(country)
        if location is None:
            raise MappingError(f"{path}.countries[{i}]", f"no TikTok location id known for {country}")
        out.append(location)
    return out


def targeting_fields(targeting: Targeting, path: str) -> dict[str, Any]:
    """Flat ad group targeting (there is no `targeting` object on TikTok)."""
    fields: dict[str, Any] = {
        "location_ids": location_ids(targeting, path),
        "age_groups": age_groups(targeting).groups,
        "gender": gender(targeting),
    }
    if targeting.languages:
        fields["languages"] = list(targeting.languages)  # ISO 639-1 codes (UNCONFIRMED: TikTok's list)
    return fields


# ---- money ----------------------------------------------------------------------------------------------
def major_units(money: Money, path: str) -> int | float:
    """A decimal number in major units, exactly as JSON will carry it: integers stay integers (JPY), and a
    fraction is sent as the float whose shortest repr is the exact decimal (or refused)."""
    major = money.major
    if major == major.to_integral_value():
        return int(major)
    as_float = float(major)
    if Decimal(repr(as_float)) != major:
        raise MappingError(path, f"{money} cannot be sent exactly as a JSON number")
    return as_float


def budget_mode(budget: Budget) -> str:
    return "BUDGET_MODE_DAY" if budget.period == "daily" else "BUDGET_MODE_TOTAL"


# ---- names and times ------------------------------------------------------------------------------------
_EMOJI_RANGES = (
    (0x1F000, 0x1FAFF),  # pictographs, emoticons, transport, symbols, flags
    (0x2600, 0x27BF),  # miscellaneous symbols and dingbats
    (0x2B00, 0x2BFF),  # arrows and stars used as emoji
    (0xFE00, 0xFE0F),  # variation selectors
    (0x200D, 0x200D),  # zero-width joiner of emoji sequences
    (0xE0020, 0xE007F),  # tag characters of flag sequences
)
_WIDE_RANGES = ((0x1100, 0x11FF), (0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF))


def is_emoji(char: str) -> bool:
    return any(low <= ord(char) <= high for low, high in _EMOJI_RANGES)


def has_emoji(text: str) -> bool:
    return any(is_emoji(c) for c in text)


def name_length(text: str) -> int:
    """Length as TikTok counts names: CJK characters count 2."""
    return sum(2 if any(lo <= ord(c) <= hi for lo, hi in _WIDE_RANGES) else 1 for c in text)


def object_name(name: str, tag: str) -> str:
    """The tagged name TikTok accepts: emoji removed (refused in names), cut to 512 as TikTok counts."""
    clean = " ".join("".join(c for c in name if not is_emoji(c)).split()) or "adrelay"
    tagged = tagged_name(clean, tag, NAME_LIMIT)
    while name_length(tagged) > NAME_LIMIT:
        clean = clean[:-1].rstrip() or "a"
        tagged = tagged_name(clean, tag, NAME_LIMIT)
    return tagged


def has_tag(name: str, tag: str) -> bool:
    """Exact client-side check that a listed object carries this step's tag (server filters are fuzzy)."""
    return f"[{tag}]" in name


def request_id(tag: str) -> str:
    """The create's `request_id`: a decimal int64 derived from the tag, so a retry within TikTok's ~10 s
    window answers 40050 instead of creating twice."""
    return str(int(hashlib.sha256(tag.encode()).hexdigest()[:15], 16))


def utc_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def schedule_fields(schedule: Schedule) -> dict[str, Any]:
    fields: dict[str, Any] = {"schedule_start_time": utc_time(schedule.start_time)}
    if schedule.end_time is None:
        fields["schedule_type"] = "SCHEDULE_FROM_NOW"
    else:
        fields["schedule_type"] = "SCHEDULE_START_END"
        fields["schedule_end_time"] = utc_time(schedule.end_time)
    return fields


def media_file_name(tag: str, asset: MediaAsset) -> str:
    """The upload's `file_name`: unique per advertiser, so it is the lookup key for files."""
    extension = {"image/png": ".png", "image/jpeg": ".jpg", "video/mp4": ".mp4", "video/quicktime": ".mov"}
    return f"{tag}{extension.get(asset.mime_type, '')}"


def landing_page_url(campaign: Campaign, ad: Ad) -> str:
    params = utm_parameters(Platform.TIKTOK, campaign, ad.id)
    return tracked_url(str(ad.creative.landing_url), params, CLICK_ID_MACROS)


# ---- payloads ---------------------------------------------------------------------------------------------
def delivery_goal(campaign: Campaign, ad_set: AdSet, path: str) -> str:
    if campaign.objective in UNSUPPORTED_OBJECTIVES:
        raise MappingError("objective", f"{campaign.objective.value} is not supported on TikTok by adrelay")
    goals = GOALS[campaign.objective]
    goal = goals.get(ad_set.optimization_goal)
    if goal is None:
        supported = ", ".join(g.value for g in goals if g is not None)
        raise MappingError(
            f"{path}.optimization_goal",
            f"{ad_set.optimization_goal} is not available for {campaign.objective.value} on TikTok"
            f" (supported: {supported or 'the default only'})",
        )
    return goal


def optimization_event(campaign: Campaign, ad_set: AdSet) -> str:
    event = ad_set.conversion_event or DEFAULT_CONVERSION_EVENT.get(
        campaign.objective, ConversionEvent.PURCHASE
    )
    return OPTIMIZATION_EVENTS[event]


def campaign_payload(campaign: Campaign, target: TikTokTarget, tag: str) -> dict[str, Any]:
    if campaign.objective in UNSUPPORTED_OBJECTIVES:
        raise MappingError("objective", f"{campaign.objective.value} is not supported on TikTok by adrelay")
    body: dict[str, Any] = {
        "advertiser_id": target.advertiser_id,
        "campaign_name": object_name(campaign.name, tag),
        "objective_type": OBJECTIVE_TYPES[campaign.objective],
        "operation_status": "DISABLE",
        "request_id": request_id(tag),
    }
    if campaign.budget_level == "campaign":
        assert campaign.budget is not None  # the model guarantees it
        body["budget_optimize_on"] = True
        body["budget_mode"] = budget_mode(campaign.budget)
        body["budget"] = major_units(campaign.budget.amount, "budget.amount")
    else:
        body["budget_mode"] = "BUDGET_MODE_INFINITE"
    industries = [SPECIAL_INDUSTRIES[c] for c in campaign.special_ad_categories if c in SPECIAL_INDUSTRIES]
    if industries:
        body["special_industries"] = industries
    return body


def adgroup_payload(
    campaign: Campaign, ad_set: AdSet, target: TikTokTarget, tag: str, campaign_id: str
) -> dict[str, Any]:
    index = campaign.ad_sets.index(ad_set)
    path = f"ad_sets[{index}]"
    goal = delivery_goal(campaign, ad_set, path)
    billing = BILLING_EVENTS[goal]
    body: dict[str, Any] = {
        "advertiser_id": target.advertiser_id,
        "campaign_id": campaign_id,
        "adgroup_name": object_name(ad_set.name, tag),
        "operation_status": "DISABLE",
        "request_id": request_id(tag),
        "placement_type": "PLACEMENT_TYPE_AUTOMATIC",
        "optimization_goal": goal,
        "billing_event": billing,
        "pacing": "PACING_MODE_SMOOTH",
        **schedule_fields(campaign.schedule_for(ad_set)),
        **targeting_fields(ad_set.targeting, f"{path}.targeting"),
    }
    if campaign.objective in WEBSITE_OBJECTIVES:
        body["promotion_type"] = "WEBSITE"
    if goal in PIXEL_GOALS:
        if target.pixel_id is None:
            raise MappingError("targets.tiktok.pixel_id", f"{goal} optimization needs the advertiser's pixel")
        body["pixel_id"] = target.pixel_id
        body["optimization_event"] = optimization_event(campaign, ad_set)
    if ad_set.budget is not None:  # budget_level ad_set; under campaign budget TikTok ignores these
        body["budget_mode"] = budget_mode(ad_set.budget)
        body["budget"] = major_units(ad_set.budget.amount, f"{path}.budget.amount")
    body.update(bid_fields(ad_set, billing, path))
    return body


def bid_fields(ad_set: AdSet, billing: str, path: str) -> dict[str, Any]:
    """No bid → maximum delivery. A bid is TikTok's custom bid: a cost cap for optimized (OCPM) billing,
    a maximum bid for CPC/CPM; rules warn where that differs from our bid strategy."""
    if ad_set.bid_strategy is BidStrategy.LOWEST_COST or ad_set.bid_amount is None:
        return {"bid_type": "BID_TYPE_NO_BID"}
    field = "conversion_bid_price" if billing == "OCPM" else "bid_price"
    return {"bid_type": "BID_TYPE_CUSTOM", field: major_units(ad_set.bid_amount, f"{path}.bid_amount")}


@dataclass(frozen=True)
class AdMedia:
    """The uploaded media an ad uses: an image id, or a video id with its cover's image id."""

    image_id: str | None = None
    video_id: str | None = None
    cover_image_id: str | None = None


def creative_payload(
    campaign: Campaign, ad: Ad, target: TikTokTarget, tag: str, media: AdMedia
) -> dict[str, Any]:
    creative = ad.creative
    asset = campaign.media_by_id()[creative.media_id]
    body: dict[str, Any] = {
        "ad_name": object_name(ad.name, tag),
        "identity_type": target.identity_type,
        "identity_id": target.identity_id,
        "ad_text": creative.primary_text,
        "call_to_action": CALLS_TO_ACTION[creative.call_to_action],
        "landing_page_url": landing_page_url(campaign, ad),
        "operation_status": "DISABLE",
    }
    if asset.kind is MediaKind.IMAGE:
        body["ad_format"] = "SINGLE_IMAGE"
        body["image_ids"] = [media.image_id]
    else:
        body["ad_format"] = "SINGLE_VIDEO"
        body["video_id"] = media.video_id
        body["image_ids"] = [media.cover_image_id]
    if creative.display_name:
        body["display_name"] = creative.display_name
    return body


def ad_payload(
    campaign: Campaign, ad: Ad, target: TikTokTarget, tag: str, adgroup_id: str, media: AdMedia
) -> dict[str, Any]:
    """`/ad/create/` with one inline creative (TikTok has no creative endpoint and no request_id here)."""
    return {
        "advertiser_id": target.advertiser_id,
        "adgroup_id": adgroup_id,
        "creatives": [creative_payload(campaign, ad, target, tag, media)],
    }


def upload_fields(target: TikTokTarget, asset: MediaAsset, tag: str, md5: str) -> dict[str, str]:
    """The multipart fields of an image or video upload (the file part travels beside them)."""
    signature = "image_signature" if asset.kind is MediaKind.IMAGE else "video_signature"
    return {
        "advertiser_id": target.advertiser_id,
        "upload_type": "UPLOAD_BY_FILE",
        signature: md5,
        "file_name": media_file_name(tag, asset),
    }


def ad_media_refs(campaign: Campaign, ad: Ad) -> tuple[str, str | None]:
    """(media id, cover media id) an ad needs uploaded."""
    asset = campaign.media_by_id()[ad.creative.media_id]
    return asset.id, asset.cover_media_id


def ad_media(campaign: Campaign, ad: Ad, outcomes: Mapping[str, Mapping[str, Any]]) -> AdMedia:
    """The ad's uploaded media ids, from the MEDIA steps' outcome data keyed by step key."""
    media_id, cover_id = ad_media_refs(campaign, ad)
    main = outcomes[f"media:{media_id}"]
    if cover_id is None:
        return AdMedia(image_id=str(main["image_id"]))
    cover = outcomes[f"media:{cover_id}"]
    return AdMedia(video_id=str(main["video_id"]), cover_image_id=str(cover["image_id"]))
