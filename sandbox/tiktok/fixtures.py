"""A complete seed for the demo and for other components' tests: one app, one USD advertiser, one
unused auth code and one long-term token, a CUSTOMIZED_USER identity and a pixel.

Post it with `POST /_sandbox/seed` (body = `demo_seed()`); the constants are what clients configure.
`media` helpers make small valid PNG / MP4 files the sandbox accepts (it reads their headers).
"""

from __future__ import annotations

from typing import Any

from sandbox.tiktok.media import jpeg_header, mp4_bytes, png_bytes

APP_ID = "7300000000000000001"
APP_SECRET = "adrelay-demo-tiktok-app-secret-0001"
ADVERTISER_ID = "7300000000000000101"
ADVERTISER_NAME = "adrelay demo advertiser (USD)"
ADVERTISER_CURRENCY = "USD"
ADVERTISER_TIMEZONE = "America/New_York"
ACCESS_TOKEN = "ttdemo0000000000000000000000000000000001"
AUTH_CODE = "ttdemoauthcode00000000000000000000000001"
AUTH_CODE_TOKEN = "ttdemo0000000000000000000000000000000002"
IDENTITY_ID = "7300000000000000201"
IDENTITY_DISPLAY_NAME = "adrelay"
PIXEL_ID = "7300000000000000301"
US_LOCATION_ID = "6252001"

__all__ = [
    "ACCESS_TOKEN",
    "ADVERTISER_ID",
    "APP_ID",
    "APP_SECRET",
    "AUTH_CODE",
    "IDENTITY_ID",
    "PIXEL_ID",
    "US_LOCATION_ID",
    "demo_seed",
    "jpeg_header",
    "mp4_bytes",
    "png_bytes",
]


def demo_seed() -> dict[str, Any]:
    return {
        "apps": [{"app_id": APP_ID, "secret": APP_SECRET, "name": "adrelay demo"}],
        "advertisers": [
            {
                "advertiser_id": ADVERTISER_ID,
                "name": ADVERTISER_NAME,
                "currency": ADVERTISER_CURRENCY,
                "timezone": ADVERTISER_TIMEZONE,
                "status": "STATUS_ENABLE",
                "balance": 10000.0,
                "country": "US",
            }
        ],
        "tokens": [{"access_token": ACCESS_TOKEN, "app_id": APP_ID, "advertiser_ids": [ADVERTISER_ID]}],
        "auth_codes": [
            {
                "auth_code": AUTH_CODE,
                "app_id": APP_ID,
                "advertiser_ids": [ADVERTISER_ID],
                "access_token": AUTH_CODE_TOKEN,
            }
        ],
        "identities": [
            {
                "identity_id": IDENTITY_ID,
                "identity_type": "CUSTOMIZED_USER",
                "advertiser_id": ADVERTISER_ID,
                "display_name": IDENTITY_DISPLAY_NAME,
            }
        ],
        "pixels": [
            {"pixel_id": PIXEL_ID, "advertiser_id": ADVERTISER_ID, "pixel_name": "adrelay demo pixel"}
        ],
    }
