"""The campaign as adrelay's users describe it, independent of any platform.

campaign → ad sets → ads → creatives, with media assets referenced by URL, sha256, size and MIME
type (bytes never travel on Kafka). Limits here are adrelay's own sanity bounds; each platform's
stricter rules (text lengths, minimum budgets, aspect ratios) are checked by its rules module before
any platform call.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from adrelay.model.money import Money

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
Name = Annotated[str, Field(min_length=1, max_length=400)]

# ISO-3166-1 alpha-2 codes (officially assigned).
ISO3166_ALPHA2 = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
    BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET
    FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM
    IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD
    ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST
    SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS
    YE YT ZA ZM ZW""".split()
)


class Objective(StrEnum):
    """What the advertiser wants; each platform mapper turns it into that platform's objective."""

    AWARENESS = "awareness"
    TRAFFIC = "traffic"
    ENGAGEMENT = "engagement"
    LEADS = "leads"
    APP_PROMOTION = "app_promotion"
    SALES = "sales"
    VIDEO_VIEWS = "video_views"


class OptimizationGoal(StrEnum):
    """What an ad set optimizes delivery for; None on an ad set means the objective's default."""

    REACH = "reach"
    IMPRESSIONS = "impressions"
    LINK_CLICKS = "link_clicks"
    LANDING_PAGE_VIEWS = "landing_page_views"
    CONVERSIONS = "conversions"
    VIDEO_VIEWS = "video_views"
    LEADS = "leads"
    APP_INSTALLS = "app_installs"


class BidStrategy(StrEnum):
    LOWEST_COST = "lowest_cost"  # no bid: the platform spends the budget at the lowest cost
    BID_CAP = "bid_cap"  # a maximum bid
    COST_CAP = "cost_cap"  # a target average cost per result


class CallToAction(StrEnum):
    LEARN_MORE = "learn_more"
    SHOP_NOW = "shop_now"
    SIGN_UP = "sign_up"
    DOWNLOAD = "download"
    CONTACT_US = "contact_us"
    APPLY_NOW = "apply_now"
    BOOK_NOW = "book_now"
    ORDER_NOW = "order_now"
    WATCH_MORE = "watch_more"
    SUBSCRIBE = "subscribe"
    GET_OFFER = "get_offer"


class ConversionEvent(StrEnum):
    PURCHASE = "purchase"
    ADD_TO_CART = "add_to_cart"
    LEAD = "lead"
    COMPLETE_REGISTRATION = "complete_registration"
    INITIATE_CHECKOUT = "initiate_checkout"


class SpecialAdCategory(StrEnum):
    """Regulated categories (credit, employment, housing, politics) restrict targeting on platforms."""

    CREDIT = "credit"
    EMPLOYMENT = "employment"
    HOUSING = "housing"
    POLITICS = "politics"


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


IMAGE_MIME_TYPES = frozenset({"image/jpeg", "image/png"})
VIDEO_MIME_TYPES = frozenset({"video/mp4", "video/quicktime"})


class MediaAsset(BaseModel):
    """A media file by reference; publishers download it, check the sha256 and stream it up."""

    model_config = ConfigDict(frozen=True)

    id: Identifier
    kind: MediaKind
    url: AnyHttpUrl
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size_bytes: int = Field(gt=0, le=4 * 1024**3)
    mime_type: str
    width: int = Field(gt=0, le=20_000)
    height: int = Field(gt=0, le=20_000)
    duration_s: float | None = Field(default=None, gt=0, le=3600)
    cover_media_id: Identifier | None = Field(
        default=None, description="required for a video: its cover image"
    )
    file_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        if value.scheme not in {"http", "https"}:
            raise ValueError("media url must be http or https")
        return value

    @model_validator(mode="after")
    def _kind_consistent(self) -> MediaAsset:
        if self.kind is MediaKind.IMAGE:
            if self.mime_type not in IMAGE_MIME_TYPES:
                raise ValueError(f"image mime_type must be one of {sorted(IMAGE_MIME_TYPES)}")
            if self.duration_s is not None or self.cover_media_id is not None:
                raise ValueError("an image has no duration_s or cover_media_id")
        else:
            if self.mime_type not in VIDEO_MIME_TYPES:
                raise ValueError(f"video mime_type must be one of {sorted(VIDEO_MIME_TYPES)}")
            if self.duration_s is None:
                raise ValueError("a video needs duration_s")
            if self.cover_media_id is None:
                raise ValueError("a video needs cover_media_id (its cover image)")
        return self

    @property
    def aspect_ratio(self) -> float:
        return self.width / self.height


class Targeting(BaseModel):
    model_config = ConfigDict(frozen=True)

    countries: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(min_length=1, max_length=250)
    age_min: int = Field(default=18, ge=13, le=65)
    age_max: int = Field(default=65, ge=13, le=65)
    genders: list[Literal["male", "female"]] = Field(default_factory=list, description="empty = all")
    languages: list[Annotated[str, Field(pattern=r"^[a-z]{2}$")]] = Field(default_factory=list, max_length=50)

    @field_validator("countries")
    @classmethod
    def _iso_countries(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in ISO3166_ALPHA2]
        if unknown:
            raise ValueError(f"not ISO-3166 alpha-2 country codes: {unknown}")
        if len(set(value)) != len(value):
            raise ValueError("countries must not repeat")
        return value

    @model_validator(mode="after")
    def _age_range(self) -> Targeting:
        if self.age_min > self.age_max:
            raise ValueError("age_min must not exceed age_max")
        return self

    @property
    def is_default_demographics(self) -> bool:
        return self.age_min == 18 and self.age_max == 65 and len(set(self.genders)) != 1


class Schedule(BaseModel):
    model_config = ConfigDict(frozen=True)

    start_time: AwareDatetime
    end_time: AwareDatetime | None = None
    timezone: str = Field(default="UTC", description="IANA time zone the advertiser thinks in")

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _order(self) -> Schedule:
        if self.end_time is not None and self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self


class Budget(BaseModel):
    model_config = ConfigDict(frozen=True)

    period: Literal["daily", "lifetime"]
    amount: Money

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Money) -> Money:
        if value.amount_minor <= 0:
            raise ValueError("a budget must be positive")
        return value


class Creative(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: Identifier
    name: Name
    media_id: Identifier
    primary_text: Annotated[str, Field(min_length=1, max_length=2200)]
    headline: Annotated[str, Field(min_length=1, max_length=255)]
    description: Annotated[str, Field(max_length=1000)] | None = None
    call_to_action: CallToAction = CallToAction.LEARN_MORE
    landing_url: AnyHttpUrl
    display_name: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class Ad(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: Identifier
    name: Name
    creative: Creative


class AdSet(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: Identifier
    name: Name
    targeting: Targeting
    budget: Budget | None = None
    bid_strategy: BidStrategy = BidStrategy.LOWEST_COST
    bid_amount: Money | None = None
    optimization_goal: OptimizationGoal | None = None
    conversion_event: ConversionEvent | None = None
    schedule: Schedule | None = None
    ads: list[Ad] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _bid(self) -> AdSet:
        if self.bid_strategy is BidStrategy.LOWEST_COST and self.bid_amount is not None:
            raise ValueError("bid_amount applies to bid_cap and cost_cap only")
        if self.bid_strategy is not BidStrategy.LOWEST_COST and self.bid_amount is None:
            raise ValueError(f"bid_strategy {self.bid_strategy.value} needs bid_amount")
        if self.bid_amount is not None and self.bid_amount.amount_minor <= 0:
            raise ValueError("bid_amount must be positive")
        return self


class Campaign(BaseModel):
    """One campaign to publish. Where the budget lives is explicit: `budget_level`."""

    model_config = ConfigDict(frozen=True)

    id: Identifier
    name: Name
    objective: Objective
    budget_level: Literal["campaign", "ad_set"]
    budget: Budget | None = None
    schedule: Schedule
    special_ad_categories: list[SpecialAdCategory] = Field(default_factory=list)
    media: list[MediaAsset] = Field(min_length=1, max_length=200)
    ad_sets: list[AdSet] = Field(min_length=1, max_length=50)
    utm_parameters: dict[str, Annotated[str, Field(max_length=200)]] = Field(
        default_factory=dict, max_length=20
    )

    @model_validator(mode="after")
    def _consistent(self) -> Campaign:
        if self.budget_level == "campaign":
            if self.budget is None:
                raise ValueError("budget_level 'campaign' needs a campaign budget")
            owners = [s.id for s in self.ad_sets if s.budget is not None]
            if owners:
                raise ValueError(f"budget_level 'campaign': ad sets must not carry budgets ({owners})")
        else:
            if self.budget is not None:
                raise ValueError("budget_level 'ad_set': the campaign must not carry a budget")
            missing = [s.id for s in self.ad_sets if s.budget is None]
            if missing:
                raise ValueError(f"budget_level 'ad_set': ad sets without a budget: {missing}")
        self._check_ids()
        self._check_media()
        self._check_currency()
        self._check_lifetime_budgets()
        return self

    def _check_ids(self) -> None:
        seen: set[str] = set()
        for kind, ident in self._all_ids():
            key = f"{kind}:{ident}"
            if key in seen:
                raise ValueError(f"duplicate {kind} id {ident!r}")
            seen.add(key)

    def _all_ids(self) -> list[tuple[str, str]]:
        ids = [("media", m.id) for m in self.media] + [("ad_set", s.id) for s in self.ad_sets]
        for ad_set in self.ad_sets:
            ids += [("ad", a.id) for a in ad_set.ads] + [("creative", a.creative.id) for a in ad_set.ads]
        return ids

    def _check_media(self) -> None:
        media = {m.id: m for m in self.media}
        for asset in self.media:
            if asset.cover_media_id is not None:
                cover = media.get(asset.cover_media_id)
                if cover is None or cover.kind is not MediaKind.IMAGE:
                    raise ValueError(
                        f"video {asset.id!r}: cover {asset.cover_media_id!r} is not an image here"
                    )
        for ad_set in self.ad_sets:
            for ad in ad_set.ads:
                if ad.creative.media_id not in media:
                    raise ValueError(
                        f"creative {ad.creative.id!r} uses unknown media {ad.creative.media_id!r}"
                    )

    def _check_currency(self) -> None:
        amounts = [b.amount for b in [self.budget] if b is not None]
        for ad_set in self.ad_sets:
            amounts += [m for m in (ad_set.budget.amount if ad_set.budget else None, ad_set.bid_amount) if m]
        currencies = {m.currency for m in amounts}
        if len(currencies) > 1:
            raise ValueError(f"one currency per campaign, got {sorted(currencies)}")

    def _check_lifetime_budgets(self) -> None:
        budgets = [(self.budget, self.schedule)] + [
            (s.budget, s.schedule or self.schedule) for s in self.ad_sets
        ]
        for budget, schedule in budgets:
            if budget is not None and budget.period == "lifetime" and schedule.end_time is None:
                raise ValueError("a lifetime budget needs a schedule end_time")

    @property
    def currency(self) -> str:
        if self.budget is not None:
            return self.budget.amount.currency
        first = self.ad_sets[0].budget
        assert first is not None  # guaranteed by _consistent
        return first.amount.currency

    def media_by_id(self) -> dict[str, MediaAsset]:
        return {m.id: m for m in self.media}

    def ads(self) -> list[tuple[AdSet, Ad]]:
        return [(ad_set, ad) for ad_set in self.ad_sets for ad in ad_set.ads]

    def schedule_for(self, ad_set: AdSet) -> Schedule:
        return ad_set.schedule or self.schedule


def utc_now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)
