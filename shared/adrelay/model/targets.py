"""Where a campaign goes: per platform, the connection to use and the identities a real publish needs."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adrelay.model.campaign import Identifier


class Platform(StrEnum):
    META = "meta"
    TIKTOK = "tiktok"
    SNAPCHAT = "snapchat"


ExternalId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


class _Target(BaseModel):
    model_config = ConfigDict(frozen=True)

    connection_id: Identifier = Field(description="the platform connection (token holder) to publish with")


class MetaTarget(_Target):
    platform: Literal[Platform.META] = Platform.META
    ad_account_id: Annotated[str, Field(pattern=r"^act_[0-9]{1,20}$")]
    page_id: Annotated[str, Field(pattern=r"^[0-9]{1,25}$")]
    instagram_account_id: Annotated[str, Field(pattern=r"^[0-9]{1,25}$")] | None = None
    pixel_id: Annotated[str, Field(pattern=r"^[0-9]{1,25}$")] | None = None

    @property
    def account_id(self) -> str:
        return self.ad_account_id


class TikTokTarget(_Target):
    platform: Literal[Platform.TIKTOK] = Platform.TIKTOK
    advertiser_id: Annotated[str, Field(pattern=r"^[0-9]{1,25}$")]
    identity_id: ExternalId
    identity_type: Literal["CUSTOMIZED_USER", "AUTH_CODE", "TT_USER", "BC_AUTH_TT"] = "CUSTOMIZED_USER"
    pixel_id: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,40}$")] | None = None

    @property
    def account_id(self) -> str:
        return self.advertiser_id


class SnapchatTarget(_Target):
    platform: Literal[Platform.SNAPCHAT] = Platform.SNAPCHAT
    ad_account_id: Annotated[str, Field(pattern=r"^[0-9a-f-]{36}$")]
    profile_id: Annotated[str, Field(pattern=r"^[0-9a-f-]{36}$")] | None = None
    brand_name: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    pixel_id: Annotated[str, Field(pattern=r"^[0-9a-f-]{36}$")] | None = None

    @property
    def account_id(self) -> str:
        return self.ad_account_id

    @model_validator(mode="after")
    def _identity(self) -> SnapchatTarget:
        if self.profile_id is None and self.brand_name is None:
            raise ValueError("a Snapchat target needs profile_id (public profile) or brand_name")
        return self


PlatformTarget = Annotated[MetaTarget | TikTokTarget | SnapchatTarget, Field(discriminator="platform")]


class PartialFailurePolicy(StrEnum):
    ROLLBACK = "rollback"  # any platform failed → delete what every platform created
    KEEP_SUCCESSFUL = "keep_successful"  # keep what succeeded; the failed platform can be retried alone


class GoLivePolicy(StrEnum):
    ACTIVATE_WHEN_ALL_SUCCEEDED = "activate_when_all_succeeded"
    KEEP_PAUSED = "keep_paused"
