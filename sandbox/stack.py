"""adrelay pointed at the three sandboxes: the environment its services need, the demo accounts'
seeds, what a person brings to connect each account, and the publish targets for them.

Used by `make demo` and by the end-to-end tests, so both run the product exactly as configured for
real platforms except for the hosts and app credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.meta import fixtures as meta
from sandbox.snapchat import fixtures as snap
from sandbox.tiktok import fixtures as tiktok


@dataclass(frozen=True)
class SandboxUrls:
    meta: str
    tiktok: str
    snapchat: str

    @classmethod
    def local(
        cls, meta_port: int = 18081, tiktok_port: int = 18082, snapchat_port: int = 18083
    ) -> SandboxUrls:
        return cls(
            f"http://127.0.0.1:{meta_port}",
            f"http://127.0.0.1:{tiktok_port}",
            f"http://127.0.0.1:{snapchat_port}",
        )

    def by_platform(self) -> dict[str, str]:
        return {"meta": self.meta, "tiktok": self.tiktok, "snapchat": self.snapchat}


def service_env(urls: SandboxUrls) -> dict[str, str]:
    """Platform hosts and app credentials for the services (the real hosts are the defaults)."""
    return {
        "ADRELAY_META_GRAPH_URL": urls.meta,
        "ADRELAY_META_VIDEO_URL": urls.meta,
        "ADRELAY_META_APP_ID": meta.APP_ID,
        "ADRELAY_META_APP_SECRET": meta.APP_SECRET,
        "ADRELAY_TIKTOK_API_URL": urls.tiktok,
        "ADRELAY_TIKTOK_APP_ID": tiktok.APP_ID,
        "ADRELAY_TIKTOK_APP_SECRET": tiktok.APP_SECRET,
        "ADRELAY_SNAPCHAT_API_URL": urls.snapchat,
        "ADRELAY_SNAPCHAT_ACCOUNTS_URL": urls.snapchat,
        "ADRELAY_SNAPCHAT_CLIENT_ID": snap.DEMO_CLIENT_ID,
        "ADRELAY_SNAPCHAT_CLIENT_SECRET": snap.DEMO_CLIENT_SECRET,
        "ADRELAY_SNAPCHAT_REDIRECT_URI": snap.DEMO_REDIRECT_URI,
    }


# What a person brings to connect each demo account (POST /connections, `adrelay connections add`).
CONNECT: dict[str, dict[str, Any]] = {
    "meta": {
        "platform": "meta",
        "display_name": "Demo Meta ad account",
        "credentials": {"system_user_token": meta.SYSTEM_USER_TOKEN},
    },
    "tiktok": {
        "platform": "tiktok",
        "display_name": "Demo TikTok advertiser",
        "credentials": {"auth_code": tiktok.AUTH_CODE},
    },
    "snapchat": {
        "platform": "snapchat",
        "display_name": "Demo Snapchat ad account",
        "credentials": {"code": snap.DEMO_AUTH_CODE},
    },
}


def targets(connection_ids: dict[str, str]) -> list[dict[str, Any]]:
    """Publish targets for the demo accounts, given the connection id per platform."""
    return [
        {
            "platform": "meta",
            "connection_id": connection_ids["meta"],
            "ad_account_id": meta.AD_ACCOUNT_ID,
            "page_id": meta.PAGE_ID,
            "instagram_account_id": meta.INSTAGRAM_USER_ID,
            "pixel_id": meta.PIXEL_ID,
        },
        {
            "platform": "tiktok",
            "connection_id": connection_ids["tiktok"],
            "advertiser_id": tiktok.ADVERTISER_ID,
            "identity_id": tiktok.IDENTITY_ID,
            "identity_type": "CUSTOMIZED_USER",
            "pixel_id": tiktok.PIXEL_ID,
        },
        {
            "platform": "snapchat",
            "connection_id": connection_ids["snapchat"],
            "ad_account_id": snap.DEMO_AD_ACCOUNT_ID,
            "profile_id": snap.DEMO_PROFILE_ID,
        },
    ]


def seeds() -> dict[str, dict[str, Any]]:
    return {"meta": meta.demo_seed(), "tiktok": tiktok.demo_seed(), "snapchat": snap.demo_seed()}


def reset_and_seed(urls: SandboxUrls, config: dict[str, dict[str, Any]] | None = None) -> None:
    """Forget everything the sandboxes hold, apply `config` per platform, load the demo accounts."""
    with httpx.Client(timeout=10) as client:
        for platform, url in urls.by_platform().items():
            client.post(f"{url}/_sandbox/reset").raise_for_status()
            if config and platform in config:
                client.post(f"{url}/_sandbox/config", json=config[platform]).raise_for_status()
            client.post(f"{url}/_sandbox/seed", json=seeds()[platform]).raise_for_status()
