"""TikTok API for Business v1.3: client, error classification, mapper, rules, adapter and auth.

`create_adapter` and `create_auth` are what `adrelay.platforms.registry` looks up; auth is imported only
when asked for, so the adapter works without the connections module and the other way round.
"""

from __future__ import annotations

from adrelay.platforms.auth import PlatformAuth
from adrelay.platforms.base import PlatformAdapter
from adrelay.platforms.http import Limiter
from adrelay.platforms.settings import PlatformSettings


def create_adapter(settings: PlatformSettings, limiter: Limiter) -> PlatformAdapter:
    from adrelay.platforms.tiktok.adapter import TikTokAdapter

    return TikTokAdapter(settings, limiter)


def create_auth(settings: PlatformSettings, limiter: Limiter) -> PlatformAuth:
    from adrelay.platforms.tiktok.auth import TikTokAuth

    return TikTokAuth(settings, limiter)
