"""Meta Marketing API: client, error classification, mapper, rules, limits, adapter and auth."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adrelay.platforms.http import Limiter
from adrelay.platforms.meta.adapter import MetaAdapter
from adrelay.platforms.meta.client import MetaClient
from adrelay.platforms.meta.reporting import MetaReporting
from adrelay.platforms.settings import PlatformSettings

if TYPE_CHECKING:
    from adrelay.platforms.auth import PlatformAuth

__all__ = ["MetaAdapter", "MetaReporting", "create_adapter", "create_auth", "create_reporting"]


def create_adapter(settings: PlatformSettings, limiter: Limiter) -> MetaAdapter:
    return MetaAdapter(settings, limiter)


def create_reporting(settings: PlatformSettings, limiter: Limiter) -> MetaReporting:
    """Insights for the tracker, over a client of its own."""
    return MetaReporting(MetaClient(settings.meta, limiter, timeout_s=settings.http_timeout_s))


def create_auth(settings: PlatformSettings, limiter: Limiter) -> PlatformAuth:
    """The connections module's side of Meta; imported here, on first use, so the adapter never
    depends on it."""
    from adrelay.platforms.meta.auth import MetaAuth

    return MetaAuth(settings, limiter)
