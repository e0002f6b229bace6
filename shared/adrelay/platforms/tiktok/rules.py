"""TikTok's rules, checked before any write so most rejections cost no API call. Pure: no I/O.

Errors block the publish; warnings (where adrelay had to approximate, or a rule is only [S]/UNCONFIRMED
and TikTok will have the last word) do not. Every issue names the dotted field it is about.

Money: budgets are in the advertiser currency's major unit with that currency's precision; minimums are
the USD amounts (campaign 50, ad group daily 20, ad group lifetime 20 x scheduled days; platform-apis
§2.4) times the currency's "Budget Verification Ratio". Only USD (1) and JPY (100) ratios are confirmed:
below a confirmed minimum is an error, below an estimated one a warning. An `AccountStatus` may carry the
account's own values in `minimums`: `budget_ratio`, `campaign_budget_min`, `adgroup_daily_budget_min`
(major units); they win over the table and are errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from adrelay.events.payloads import ValidationIssue
from adrelay.model import (
    Ad,
    AdSet,
    BidStrategy,
    Budget,
    CallToAction,
    Campaign,
    MediaAsset,
    MediaKind,
    Objective,
    Platform,
    PlatformTarget,
    Schedule,
    SpecialAdCategory,
    TikTokTarget,
)
from adrelay.model.campaign import utc_now
from adrelay.model.money import exponent
from adrelay.platforms.auth import AccountStatus
from adrelay.platforms.tiktok import mapper

CAMPAIGN_MIN_USD = Decimal(50)
ADGROUP_DAILY_MIN_USD = Decimal(20)
MAX_BUDGET_USD = Decimal(10_000_000)
# Budget Verification Ratios: currency → (ratio, confirmed). USD and JPY from TTDOC:1739381246298114;
# the rest are rough exchange-rate estimates (UNCONFIRMED) used for warnings only.
BUDGET_RATIOS: dict[str, tuple[Decimal, bool]] = {
    "USD": (Decimal(1), True),
    "JPY": (Decimal(100), True),
    "EUR": (Decimal(1), False),
    "GBP": (Decimal(1), False),
    "CHF": (Decimal(1), False),
    "CAD": (Decimal(1), False),
    "AUD": (Decimal(1), False),
    "NZD": (Decimal(1), False),
    "SGD": (Decimal(1), False),
    "SAR": (Decimal(3), False),
    "AED": (Decimal(3), False),
    "BRL": (Decimal(5), False),
    "MYR": (Decimal(4), False),
    "MXN": (Decimal(20), False),
    "TRY": (Decimal(20), False),
    "THB": (Decimal(30), False),
    "TWD": (Decimal(30), False),
    "INR": (Decimal(50), False),
    "PHP": (Decimal(50), False),
    "KRW": (Decimal(1000), False),
    "IDR": (Decimal(10000), False),
    "VND": (Decimal(20000), False),
}
MAX_ADS_PER_ADGROUP = 20  # [S] BUB / TikTok help centre
IMAGE_MAX_BYTES = 50 * 1024 * 1024
IMAGE_MAX_PIXELS = 3_686_400  # width x height ([C] TTDOC:1739067433456642)
VIDEO_MAX_BYTES = 500 * 1024 * 1024
VIDEO_RATIOS = {"9:16": 9 / 16, "16:9": 16 / 9, "1:1": 1.0}  # [S] BUB
RATIO_TOLERANCE = 0.02  # cover vs video, and video vs the accepted ratios
# 13-17 targeting is refused (40065) in the US, the EEA, the UK, Switzerland, Canada and Latin America ([S]).
MINOR_RESTRICTED = frozenset(
    """US GB CH CA AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO
    MX BR AR CO CL PE VE EC BO PY UY CR PA GT DO SV HN NI""".split()
)


@dataclass(frozen=True)
class Minimums:
    """Budget bounds in the campaign currency's major units."""

    campaign: Decimal
    adgroup_daily: Decimal
    maximum: Decimal
    confirmed: bool
    source: str


class Issues:
    """Collects issues for one campaign."""

    def __init__(self) -> None:
        self.items: list[ValidationIssue] = []

    def error(self, path: str, message: str) -> None:
        self.items.append(ValidationIssue(path=path, message=message, platform=Platform.TIKTOK))

    def warning(self, path: str, message: str) -> None:
        self.items.append(
            ValidationIssue(path=path, message=message, platform=Platform.TIKTOK, severity="warning")
        )

    def below(self, confirmed: bool, path: str, message: str) -> None:
        (self.error if confirmed else self.warning)(path, message)


def validate(
    campaign: Campaign,
    target: PlatformTarget,
    account: AccountStatus | None = None,
    *,
    now: datetime | None = None,
) -> list[ValidationIssue]:
    issues = Issues()
    if not isinstance(target, TikTokTarget):
        issues.error("targets", "a TikTok publish needs a TikTok target")
        return issues.items
    moment = now or utc_now()
    _objective(campaign, target, issues)
    _money(campaign, account, issues)
    _schedules(campaign, moment, issues)
    for index, ad_set in enumerate(campaign.ad_sets):
        _ad_set(campaign, ad_set, f"ad_sets[{index}]", issues)
    _media(campaign, issues)
    return issues.items


# ---- campaign ----------------------------------------------------------------------------------------
def _objective(campaign: Campaign, target: TikTokTarget, issues: Issues) -> None:
    if campaign.objective in mapper.UNSUPPORTED_OBJECTIVES:
        issues.error(
            "objective",
            "app_promotion on TikTok needs an app id, app_promotion_type and an operating system, which "
            "the campaign does not carry",
        )
        return
    if SpecialAdCategory.POLITICS in campaign.special_ad_categories:
        index = campaign.special_ad_categories.index(SpecialAdCategory.POLITICS)
        issues.error(f"special_ad_categories[{index}]", "TikTok does not allow political ads")
    if mapper.has_emoji(campaign.name):
        issues.warning("name", "emoji are not allowed in TikTok names; they are left out")
    goals = mapper.GOALS[campaign.objective]
    needs_pixel = False
    for index, ad_set in enumerate(campaign.ad_sets):
        path = f"ad_sets[{index}]"
        goal = goals.get(ad_set.optimization_goal)
        if goal is None:
            supported = [g.value for g in goals if g is not None]
            issues.error(
                f"{path}.optimization_goal",
                f"{ad_set.optimization_goal} is not available for {campaign.objective.value} on TikTok"
                f" (use one of {supported} or leave it empty)",
            )
            continue
        needs_pixel = needs_pixel or goal in mapper.PIXEL_GOALS
        if ad_set.conversion_event is not None and goal not in mapper.PIXEL_GOALS:
            issues.warning(
                f"{path}.conversion_event", f"not used: {goal} does not optimize for a pixel event"
            )
    if needs_pixel and target.pixel_id is None:
        issues.error(
            "targets.tiktok.pixel_id", f"{campaign.objective.value} optimizes for conversions: set pixel_id"
        )
    if campaign.objective is Objective.ENGAGEMENT and target.identity_type == "CUSTOMIZED_USER":
        issues.warning(
            "targets.tiktok.identity_type",
            "ENGAGEMENT (follower) campaigns promote a TikTok account; a CUSTOMIZED_USER identity may be "
            "refused (UNCONFIRMED)",
        )


# ---- money ---------------------------------------------------------------------------------------------
def minimums(currency: str, account: AccountStatus | None) -> Minimums | None:
    """The bounds for `currency`: the account's own where given, else the ratio table; None if unknown."""
    own = dict(account.minimums) if account is not None else {}
    ratio_value = _decimal(own.get("budget_ratio"))
    if ratio_value is not None:
        ratio, confirmed, source = ratio_value, True, "the advertiser's budget ratio"
    elif currency in BUDGET_RATIOS:
        ratio, confirmed = BUDGET_RATIOS[currency]
        source = "TikTok's budget ratio" if confirmed else "an estimated budget ratio (UNCONFIRMED)"
    else:
        return None
    campaign_min = _decimal(own.get("campaign_budget_min")) or CAMPAIGN_MIN_USD * ratio
    adgroup_min = _decimal(own.get("adgroup_daily_budget_min")) or ADGROUP_DAILY_MIN_USD * ratio
    explicit = "campaign_budget_min" in own or "adgroup_daily_budget_min" in own
    return Minimums(campaign_min, adgroup_min, MAX_BUDGET_USD * ratio, confirmed or explicit, source)


def _money(campaign: Campaign, account: AccountStatus | None, issues: Issues) -> None:
    currency = campaign.currency
    if account is not None and account.currency and account.currency != currency:
        issues.error(
            _budget_path(campaign) + ".currency",
            f"the advertiser account is in {account.currency}; TikTok budgets are in the account currency",
        )
    bounds = minimums(currency, account)
    if bounds is None:
        issues.warning(_budget_path(campaign), f"TikTok's minimum budget in {currency} is not known here")
    if campaign.budget is not None:
        _budget(
            campaign.budget, "budget.amount", bounds, bounds.campaign if bounds else None, "campaign", issues
        )
    for index, ad_set in enumerate(campaign.ad_sets):
        path = f"ad_sets[{index}]"
        if ad_set.budget is not None:
            minimum = None
            if bounds is not None:
                minimum = bounds.adgroup_daily * _days(ad_set, campaign, ad_set.budget)
            _budget(ad_set.budget, f"{path}.budget.amount", bounds, minimum, "ad group", issues)


def _budget(
    budget: Budget, path: str, bounds: Minimums | None, minimum: Decimal | None, what: str, issues: Issues
) -> None:
    amount = budget.amount.major
    if bounds is None or minimum is None:
        return
    currency = budget.amount.currency
    shown = _shown(minimum, currency)
    if amount < minimum:
        issues.below(
            bounds.confirmed,
            path,
            f"TikTok's minimum {budget.period} {what} budget is {shown} {currency} ({bounds.source})",
        )
    elif amount == minimum:
        issues.warning(
            path, f"exactly TikTok's minimum ({shown} {currency}); its help centre asks for more than that"
        )
    if amount >= bounds.maximum:
        issues.error(path, f"TikTok's budgets must stay below {_shown(bounds.maximum, currency)} {currency}")


def _days(ad_set: AdSet, campaign: Campaign, budget: Budget) -> int:
    """A lifetime ad group budget must cover the daily minimum for every scheduled day."""
    if budget.period == "daily":
        return 1
    schedule = campaign.schedule_for(ad_set)
    assert schedule.end_time is not None  # the model requires an end for lifetime budgets
    return max(1, math.ceil((schedule.end_time - schedule.start_time).total_seconds() / 86400))


def _shown(amount: Decimal, currency: str) -> str:
    return str(amount.quantize(Decimal(1).scaleb(-exponent(currency))))


def _budget_path(campaign: Campaign) -> str:
    return "budget.amount" if campaign.budget is not None else "ad_sets[0].budget.amount"


def _decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


# ---- schedules -----------------------------------------------------------------------------------------
def _schedules(campaign: Campaign, now: datetime, issues: Issues) -> None:
    _schedule(campaign.schedule, "schedule", now, issues)
    for index, ad_set in enumerate(campaign.ad_sets):
        if ad_set.schedule is not None:
            _schedule(ad_set.schedule, f"ad_sets[{index}].schedule", now, issues)


def _schedule(schedule: Schedule, path: str, now: datetime, issues: Issues) -> None:
    if schedule.end_time is not None and schedule.end_time <= now:
        issues.error(f"{path}.end_time", "the schedule has already ended")
    if schedule.start_time < now:
        issues.warning(f"{path}.start_time", "in the past: TikTok starts delivery as soon as it is activated")


# ---- ad groups and ads ---------------------------------------------------------------------------------
def _ad_set(campaign: Campaign, ad_set: AdSet, path: str, issues: Issues) -> None:
    targeting = ad_set.targeting
    for index, country in enumerate(targeting.countries):
        if country not in mapper.LOCATION_IDS:
            issues.error(
                f"{path}.targeting.countries[{index}]", f"no TikTok location id is known for {country}"
            )
    ages = mapper.age_groups(targeting)
    if ages.widened(targeting):
        high = "100" if ages.covered[1] == 100 else str(ages.covered[1])
        issues.warning(
            f"{path}.targeting.age_min",
            f"TikTok targets age buckets: {targeting.age_min}-{targeting.age_max} becomes "
            f"{ages.covered[0]}-{high} ({', '.join(ages.groups)})",
        )
    if targeting.age_min < 18:
        restricted = sorted(set(targeting.countries) & MINOR_RESTRICTED)
        if restricted:
            issues.error(
                f"{path}.targeting.age_min",
                f"TikTok refuses 13-17 targeting in {', '.join(restricted)} (error 40065)",
            )
    if mapper.has_emoji(ad_set.name):
        issues.warning(f"{path}.name", "emoji are not allowed in TikTok names; they are left out")
    if ad_set.budget is not None and ad_set.budget.period == "lifetime":
        if campaign.schedule_for(ad_set).end_time is None:
            issues.error(
                f"{path}.schedule.end_time", "a lifetime ad group budget needs an end time on TikTok"
            )
    _bid(campaign, ad_set, path, issues)
    if len(ad_set.ads) > MAX_ADS_PER_ADGROUP:
        issues.error(f"{path}.ads", f"a TikTok ad group holds at most {MAX_ADS_PER_ADGROUP} ads")
    for index, ad in enumerate(ad_set.ads):
        _ad(campaign, ad, f"{path}.ads[{index}]", issues)


def _bid(campaign: Campaign, ad_set: AdSet, path: str, issues: Issues) -> None:
    goal = mapper.GOALS.get(campaign.objective, {}).get(ad_set.optimization_goal)
    if goal is None or ad_set.bid_strategy is BidStrategy.LOWEST_COST:
        return
    billing = mapper.BILLING_EVENTS[goal]
    if billing == "OCPM" and ad_set.bid_strategy is BidStrategy.BID_CAP:
        issues.warning(
            f"{path}.bid_strategy", f"TikTok applies a bid for {goal} as a cost cap, not a bid cap"
        )
    if billing != "OCPM" and ad_set.bid_strategy is BidStrategy.COST_CAP:
        issues.warning(
            f"{path}.bid_strategy", f"TikTok applies a bid for {goal} as a maximum bid, not a cost cap"
        )


def _ad(campaign: Campaign, ad: Ad, path: str, issues: Issues) -> None:
    creative = ad.creative
    text = creative.primary_text
    if len(text) > mapper.AD_TEXT_LIMIT:
        issues.error(
            f"{path}.creative.primary_text",
            f"TikTok ad text is at most {mapper.AD_TEXT_LIMIT} characters ({len(text)} given)",
        )
    if mapper.has_emoji(text):
        issues.error(f"{path}.creative.primary_text", "TikTok ad text must not contain emoji")
    if creative.display_name is not None:
        if len(creative.display_name) > mapper.DISPLAY_NAME_LIMIT:
            issues.error(
                f"{path}.creative.display_name",
                f"TikTok display names are 1-{mapper.DISPLAY_NAME_LIMIT} characters",
            )
    if creative.call_to_action is CallToAction.GET_OFFER:
        issues.warning(
            f"{path}.creative.call_to_action", "TikTok has no 'get offer' button; LEARN_MORE is used"
        )
    if mapper.has_emoji(ad.name):
        issues.warning(f"{path}.name", "emoji are not allowed in TikTok names; they are left out")
    url = mapper.landing_page_url(campaign, ad)
    if len(url) > 999:
        issues.error(
            f"{path}.creative.landing_url", "with tracking parameters the URL exceeds 999 characters"
        )


# ---- media -----------------------------------------------------------------------------------------------
def _media(campaign: Campaign, issues: Issues) -> None:
    media = campaign.media_by_id()
    indexes = {m.id: i for i, m in enumerate(campaign.media)}
    used: set[str] = set()
    for _, ad in campaign.ads():
        used.add(ad.creative.media_id)
    for media_id in sorted(used):
        asset = media[media_id]
        path = f"media[{indexes[media_id]}]"
        if asset.kind is MediaKind.IMAGE:
            _image(asset, path, issues)
        else:
            _video(asset, path, issues)
            if asset.cover_media_id is not None:
                cover = media[asset.cover_media_id]
                cover_path = f"media[{indexes[cover.id]}]"
                _image(cover, cover_path, issues)
                if abs(cover.aspect_ratio - asset.aspect_ratio) > RATIO_TOLERANCE * asset.aspect_ratio:
                    issues.error(
                        f"{path}.cover_media_id",
                        f"TikTok needs the cover's aspect ratio to match the video's "
                        f"({cover.width}x{cover.height} vs {asset.width}x{asset.height})",
                    )


def _image(asset: MediaAsset, path: str, issues: Issues) -> None:
    if asset.size_bytes > IMAGE_MAX_BYTES:
        issues.error(f"{path}.size_bytes", "TikTok images are at most 50 MB")
    if asset.width * asset.height > IMAGE_MAX_PIXELS:
        issues.error(f"{path}.width", f"TikTok images are at most {IMAGE_MAX_PIXELS} pixels (width x height)")


def _video(asset: MediaAsset, path: str, issues: Issues) -> None:
    if asset.size_bytes > VIDEO_MAX_BYTES:
        issues.error(f"{path}.size_bytes", "TikTok videos are at most 500 MB")
    ratio = asset.aspect_ratio
    if not any(abs(ratio - r) <= RATIO_TOLERANCE * r for r in VIDEO_RATIOS.values()):
        issues.warning(f"{path}.width", f"TikTok recommends {', '.join(VIDEO_RATIOS)} videos")
