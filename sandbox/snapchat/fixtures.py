"""Ready-made seeds for the Snapchat sandbox.

`demo_seed()` — one OAuth app, one organization, one funding source, one USD ad account in
America/Los_Angeles, an authorization code, an access + refresh token and a public profile; the ids
and credentials are the module constants below (the demo's client configuration uses them).

`recorded_seed()` — everything the recorded real traffic (`recorded/recorded_interactions.json`)
references, with the recorded ids and the recorded entity JSON, so each recorded request can be
replayed against the sandbox. The recorded test ad account accepted a 1,000,000-micro ad squad
budget, so its minimum is seeded at 1,000,000. Objects the recording only implies (the campaign of
ad squad 0853af89, ad squads 9eb3f716 / de16b229, the other ad account holding campaign 861cd1bc)
are synthesized in the recorded shape and marked as such below.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

RECORDED_DIR = Path(__file__).parent / "recorded"

# ---- demo ------------------------------------------------------------------------------------------
DEMO_CLIENT_ID = "7f3a2c1e-5b4d-4e8f-9a6b-0c1d2e3f4a5b"
DEMO_CLIENT_SECRET = "demo-snap-client-secret-4f9b2d7e1a"
DEMO_APP_ID = "1b6d8e2f-3c4a-4b5d-8e9f-a0b1c2d3e4f5"
DEMO_REDIRECT_URI = "https://localhost:8443/oauth/snapchat/callback"
DEMO_USER_ID = "2d7e9f10-8a1b-4c3d-9e5f-6a7b8c9d0e1f"
DEMO_ORG_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
DEMO_FUNDING_SOURCE_ID = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
DEMO_AD_ACCOUNT_ID = "9c8b7a6d-5e4f-4a3b-b2c1-d0e9f8a7b6c5"
DEMO_TIMEZONE = "America/Los_Angeles"
DEMO_CURRENCY = "USD"
DEMO_PROFILE_ID = "3f4e5d6c-7b8a-4a9b-8c0d-1e2f3a4b5c6d"
DEMO_AUTH_CODE = "demo-snap-auth-code-1"
DEMO_ACCESS_TOKEN = "demo-snap-access-token"
DEMO_REFRESH_TOKEN = "demo-snap-refresh-token"
DEMO_MIN_DAILY_BUDGET_MICRO = 5_000_000

# ---- recorded ----------------------------------------------------------------------------------------
RECORDED_ORG_ID = "14d6bf9e-353e-43dd-94a3-689231ca9dc0"
RECORDED_OTHER_ORG_ID = "a538d534-5112-4816-bcc1-9d98863d54ec"
RECORDED_AD_ACCOUNT_ID = "dbb95f66-4e45-46f0-9760-14ea841db3b4"
RECORDED_CLIENT_AD_ACCOUNT_ID = "6f1d2c3b-4a59-4e68-8d7c-0b1a2f3e4d5c"  # synthesized: holds campaign 861cd1bc
RECORDED_TIMEZONE = "Europe/Paris"  # the recorded DAY stats use +02:00 midnights in July
RECORDED_FUNDING_SOURCE_ID = "5b78b082-7a03-48fc-b524-a5af78c4596f"  # the org's USD line of credit
RECORDED_PROFILE_ID = "c9ba7b74-06a2-4ea2-8c05-355287355971"
RECORDED_APP_ID = "1debb989-3a6f-4cc7-aa9b-099c4c047eef"  # created_by_app_id in recorded PUT answers
RECORDED_USER_ID = "e905030e-0f40-4dba-a553-c903d4a352c7"  # created_by_user in recorded PUT answers
RECORDED_CLIENT_ID = "8a2f4c6e-1d3b-4e5f-9a7c-0b2d4f6a8c1e"  # the recording redacts it as <CLIENT_ID>
RECORDED_CLIENT_SECRET = "recorded-client-secret"  # <CLIENT_SECRET>
RECORDED_REFRESH_TOKEN = "recorded-refresh-token"  # <REFRESH_TOKEN>
RECORDED_ACCESS_TOKEN = "recorded-access-token"  # <ACCESS_TOKEN> / <REDACTED>
RECORDED_MIN_DAILY_BUDGET_MICRO = 1_000_000
PLACEHOLDERS = {
    "<CLIENT_ID>": RECORDED_CLIENT_ID,
    "<CLIENT_SECRET>": RECORDED_CLIENT_SECRET,
    "<REFRESH_TOKEN>": RECORDED_REFRESH_TOKEN,
}
SYNTHETIC_CAMPAIGN_OF_0853 = "c14cd226-1448-4e8d-b994-7e2fe620f7e7"  # id recorded; body synthesized
CLIENT_CAMPAIGN_ID = "861cd1bc-5d58-44f3-8794-4006796db177"  # id recorded; body synthesized
SYNTHETIC_SQUADS = ("9eb3f716-7e52-42b1-8006-12b0c153dc8f", "de16b229-4323-4176-9a5a-28078c1f5754")
ME_ONLY_ORG_KEYS = ("roles", "my_display_name", "my_invited_email", "my_member_id", "createdByCaller")


def demo_seed() -> dict[str, Any]:
    return {
        "apps": [
            {
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
                "redirect_uri": DEMO_REDIRECT_URI,
                "app_id": DEMO_APP_ID,
            }
        ],
        "users": [
            {
                "id": DEMO_USER_ID,
                "email": "ads-ops@adrelay.example",
                "display_name": "adrelay demo",
                "organization_id": DEMO_ORG_ID,
                "member_status": "MEMBER",
            }
        ],
        "organizations": [
            {
                "id": DEMO_ORG_ID,
                "name": "adrelay Demo Org",
                "country": "US",
                "postal_code": "94105",
                "locality": "San Francisco",
                "contact_name": "adrelay demo",
                "contact_email": "ads-ops@adrelay.example",
                "address_line_1": "1 Market St",
                "administrative_district_level_1": "US-CA",
                "accepted_term_version": "8",
                "type": "ENTERPRISE",
                "state": "ACTIVE",
                "me_fields": {
                    "roles": ["admin", "member"],
                    "my_display_name": "adrelay demo",
                    "createdByCaller": False,
                },
            }
        ],
        "funding_sources": [
            {
                "id": DEMO_FUNDING_SOURCE_ID,
                "organization_id": DEMO_ORG_ID,
                "type": "LINE_OF_CREDIT",
                "name": "Credit Account for adrelay Demo",
                "available_credit_micro": 50_000_000_000,
                "currency": DEMO_CURRENCY,
                "total_budget_micro": 50_000_000_000,
                "spending_limit_strategy": "PAYMENT_REPLENISHING_SPENDING_LIMIT",
                "status": "ACTIVE",
                "credit_account_type": "UNMANAGED",
                "budget_spent_micro": 0,
            }
        ],
        "ad_accounts": [
            {
                "id": DEMO_AD_ACCOUNT_ID,
                "organization_id": DEMO_ORG_ID,
                "name": "adrelay Demo US",
                "advertiser": "adrelay",
                "currency": DEMO_CURRENCY,
                "timezone": DEMO_TIMEZONE,
                "status": "ACTIVE",
                "funding_source_ids": [DEMO_FUNDING_SOURCE_ID],
                "min_daily_budget_micro": DEMO_MIN_DAILY_BUDGET_MICRO,
            }
        ],
        "tokens": [
            {
                "access_token": DEMO_ACCESS_TOKEN,
                "refresh_token": DEMO_REFRESH_TOKEN,
                "client_id": DEMO_CLIENT_ID,
                "user_id": DEMO_USER_ID,
                "organization_ids": [DEMO_ORG_ID],
            }
        ],
        "auth_codes": [
            {
                "code": DEMO_AUTH_CODE,
                "client_id": DEMO_CLIENT_ID,
                "redirect_uri": DEMO_REDIRECT_URI,
                "user_id": DEMO_USER_ID,
                "organization_ids": [DEMO_ORG_ID],
            }
        ],
        "public_profiles": [{"id": DEMO_PROFILE_ID, "ad_account_id": DEMO_AD_ACCOUNT_ID}],
    }


@cache
def recorded_interactions() -> list[dict[str, Any]]:
    """The 46 recorded request/response pairs (see recorded/PROVENANCE.md)."""
    data = json.loads((RECORDED_DIR / "recorded_interactions.json").read_text())
    return list(data["interactions"])


@cache
def recorded_supplement() -> dict[str, Any]:
    return dict(json.loads((RECORDED_DIR / "supplement.json").read_text()))


def _entity(index: int, plural: str, singular: str, position: int = 0) -> dict[str, Any]:
    body = recorded_interactions()[index]["response_body"]
    return copy.deepcopy(body[plural][position][singular])


def _all(index: int, plural: str, singular: str) -> list[dict[str, Any]]:
    body = recorded_interactions()[index]["response_body"]
    return [copy.deepcopy(item[singular]) for item in body[plural]]


def _organizations() -> list[dict[str, Any]]:
    me_view = _all(44, "organizations", "organization")
    get_view = _entity(45, "organizations", "organization")
    out = []
    for org in me_view:
        base = {k: v for k, v in org.items() if k not in ME_ONLY_ORG_KEYS}
        me_fields = {k: org[k] for k in ME_ONLY_ORG_KEYS if k in org}
        get_fields = {}
        if org["id"] == get_view["id"]:
            get_fields = {k: v for k, v in get_view.items() if k not in base}
        out.append({**base, "me_fields": me_fields, "get_fields": get_fields})
    return out


def _synthetic_campaign(
    template: dict[str, Any], campaign_id: str, name: str, account_id: str
) -> dict[str, Any]:
    campaign = copy.deepcopy(template)
    campaign.update({"id": campaign_id, "name": name, "ad_account_id": account_id})
    return campaign


def _synthetic_squad(template: dict[str, Any], squad_id: str, name: str) -> dict[str, Any]:
    squad = copy.deepcopy(template)
    squad.update({"id": squad_id, "name": name})
    return squad


def recorded_seed() -> dict[str, Any]:
    interactions = recorded_interactions()
    campaign_get = recorded_supplement()["campaign_get"]["campaigns"][0]["campaign"]
    squad_template = _entity(0, "adsquads", "adsquad")
    objects: dict[str, dict[str, Any]] = {}

    def add(kind: str, fields: dict[str, Any]) -> None:
        objects[fields["id"]] = {"kind": kind, "id": fields["id"], "fields": fields}

    # campaigns
    add("campaign", copy.deepcopy(campaign_get))
    add(
        "campaign",
        _synthetic_campaign(
            campaign_get, SYNTHETIC_CAMPAIGN_OF_0853, "Campaign of 0853af89", RECORDED_AD_ACCOUNT_ID
        ),
    )
    add(
        "campaign",
        _synthetic_campaign(
            campaign_get,
            CLIENT_CAMPAIGN_ID,
            "Bathroom remodel_US_Premier Home Pros",
            RECORDED_CLIENT_AD_ACCOUNT_ID,
        ),
    )
    add("campaign", _entity(26, "campaigns", "campaign"))
    put_request = interactions[32]["request_body"]["campaigns"][0]
    before_put = _entity(25, "campaigns", "campaign")
    before_put.update({"id": put_request["id"], "name": "Test Campaign"})
    add("campaign", before_put)
    # ad squads
    add("adsquad", _entity(16, "adsquads", "adsquad"))
    for squad in _all(20, "adsquads", "adsquad"):
        add("adsquad", squad)
    add("adsquad", squad_template)
    add("adsquad", _entity(14, "adsquads", "adsquad"))
    add("adsquad", _entity(21, "adsquads", "adsquad"))
    for squad_id in SYNTHETIC_SQUADS:
        add("adsquad", _synthetic_squad(squad_template, squad_id, f"Ad Squad {squad_id[:8]}"))
    # media and creatives
    for media in _all(41, "media", "media"):
        add("media", media)
    add("media", _entity(39, "media", "media"))
    add("media", _entity(42, "media", "media"))
    for creative in _all(35, "creatives", "creative"):
        add("creative", creative)
    add("creative", copy.deepcopy(interactions[36]["request_body"]["creatives"][0]))
    # ads
    add("ad", _entity(5, "ads", "ad"))
    add("ad", _entity(2, "ads", "ad"))
    add("ad", _entity(9, "ads", "ad"))
    return {
        "apps": [
            {
                "client_id": RECORDED_CLIENT_ID,
                "client_secret": RECORDED_CLIENT_SECRET,
                "redirect_uri": "https://localhost/callback",
                "app_id": RECORDED_APP_ID,
            }
        ],
        "users": [
            {"id": RECORDED_USER_ID, "email": "oleksandr.koval.ext@dolead.com", "display_name": "Alex"}
        ],
        "organizations": _organizations(),
        "funding_sources": _all(38, "fundingsources", "fundingsource"),
        "ad_accounts": [
            {
                "id": RECORDED_AD_ACCOUNT_ID,
                "organization_id": RECORDED_ORG_ID,
                "name": "Dolead Test Ad Account",
                "currency": "USD",
                "timezone": RECORDED_TIMEZONE,
                "status": "ACTIVE",
                "funding_source_ids": [RECORDED_FUNDING_SOURCE_ID],
                "min_daily_budget_micro": RECORDED_MIN_DAILY_BUDGET_MICRO,
                "test": True,  # delivery_status shows INVALID_TEST_ACCOUNT
            },
            {
                "id": RECORDED_CLIENT_AD_ACCOUNT_ID,
                "organization_id": RECORDED_ORG_ID,
                "name": "Premier Home Pros",
                "currency": "USD",
                "timezone": "America/New_York",
                "status": "ACTIVE",
                "funding_source_ids": [RECORDED_FUNDING_SOURCE_ID],
            },
        ],
        "tokens": [
            {
                "access_token": RECORDED_ACCESS_TOKEN,
                "refresh_token": RECORDED_REFRESH_TOKEN,
                "client_id": RECORDED_CLIENT_ID,
                "user_id": RECORDED_USER_ID,
                "organization_ids": [RECORDED_ORG_ID, RECORDED_OTHER_ORG_ID],
            }
        ],
        "public_profiles": [{"id": RECORDED_PROFILE_ID, "ad_account_id": RECORDED_AD_ACCOUNT_ID}],
        "objects": list(objects.values()),
    }
