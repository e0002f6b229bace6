"""The campaign model's own rules: money, budgets, media references, targeting, schedule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from adrelay.model import Campaign, Money, SnapchatTarget
from tests.support.samples import campaign_dict


def test_money_is_exact_minor_units() -> None:
    assert Money.of("20.00", "USD").amount_minor == 2000
    assert Money.of(5000, "JPY").amount_minor == 5000
    assert Money.of("1.234", "KWD").amount_minor == 1234
    assert Money(amount_minor=1999, currency="USD").major == Decimal("19.99")


def test_money_refuses_more_decimals_than_the_currency_has() -> None:
    with pytest.raises(ValueError, match="more decimals"):
        Money.of("10.5", "JPY")


def test_money_refuses_unknown_currencies_and_negative_amounts() -> None:
    with pytest.raises(ValidationError):
        Money(amount_minor=100, currency="XXX")
    with pytest.raises(ValidationError):
        Money(amount_minor=-1, currency="USD")


def test_sample_campaign_is_valid() -> None:
    campaign = Campaign.model_validate(campaign_dict())
    assert campaign.currency == "USD"
    assert len(campaign.ads()) == 4


def test_budget_level_campaign_forbids_ad_set_budgets() -> None:
    data = campaign_dict()
    data["budget_level"] = "campaign"
    data["budget"] = {"period": "daily", "amount": {"amount_minor": 10000, "currency": "USD"}}
    with pytest.raises(ValidationError, match="ad sets must not carry budgets"):
        Campaign.model_validate(data)


def test_budget_level_ad_set_needs_every_ad_set_budget() -> None:
    data = campaign_dict()
    del data["ad_sets"][1]["budget"]
    with pytest.raises(ValidationError, match="ad sets without a budget"):
        Campaign.model_validate(data)


def test_one_currency_per_campaign() -> None:
    data = campaign_dict()
    data["ad_sets"][1]["budget"]["amount"]["currency"] = "EUR"
    with pytest.raises(ValidationError, match="one currency per campaign"):
        Campaign.model_validate(data)


def test_creatives_must_reference_known_media_and_videos_need_an_image_cover() -> None:
    data = campaign_dict()
    data["ad_sets"][0]["ads"][0]["creative"]["media_id"] = "nope"
    with pytest.raises(ValidationError, match="unknown media"):
        Campaign.model_validate(data)
    data = campaign_dict()
    data["media"][2]["cover_media_id"] = "vid-1"
    with pytest.raises(ValidationError, match="is not an image"):
        Campaign.model_validate(data)


def test_targeting_uses_iso_countries_and_a_sane_age_range() -> None:
    data = campaign_dict()
    data["ad_sets"][0]["targeting"]["countries"] = ["UK"]
    with pytest.raises(ValidationError, match="not ISO-3166"):
        Campaign.model_validate(data)
    data = campaign_dict()
    data["ad_sets"][0]["targeting"]["age_min"] = 50
    data["ad_sets"][0]["targeting"]["age_max"] = 30
    with pytest.raises(ValidationError, match="age_min must not exceed age_max"):
        Campaign.model_validate(data)


def test_schedule_needs_zones_and_order_and_lifetime_budgets_need_an_end() -> None:
    data = campaign_dict()
    data["schedule"]["start_time"] = "2030-01-01T00:00:00"
    with pytest.raises(ValidationError, match="timezone"):
        Campaign.model_validate(data)
    data = campaign_dict()
    del data["schedule"]["end_time"]
    data["ad_sets"][0]["budget"]["period"] = "lifetime"
    with pytest.raises(ValidationError, match="lifetime budget needs a schedule end_time"):
        Campaign.model_validate(data)


def test_absurd_values_are_refused() -> None:
    data = campaign_dict()
    data["name"] = "x" * (10 * 1024 * 1024)
    with pytest.raises(ValidationError, match="at most 400 characters"):
        Campaign.model_validate(data)
    data = campaign_dict()
    data["ad_sets"][0]["budget"]["amount"]["amount_minor"] = -500
    with pytest.raises(ValidationError):
        Campaign.model_validate(data)


def test_snapchat_target_needs_a_profile_or_a_brand_name() -> None:
    with pytest.raises(ValidationError, match="profile_id"):
        SnapchatTarget(connection_id="c", ad_account_id="8f0e9a2e-5a41-4c0e-9d4c-1f2e3d4c5b6a")
