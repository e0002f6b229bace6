"""Where each platform lives and the app credentials adrelay uses there.

Defaults are the real hosts. The local runtime and the tests point them at the sandboxes; pointing
them back at the real platforms is this configuration and nothing else. App secrets come from the
environment (Kubernetes Secrets in production) and never appear in events or logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str, default: str = "") -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class MetaSettings:
    graph_url: str = field(
        default_factory=lambda: _env("ADRELAY_META_GRAPH_URL", "https://graph.facebook.com")
    )
    video_url: str = field(
        default_factory=lambda: _env("ADRELAY_META_VIDEO_URL", "https://graph-video.facebook.com")
    )
    api_version: str = field(default_factory=lambda: _env("ADRELAY_META_API_VERSION", "v25.0"))
    app_id: str = field(default_factory=lambda: _env("ADRELAY_META_APP_ID"))
    app_secret: str = field(default_factory=lambda: _env("ADRELAY_META_APP_SECRET"))
    webhook_verify_token: str = field(default_factory=lambda: _env("ADRELAY_META_WEBHOOK_VERIFY_TOKEN"))
    # Ad-account usage (percent) above which calls slow down, before Meta throttles.
    slow_down_at_pct: float = field(
        default_factory=lambda: float(_env("ADRELAY_META_SLOW_DOWN_AT_PCT", "75"))
    )
    # Local smoothing of calls per ad account and per app (Meta's hourly quotas depend on the access
    # tier; its usage headers decide). Raise them for an advanced-access app.
    account_rps: float = field(default_factory=lambda: float(_env("ADRELAY_META_ACCOUNT_RPS", "5")))
    account_burst: float = field(default_factory=lambda: float(_env("ADRELAY_META_ACCOUNT_BURST", "20")))
    app_rps: float = field(default_factory=lambda: float(_env("ADRELAY_META_APP_RPS", "50")))


@dataclass(frozen=True)
class TikTokSettings:
    api_url: str = field(
        default_factory=lambda: _env("ADRELAY_TIKTOK_API_URL", "https://business-api.tiktok.com")
    )
    app_id: str = field(default_factory=lambda: _env("ADRELAY_TIKTOK_APP_ID"))
    app_secret: str = field(default_factory=lambda: _env("ADRELAY_TIKTOK_APP_SECRET"))
    # Published per-app and per-endpoint limits (Basic tier); no headers tell them.
    app_qps: float = field(default_factory=lambda: float(_env("ADRELAY_TIKTOK_APP_QPS", "10")))
    ad_create_qps: float = field(default_factory=lambda: float(_env("ADRELAY_TIKTOK_AD_CREATE_QPS", "5")))


@dataclass(frozen=True)
class SnapchatSettings:
    api_url: str = field(
        default_factory=lambda: _env("ADRELAY_SNAPCHAT_API_URL", "https://adsapi.snapchat.com")
    )
    accounts_url: str = field(
        default_factory=lambda: _env("ADRELAY_SNAPCHAT_ACCOUNTS_URL", "https://accounts.snapchat.com")
    )
    client_id: str = field(default_factory=lambda: _env("ADRELAY_SNAPCHAT_CLIENT_ID"))
    client_secret: str = field(default_factory=lambda: _env("ADRELAY_SNAPCHAT_CLIENT_SECRET"))
    redirect_uri: str = field(default_factory=lambda: _env("ADRELAY_SNAPCHAT_REDIRECT_URI"))
    # Documented: 10 requests/s per token (20 per app), counted in one-second windows; no header
    # tells the token's remaining allowance. Paced at 8/s: a token bucket lets 1 + rate calls into any
    # second, and requests can bunch up on their way (uploads, queues), so 80 % never fills a window.
    token_rps: float = field(default_factory=lambda: float(_env("ADRELAY_SNAPCHAT_TOKEN_RPS", "8")))
    app_rps: float = field(default_factory=lambda: float(_env("ADRELAY_SNAPCHAT_APP_RPS", "19")))


@dataclass(frozen=True)
class PlatformSettings:
    meta: MetaSettings = field(default_factory=MetaSettings)
    tiktok: TikTokSettings = field(default_factory=TikTokSettings)
    snapchat: SnapchatSettings = field(default_factory=SnapchatSettings)
    http_timeout_s: float = field(default_factory=lambda: float(_env("ADRELAY_PLATFORM_TIMEOUT_S", "30")))
