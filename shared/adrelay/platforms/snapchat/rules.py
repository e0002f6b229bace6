"""Snapchat's rules, checked before any write so that most refusals cost nothing. Pure: no I/O.

Errors block the publish; warnings are shown and do not. Sources as in platform-apis §3: budgets and
text limits [C]; the campaign spend-cap minimum, objective ↔ goal eligibility and top-snap media specs
are [S]/UNCONFIRMED (see each constant) and are enforced because the alternative is a half-built tree
refused by Snap and rolled back.
"""

from __future__ import annotations

from datetime import datetime

from adrelay.events.payloads import ValidationIssue
from adrelay.model import Campaign, MediaKind, Platform, SnapchatTarget
from adrelay.model.campaign import AdSet, MediaAsset, utc_now
from adrelay.platforms.auth import AccountStatus
from adrelay.platforms.snapchat import mapper
from adrelay.platforms.snapchat.mapper import Unmappable, micros

TAG_ROOM = len(" [ar00000000000000]")  # what tagged_name appends

# AccountStatus.minimums keys the Snapchat pre-flight may fill in (micro-currency).
AD_SQUAD_MINIMUM_KEY = "ad_squad_budget_micro"
CAMPAIGN_CAP_MINIMUM_KEY = "campaign_spend_cap_micro"
AD_SQUAD_MINIMUM_MICRO = 5_000_000  # "minimum 5 units in every currency" [C ad-squads doc]
# "$20/day" UNCONFIRMED [S]; the sandbox holds lifetime spend caps to the same floor (UNCONFIRMED too).
CAMPAIGN_CAP_MINIMUM_MICRO = 20_000_000

# Top-snap media: 9:16, at least 1080x1920; images PNG/JPEG up to 5 MB; videos MP4/MOV, 3-180 s,
# up to 1 GB. Snap's creative specs [S]; the sandbox enforces the image size and dimensions.
TOP_SNAP_WIDTH, TOP_SNAP_HEIGHT = 1080, 1920
ASPECT_TOLERANCE = 0.01
IMAGE_MAX_BYTES = 5 * 1024 * 1024
VIDEO_MAX_BYTES = 1024**3
VIDEO_MIN_S, VIDEO_MAX_S = 3.0, 180.0


class _Issues:
    def __init__(self) -> None:
        self.items: list[ValidationIssue] = []

    def error(self, path: str, message: str) -> None:
        self.items.append(ValidationIssue(path=path, message=message, platform=Platform.SNAPCHAT))

    def warning(self, path: str, message: str) -> None:
        self.items.append(
            ValidationIssue(path=path, message=message, platform=Platform.SNAPCHAT, severity="warning")
        )


def validate(
    campaign: Campaign,
    target: SnapchatTarget,
    account: AccountStatus | None = None,
    now: datetime | None = None,
) -> list[ValidationIssue]:
    issues = _Issues()
    now = now or utc_now()
    _campaign(campaign, account, now, issues)
    for index, ad_set in enumerate(campaign.ad_sets):
        _ad_set(campaign, index, ad_set, target, account, issues)
    _media(campaign, issues)
    return issues.items


# ---- campaign -----------------------------------------------------------------------------------
def _campaign(campaign: Campaign, account: AccountStatus | None, now: datetime, issues: _Issues) -> None:
    try:
        mapper.objective_v2(campaign)
    except Unmappable as exc:
        issues.error(exc.path, exc.message)
    if campaign.special_ad_categories:
        issues.error(
            "special_ad_categories",
            "Snapchat needs campaign regulations for regulated ads; their shape is not confirmed, so "
            "adrelay does not publish special ad categories to Snapchat",
        )
    _name(campaign.name, "name", issues)
    if account is not None and account.currency and account.currency != campaign.currency:
        issues.error(
            "budget.amount" if campaign.budget_level == "campaign" else "ad_sets[0].budget.amount",
            f"the Snapchat ad account spends {account.currency}; the campaign is in {campaign.currency}",
        )
    schedule = campaign.schedule
    if schedule.end_time is not None and schedule.end_time <= now:
        issues.error("schedule.end_time", "the campaign ends in the past")
    elif schedule.start_time < now:
        issues.warning("schedule.start_time", "the start is in the past: Snapchat starts delivery at once")
    budget = campaign.budget
    if campaign.budget_level == "campaign" and budget is not None:
        amount = micros(budget.amount)
        cap_min = _minimum(account, CAMPAIGN_CAP_MINIMUM_KEY, CAMPAIGN_CAP_MINIMUM_MICRO)
        if amount < cap_min:
            issues.error(
                "budget.amount",
                f"Snapchat's campaign {'daily' if budget.period == 'daily' else 'lifetime'} spend cap is at "
                f"least {_units(cap_min)} {campaign.currency}",
            )
        squad_min = _minimum(account, AD_SQUAD_MINIMUM_KEY, AD_SQUAD_MINIMUM_MICRO)
        if amount < squad_min:
            issues.error(
                "budget.amount",
                f"every Snapchat ad squad carries this budget and needs at least {_units(squad_min)} "
                f"{campaign.currency}",
            )


# ---- ad squads ----------------------------------------------------------------------------------
def _ad_set(
    campaign: Campaign,
    index: int,
    ad_set: AdSet,
    target: SnapchatTarget,
    account: AccountStatus | None,
    issues: _Issues,
) -> None:
    path = f"ad_sets[{index}]"
    _name(ad_set.name, f"{path}.name", issues)
    try:
        goal = mapper.optimization_goal(campaign, index, ad_set)
    except Unmappable as exc:
        if exc.path != "objective":  # reported once for the campaign
            issues.error(exc.path, exc.message)
    else:
        if mapper.needs_pixel(goal) and target.pixel_id is None:
            issues.error("targets.snapchat.pixel_id", f"{path}: optimization goal {goal} needs a Snap Pixel")
    if ad_set.budget is not None:
        minimum = _minimum(account, AD_SQUAD_MINIMUM_KEY, AD_SQUAD_MINIMUM_MICRO)
        if micros(ad_set.budget.amount) < minimum:
            issues.error(
                f"{path}.budget.amount",
                f"a Snapchat ad squad budget is at least {_units(minimum)} {ad_set.budget.amount.currency}",
            )
    budget = mapper.ad_squad_budget(campaign, ad_set)
    schedule = campaign.schedule_for(ad_set)
    if budget.period == "lifetime" and schedule.end_time is None:
        issues.error(f"{path}.schedule.end_time", "a lifetime budget on Snapchat needs an end time")
    if ad_set.schedule is not None:
        outer = campaign.schedule
        if ad_set.schedule.start_time < outer.start_time:
            issues.warning(
                f"{path}.schedule.start_time", "starts before the campaign: it waits for the campaign"
            )
        if outer.end_time is not None and (
            ad_set.schedule.end_time is None or ad_set.schedule.end_time > outer.end_time
        ):
            issues.warning(f"{path}.schedule.end_time", "ends after the campaign: it stops with the campaign")
    _targeting(ad_set, path, issues)
    for j, ad in enumerate(ad_set.ads):
        ad_path = f"{path}.ads[{j}]"
        _name(ad.name, f"{ad_path}.name", issues)
        _name(ad.creative.name, f"{ad_path}.creative.name", issues)
        _creative_text(ad.creative.headline, mapper.brand_name(ad, target), ad_path, target, issues)


def _targeting(ad_set: AdSet, path: str, issues: _Issues) -> None:
    spec = ad_set.targeting
    try:
        mapper.targeting(spec, f"{path}.targeting")
    except Unmappable as exc:
        issues.error(exc.path, exc.message)
    if len(spec.countries) > 1 and not spec.languages:
        issues.error(
            f"{path}.targeting.languages",
            "Snapchat needs a language when an ad squad targets several countries",
        )
    elif len(spec.countries) > 1 and len(spec.languages) > 1:
        issues.warning(
            f"{path}.targeting.languages",
            "Snapchat expects one language for multi-country ad squads (UNCONFIRMED whether more are refused)",
        )
    if mapper.OLDEST_AGE <= spec.age_max < 65:
        issues.warning(
            f"{path}.targeting.age_max",
            f"Snapchat's oldest age group is {mapper.OLDEST_AGE}+: everyone from {mapper.OLDEST_AGE} is targeted",
        )


def _creative_text(
    headline: str, brand: str | None, path: str, target: SnapchatTarget, issues: _Issues
) -> None:
    if len(headline) > mapper.HEADLINE_MAX:
        issues.error(
            f"{path}.creative.headline",
            f"Snapchat headlines are at most {mapper.HEADLINE_MAX} characters (this one has {len(headline)})",
        )
    if target.profile_id is None:
        if brand is None:
            issues.error(f"{path}.creative.display_name", "Snapchat needs a brand name or a public profile")
        elif len(brand) > mapper.BRAND_NAME_MAX:
            issues.error(
                f"{path}.creative.display_name",
                f"Snapchat brand names are at most {mapper.BRAND_NAME_MAX} characters (this one has {len(brand)})",
            )


def _name(name: str, path: str, issues: _Issues) -> None:
    if len(name) + TAG_ROOM > mapper.NAME_MAX:
        issues.warning(path, f"shortened to fit Snapchat's {mapper.NAME_MAX} characters with adrelay's tag")


# ---- media --------------------------------------------------------------------------------------
def _media(campaign: Campaign, issues: _Issues) -> None:
    used = {ad.creative.media_id for _, ad in campaign.ads()}
    for index, asset in enumerate(campaign.media):
        if asset.id in used:
            _top_snap(asset, f"media[{index}]", issues)


def _top_snap(asset: MediaAsset, path: str, issues: _Issues) -> None:
    if abs(asset.aspect_ratio - TOP_SNAP_WIDTH / TOP_SNAP_HEIGHT) > ASPECT_TOLERANCE:
        issues.error(f"{path}.width", f"Snapchat top snaps are 9:16 ({asset.width}x{asset.height} is not)")
    elif asset.width < TOP_SNAP_WIDTH or asset.height < TOP_SNAP_HEIGHT:
        issues.error(f"{path}.width", f"Snapchat top snaps are at least {TOP_SNAP_WIDTH}x{TOP_SNAP_HEIGHT}")
    if asset.kind is MediaKind.IMAGE:
        if asset.size_bytes > IMAGE_MAX_BYTES:
            issues.error(f"{path}.size_bytes", "Snapchat top-snap images are at most 5 MB")
        return
    if asset.size_bytes > VIDEO_MAX_BYTES:
        issues.error(f"{path}.size_bytes", "Snapchat top-snap videos are at most 1 GB")
    duration = asset.duration_s or 0.0
    if not VIDEO_MIN_S <= duration <= VIDEO_MAX_S:
        issues.error(
            f"{path}.duration_s", f"Snapchat top-snap videos last {VIDEO_MIN_S:g} to {VIDEO_MAX_S:g} seconds"
        )


# ---- helpers ------------------------------------------------------------------------------------
def _minimum(account: AccountStatus | None, key: str, default: int) -> int:
    if account is not None and key in account.minimums:
        return int(account.minimums[key])
    return default


def _units(amount_micro: int) -> str:
    whole, rest = divmod(amount_micro, mapper.MICROS_PER_UNIT)
    return str(whole) if rest == 0 else f"{whole}.{rest:06d}".rstrip("0")
