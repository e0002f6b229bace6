"""Platform state beyond the object store: apps, advertisers, tokens, auth codes, identities, pixels,
locations, currencies, subscriptions, file bytes, request_id windows and report tasks.

Campaigns, ad groups, ads, images and videos live in the common `ObjectStore` (so `/_sandbox/objects`
shows them); everything here is saved through `extra_state()` for the state file.
"""

from __future__ import annotations

import base64
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.tiktok.delivery import Interval, set_active, spans
from sandbox.tiktok.geo import Location, default_locations
from sandbox.tiktok.money import Currency, default_currency


@dataclass
class App:
    app_id: str
    secret: str
    name: str = "adrelay"
    scope: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])


@dataclass
class Advertiser:
    advertiser_id: str
    name: str
    currency: str = "USD"
    timezone: str = "Etc/GMT"
    display_timezone: str = ""
    status: str = "STATUS_ENABLE"
    balance: str = "10000.00"  # decimal string, major units
    budget_ratio: str | None = None  # overrides the currency's ratio
    company: str = "adrelay test company"
    country: str = "US"
    create_time: int = field(default_factory=lambda: int(time.time()))
    # When it could spend (funded and STATUS_ENABLE); see delivery.py.
    active: list[Interval] = field(default_factory=list)

    def funded(self) -> bool:
        return Decimal(self.balance) > 0 and self.status == "STATUS_ENABLE"

    def refresh_active(self, now: float) -> None:
        set_active(self.active, self.funded(), now)

    def tz(self) -> str:
        return self.display_timezone or self.timezone


@dataclass
class Token:
    access_token: str
    app_id: str
    advertiser_ids: list[str]
    scope: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    created_at: float = field(default_factory=time.time)
    expires_at: float | None = None  # long-term tokens do not expire; a seed may set one
    revoked: bool = False


@dataclass
class AuthCode:
    auth_code: str
    app_id: str
    advertiser_ids: list[str]
    access_token: str | None = None
    created_at: float = field(default_factory=time.time)
    used: bool = False


@dataclass
class Identity:
    identity_id: str
    identity_type: str
    advertiser_id: str
    display_name: str
    identity_authorized_bc_id: str | None = None
    profile_image: str = ""


@dataclass
class Pixel:
    pixel_id: str
    advertiser_id: str
    pixel_name: str = "adrelay pixel"
    pixel_code: str = ""


@dataclass
class Subscription:
    subscription_id: str
    app_id: str
    subscribe_entity: str
    callback_url: str
    subscription_detail: dict[str, Any]
    create_time: float = field(default_factory=time.time)


@dataclass
class ReportTask:
    task_id: str
    advertiser_id: str
    params: dict[str, Any]
    created_at: float
    ready_at: float


_TABLES: dict[str, Any] = {
    "apps": App,
    "advertisers": Advertiser,
    "tokens": Token,
    "auth_codes": AuthCode,
    "identities": Identity,
    "pixels": Pixel,
    "subscriptions": Subscription,
    "report_tasks": ReportTask,
}


class TikTokState:
    """Everything the TikTok sandbox knows besides platform objects."""

    def __init__(self) -> None:
        self.apps: dict[str, App] = {}
        self.advertisers: dict[str, Advertiser] = {}
        self.tokens: dict[str, Token] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.identities: dict[str, Identity] = {}
        self.pixels: dict[str, Pixel] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.report_tasks: dict[str, ReportTask] = {}
        self.locations: dict[str, Location] = default_locations()
        self.currencies: dict[str, Currency] = {}
        self.blobs: dict[str, bytes] = {}  # file bytes by image_id / video_id
        self.request_ids: dict[tuple[str, str, str], float] = {}  # (advertiser, endpoint, request_id) → time

    def currency_of(self, advertiser: Advertiser) -> Currency:
        base = self.currencies.get(advertiser.currency) or default_currency(advertiser.currency)
        if advertiser.budget_ratio is not None:
            return Currency(base.code, base.precision, Decimal(advertiser.budget_ratio))
        return base

    def advertiser_spans(self, advertiser_id: str) -> list[tuple[float, float]]:
        adv = self.advertisers.get(advertiser_id)
        return spans(adv.active) if adv else []

    # ---- state file ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: [asdict(v) for v in getattr(self, name).values()] for name in _TABLES}
        out["locations"] = [asdict(v) for v in self.locations.values()]
        out["currencies"] = [
            {"currency": c.code, "precision": c.precision, "budget_ratio": str(c.ratio)}
            for c in self.currencies.values()
        ]
        out["blobs"] = {k: base64.b64encode(v).decode() for k, v in self.blobs.items()}
        return out

    def load_json(self, raw: dict[str, Any]) -> None:
        for name, cls in _TABLES.items():
            key_field = next(iter(cls.__dataclass_fields__))
            table = {row[key_field]: cls(**row) for row in raw.get(name, [])}
            setattr(self, name, table)
        if raw.get("locations"):
            self.locations = {row["location_id"]: Location(**row) for row in raw["locations"]}
        self.currencies = {
            row["currency"]: Currency(row["currency"], int(row["precision"]), Decimal(row["budget_ratio"]))
            for row in raw.get("currencies", [])
        }
        self.blobs = {k: base64.b64decode(v) for k, v in raw.get("blobs", {}).items()}
