"""Snapchat Marketing API: client, error classification, mapper, adapter and auth."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adrelay.platforms.http import Limiter
from adrelay.platforms.settings import PlatformSettings

if TYPE_CHECKING:
    from adrelay.platforms.auth import PlatformAuth
    from adrelay.platforms.snapchat.adapter import SnapchatAdapter


def create_adapter(settings: PlatformSettings, limiter: Limiter) -> SnapchatAdapter:
    from adrelay.platforms.snapchat.adapter import SnapchatAdapter

    return SnapchatAdapter(settings, limiter)


def create_auth(settings: PlatformSettings, limiter: Limiter) -> PlatformAuth:
    """The connections module's Snapchat auth (OAuth2 with refresh), written in `auth.py`."""
    from adrelay.platforms.snapchat.auth import SnapchatAuth  # type: ignore[import-not-found,unused-ignore]

    auth: PlatformAuth = SnapchatAuth(settings, limiter)
    return auth
