"""TikTok API for Business v1.3 sandbox (see app.py for the seed format, settings.py for switches)."""

from sandbox.tiktok.app import TikTokSandbox

__all__ = ["TikTokSandbox"]
