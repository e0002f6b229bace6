"""A complete demo seed for the Meta sandbox, used by the demo and by other suites.

One app, one USD ad account in America/New_York, a non-expiring system-user token with
`ads_management`, a short-lived user token for the long-lived exchange, a Page, an Instagram account
and a pixel. The ids and tokens are module constants so callers can refer to them.
"""

from __future__ import annotations

from typing import Any

APP_ID = "1234567890123456"
APP_SECRET = "sandbox-app-secret-0123456789abcdef"
APP_ACCESS_TOKEN = f"{APP_ID}|{APP_SECRET}"
AD_ACCOUNT_NUMBER = "1000000000000001"
AD_ACCOUNT_ID = f"act_{AD_ACCOUNT_NUMBER}"
AD_ACCOUNT_CURRENCY = "USD"
AD_ACCOUNT_TIMEZONE = "America/New_York"
SYSTEM_USER_TOKEN = "EAASandboxSystemUserToken0000000000000000000000000000000000000000000000000001"
SHORT_LIVED_USER_TOKEN = "EAASandboxShortLivedUserToken000000000000000000000000000000000000000000000002"
USER_ID = "100000000000001"
SYSTEM_USER_ID = "100000000000002"
PAGE_ID = "200000000000001"
INSTAGRAM_USER_ID = "17841400000000001"
PIXEL_ID = "300000000000001"


def demo_seed() -> dict[str, Any]:
    return {
        "apps": [{"app_id": APP_ID, "app_secret": APP_SECRET, "name": "adrelay"}],
        "accounts": [
            {
                "id": AD_ACCOUNT_ID,
                "name": "adrelay demo",
                "currency": AD_ACCOUNT_CURRENCY,
                "timezone_name": AD_ACCOUNT_TIMEZONE,
                "account_status": 1,
                "disable_reason": 0,
                "business_name": "adrelay",
            }
        ],
        "tokens": [
            {
                "access_token": SYSTEM_USER_TOKEN,
                "type": "SYSTEM_USER",
                "app_id": APP_ID,
                "user_id": SYSTEM_USER_ID,
                "scopes": ["ads_management", "ads_read", "business_management", "pages_read_engagement"],
                "accounts": [AD_ACCOUNT_ID],
                "expires_at": 0,
            },
            {
                "access_token": SHORT_LIVED_USER_TOKEN,
                "type": "USER",
                "app_id": APP_ID,
                "user_id": USER_ID,
                "scopes": ["ads_management", "ads_read"],
                "accounts": [AD_ACCOUNT_ID],
                "short_lived": True,
                "expires_in": 7200,
            },
        ],
        "pages": [{"id": PAGE_ID, "name": "adrelay demo page"}],
        "instagram_accounts": [{"id": INSTAGRAM_USER_ID, "username": "adrelay.demo"}],
        "pixels": [{"id": PIXEL_ID, "name": "adrelay demo pixel", "account_id": AD_ACCOUNT_ID}],
    }
