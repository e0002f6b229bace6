"""Meta's rules, checked before any write so that most rejections cost nothing. Pure: no I/O.

Errors are rules Meta enforces (per its docs, its spec, or errors it is known to return); warnings
are rules the reference marks UNCONFIRMED, and things Meta accepts but displays or applies
differently. Each issue names the campaign field at fault as a dotted path. What holds for every
platform (the account can spend in the campaign's currency, the schedule has not ended) is checked
once by the orchestrator, not here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from adrelay.events.payloads import ValidationIssue
from adrelay.model import (
    Budget,
    Campaign,
    MediaKind,
    MetaTarget,
    Money,
    Objective,
    Platform,
    Schedule,
    SpecialAdCategory,
)
from adrelay.platforms.auth import AccountStatus
from adrelay.platforms.meta import mapper
from adrelay.platforms.meta.mapper import MappingError

# Meta's display cut-offs (Ads Guide): longer text is accepted but truncated in most placements.
PRIMARY_TEXT_SHOWN = 125
HEADLINE_SHOWN = 40
# Image and video limits from Meta's ad specs (UNCONFIRMED in the stored reference: warnings only).
IMAGE_MAX_BYTES = 30 * 1024 * 1024
IMAGE_MIN_WIDTH = 600
ASPECT_MIN, ASPECT_MAX = 9 / 16, 1.91
VIDEO_MAX_S = 241 * 60
# Minimum daily budget for impression-billed ad sets when the account's own minimums are unknown, in
# Meta units ("$1/day for impressions", UNCONFIRMED): warnings only; the account's figures are errors.
FALLBACK_DAILY_MINIMUMS = {"USD": 100, "EUR": 100, "GBP": 100}
# Regulated categories that forbid age and gender targeting (Meta's housing/employment/credit rules).
NO_DEMOGRAPHICS = frozenset(
    {SpecialAdCategory.CREDIT, SpecialAdCategory.EMPLOYMENT, SpecialAdCategory.HOUSING}
)
EU_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)


def validate(campaign: Campaign, target: MetaTarget, account: AccountStatus | None) -> list[ValidationIssue]:
    return [
        *_money(campaign),
        *_minimums(campaign, account),
        *_objective_and_goals(campaign, target),
        *_bidding(campaign),
        *_targeting(campaign),
        *_creatives(campaign),
        *_media(campaign),
    ]


def _error(path: str, message: str) -> ValidationIssue:
    return ValidationIssue(path=path, message=message, platform=Platform.META)


def _warning(path: str, message: str) -> ValidationIssue:
    return ValidationIssue(path=path, message=message, platform=Platform.META, severity="warning")


def _amounts(campaign: Campaign) -> Iterator[tuple[str, Money]]:
    if campaign.budget is not None:
        yield "budget.amount", campaign.budget.amount
    for i, ad_set in enumerate(campaign.ad_sets):
        if ad_set.budget is not None:
            yield f"ad_sets[{i}].budget.amount", ad_set.budget.amount
        if ad_set.bid_amount is not None:
            yield f"ad_sets[{i}].bid_amount", ad_set.bid_amount


def _money(campaign: Campaign) -> Iterator[ValidationIssue]:
    for path, money in _amounts(campaign):
        try:
            mapper.meta_amount(money, path)
        except MappingError as exc:
            yield _error(path, exc.message)
        if money.currency == "VND":
            yield _warning(path, "Meta's unit for VND is unconfirmed; adrelay sends whole dong")


def _account_daily_minimum(account: AccountStatus | None) -> int | None:
    """The account's minimum daily budget for impression billing, in Meta units, if known."""
    if account is None:
        return None
    for key in ("min_daily_budget_imp", "min_daily_budget"):
        value = account.minimums.get(key)
        if value not in (None, ""):
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


def _minimums(campaign: Campaign, account: AccountStatus | None) -> Iterator[ValidationIssue]:
    own = _account_daily_minimum(account)
    fallback = FALLBACK_DAILY_MINIMUMS.get(campaign.currency)
    daily_minimum, issue = (own, _error) if own is not None else (fallback, _warning)
    if daily_minimum is None:
        return
    owners: list[tuple[str, Budget, Schedule, int]] = []  # (path, budget, its schedule, ad sets sharing it)
    if campaign.budget is not None:
        owners.append(("budget.amount", campaign.budget, campaign.schedule, len(campaign.ad_sets)))
    for i, ad_set in enumerate(campaign.ad_sets):
        if ad_set.budget is not None:
            owners.append((f"ad_sets[{i}].budget.amount", ad_set.budget, campaign.schedule_for(ad_set), 1))
    for path, budget, schedule, sharing in owners:
        try:
            amount = mapper.meta_amount(budget.amount, path)
        except MappingError:
            continue  # reported by _money
        days = 1
        if budget.period == "lifetime" and schedule.end_time is not None:
            days = max(1, math.ceil((schedule.end_time - schedule.start_time).total_seconds() / 86400))
        needed = daily_minimum * days
        if amount < needed:
            yield issue(
                path,
                f"Meta's minimum here is {_shown(needed, campaign.currency)} "
                f"({_shown(daily_minimum, campaign.currency)} a day)",
            )
        elif sharing > 1 and amount < needed * sharing:
            yield _warning(
                path,
                f"a campaign budget below {_shown(needed * sharing, campaign.currency)} may not cover the "
                f"daily minimum of each of its {sharing} ad sets",
            )


def _shown(meta_units: int, currency: str) -> str:
    return f"{mapper.from_meta_amount(meta_units, currency)} {currency}"


def _objective_and_goals(campaign: Campaign, target: MetaTarget) -> Iterator[ValidationIssue]:
    if campaign.objective is Objective.APP_PROMOTION:
        yield _error(
            "objective",
            "app promotion on Meta needs the app's id and store URL (promoted_object), which adrelay's "
            "campaign does not carry",
        )
        return
    meta_objective = mapper.objective(campaign)
    for i, ad_set in enumerate(campaign.ad_sets):
        goal = mapper.optimization_goal(campaign, ad_set)
        if not mapper.goal_allowed(campaign, ad_set):
            allowed = ", ".join(sorted(mapper.OBJECTIVE_GOALS[meta_objective]))
            yield _error(
                f"ad_sets[{i}].optimization_goal",
                f"Meta's {meta_objective} does not take the goal {goal} (allowed: {allowed})",
            )
            continue
        if goal in mapper.PIXEL_GOALS:
            if target.pixel_id is None:
                yield _error(
                    f"ad_sets[{i}].optimization_goal",
                    f"{goal} on Meta needs a pixel: set pixel_id on the Meta target",
                )
            if mapper.conversion_event(campaign, ad_set) is None:
                yield _error(
                    f"ad_sets[{i}].conversion_event",
                    "conversion optimization on Meta needs a conversion event",
                )


def _bidding(campaign: Campaign) -> Iterator[ValidationIssue]:
    if campaign.budget_level != "campaign":
        return
    first = campaign.ad_sets[0].bid_strategy
    for i, ad_set in enumerate(campaign.ad_sets[1:], start=1):
        if ad_set.bid_strategy is not first:
            yield _error(
                f"ad_sets[{i}].bid_strategy",
                "with a campaign budget Meta sets one bid strategy on the campaign: every ad set must use "
                f"{first.value}",
            )


def _targeting(campaign: Campaign) -> Iterator[ValidationIssue]:
    regulated = NO_DEMOGRAPHICS & set(campaign.special_ad_categories)
    for i, ad_set in enumerate(campaign.ad_sets):
        targeting = ad_set.targeting
        path = f"ad_sets[{i}].targeting"
        if targeting.languages:
            yield _warning(
                f"{path}.languages",
                "languages are not sent to Meta (it needs numeric locale ids); all languages",
            )
        if regulated and not targeting.is_default_demographics:
            yield _warning(
                path,
                "Meta does not allow age or gender targeting for credit, employment and housing ads "
                "(ages 18-65, all genders)",
            )
        if "TH" in targeting.countries and targeting.age_min < 20:
            yield _warning(f"{path}.age_min", "Meta requires age_min of at least 20 for Thailand")
        if EU_COUNTRIES & set(targeting.countries):
            yield _warning(
                f"{path}.countries",
                "ad sets reaching the EU need a DSA beneficiary and payer: set the ad account's defaults",
            )


def _creatives(campaign: Campaign) -> Iterator[ValidationIssue]:
    for i, ad_set in enumerate(campaign.ad_sets):
        for j, ad in enumerate(ad_set.ads):
            creative = ad.creative
            path = f"ad_sets[{i}].ads[{j}].creative"
            if len(creative.primary_text) > PRIMARY_TEXT_SHOWN:
                yield _warning(
                    f"{path}.primary_text",
                    f"Meta shows about {PRIMARY_TEXT_SHOWN} characters before truncating",
                )
            if len(creative.headline) > HEADLINE_SHOWN:
                yield _warning(
                    f"{path}.headline", f"Meta shows about {HEADLINE_SHOWN} characters before truncating"
                )
            if creative.display_name:
                yield _warning(f"{path}.display_name", "not used on Meta: ads show the Page's name")


def _media(campaign: Campaign) -> Iterator[ValidationIssue]:
    for i, asset in enumerate(campaign.media):
        path = f"media[{i}]"
        if not ASPECT_MIN - 0.01 <= asset.aspect_ratio <= ASPECT_MAX + 0.01:
            yield _warning(
                f"{path}.width", f"aspect ratio {asset.width}:{asset.height} is outside Meta's 9:16 to 1.91:1"
            )
        if asset.kind is MediaKind.IMAGE:
            if asset.size_bytes > IMAGE_MAX_BYTES:
                yield _warning(f"{path}.size_bytes", "Meta's image limit is 30 MB")
            if asset.width < IMAGE_MIN_WIDTH:
                yield _warning(
                    f"{path}.width", f"Meta recommends images at least {IMAGE_MIN_WIDTH} pixels wide"
                )
        elif asset.duration_s is not None and asset.duration_s > VIDEO_MAX_S:
            yield _error(f"{path}.duration_s", "Meta's video ads run at most 241 minutes")
