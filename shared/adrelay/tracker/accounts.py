"""An ad account's currency and time zone, read once per tracked campaign through the platform's own
client (so the read is paced with the tracker's other calls under the shared limiter): the days of
every report are the account's, and spend is in its currency.

Meta `GET /act_{id}?fields=currency,timezone_name`; TikTok `/advertiser/info/` (`display_timezone`,
else `timezone`); Snapchat `GET /adaccounts/{id}` (`currency`, `timezone`).
"""

from __future__ import annotations

from dataclasses import dataclass

from adrelay.events.payloads import ErrorCategory
from adrelay.model import Platform
from adrelay.platforms.base import TokenSource
from adrelay.platforms.errors import PlatformCallError
from adrelay.platforms.snapchat.client import Caller
from adrelay.platforms.snapchat.review import GivenToken
from adrelay.tracker.reads import PlatformReads, with_token


@dataclass(frozen=True)
class AccountInfo:
    currency: str
    time_zone: str


class AccountReads:
    def __init__(self, reads: PlatformReads) -> None:
        self.reads = reads

    async def account(
        self, platform: Platform, tokens: TokenSource, account_id: str, *, connection_id: str
    ) -> AccountInfo:
        if platform is Platform.META:
            meta = self.reads.meta_reporting.client
            body = await with_token(
                tokens,
                lambda t: meta.get(
                    account_id,
                    t,
                    endpoint="GET /act_{ad_account_id}",
                    account=account_id,
                    params={"fields": "currency,timezone_name"},
                ),
            )
            return _info(platform, account_id, body.get("currency"), body.get("timezone_name"))
        if platform is Platform.TIKTOK:
            tiktok = self.reads.tiktok_reporting.client
            data = await with_token(
                tokens,
                lambda t: tiktok.get(
                    "/advertiser/info/",
                    t,
                    {
                        "advertiser_ids": [account_id],
                        "fields": ["advertiser_id", "currency", "timezone", "display_timezone"],
                    },
                ),
            )
            rows = [r for r in (data or {}).get("list") or [] if str(r.get("advertiser_id")) == account_id]
            row = rows[0] if rows else {}
            return _info(
                platform, account_id, row.get("currency"), row.get("display_timezone") or row.get("timezone")
            )
        snap = self.reads.snapchat_reporting.client

        async def read(token: str) -> dict[str, object]:
            caller = Caller(GivenToken(token), connection_id)
            return await snap.get(
                caller, f"/adaccounts/{account_id}", "adaccount", endpoint="GET /adaccounts/{ad_account_id}"
            )

        account = await with_token(tokens, read)
        return _info(platform, account_id, account.get("currency"), account.get("timezone"))


def _info(platform: Platform, account_id: str, currency: object, time_zone: object) -> AccountInfo:
    if not currency or not time_zone:
        raise PlatformCallError.of(
            ErrorCategory.UNKNOWN, f"{platform.value} account {account_id} reports no currency or time zone"
        )
    return AccountInfo(currency=str(currency), time_zone=str(time_zone))
