"""Snapchat Marketing API: client, error classification, mapper, rules, limits, adapter, reporting and auth.

`create_adapter` and `create_auth` are what `adrelay.platforms.registry` looks up; auth is imported only
when asked for, so the adapter never depends on the connections module's side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adrelay.model import Platform
from adrelay.platforms.http import Limiter, PlatformHttp
from adrelay.platforms.settings import PlatformSettings

if TYPE_CHECKING:
    from adrelay.platforms.auth import PlatformAuth
    from adrelay.platforms.snapchat.adapter import SnapchatAdapter
    from adrelay.platforms.snapchat.reporting import SnapchatReporting

__all__ = ["create_adapter", "create_auth", "create_reporting"]


def create_adapter(settings: PlatformSettings, limiter: Limiter) -> SnapchatAdapter:
    from adrelay.platforms.snapchat.adapter import SnapchatAdapter

    return SnapchatAdapter(settings, limiter)


def create_reporting(settings: PlatformSettings, limiter: Limiter) -> SnapchatReporting:
    """Stats for the tracker, over a client of its own (same limits, same error classification)."""
    from adrelay.platforms.snapchat.client import SnapClient
    from adrelay.platforms.snapchat.limits import SnapLimits
    from adrelay.platforms.snapchat.reporting import SnapchatReporting

    http = PlatformHttp(
        Platform.SNAPCHAT, settings.snapchat.api_url, timeout_s=settings.http_timeout_s, limiter=limiter
    )
    return SnapchatReporting(SnapClient(http, SnapLimits(settings.snapchat, limiter)))


def create_auth(settings: PlatformSettings, limiter: Limiter) -> PlatformAuth:
    """The connections module's side of Snapchat (OAuth2 with refresh), written in `auth.py`."""
    from adrelay.platforms.snapchat.auth import SnapchatAuth

    return SnapchatAuth(settings, limiter)
