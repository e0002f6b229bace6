"""The three platforms' adapters and auth modules, by platform."""

from __future__ import annotations

import importlib

from adrelay.model import Platform
from adrelay.platforms.auth import PlatformAuth
from adrelay.platforms.base import PlatformAdapter
from adrelay.platforms.http import Limiter
from adrelay.platforms.settings import PlatformSettings


def adapter_for(platform: Platform, settings: PlatformSettings, limiter: Limiter) -> PlatformAdapter:
    module = importlib.import_module(f"adrelay.platforms.{platform.value}")
    adapter: PlatformAdapter = module.create_adapter(settings, limiter)
    return adapter


def auth_for(platform: Platform, settings: PlatformSettings, limiter: Limiter | None = None) -> PlatformAuth:
    module = importlib.import_module(f"adrelay.platforms.{platform.value}")
    auth: PlatformAuth = module.create_auth(settings, limiter or Limiter())
    return auth
