"""Attribution: each published ad's final landing URL, built exactly as its platform's mapper built
it (UTM parameters, plus TikTok's click-id macro), recorded with its parameters so a conversion that
arrives with them can be joined back to the ad (the seed's "setup attribution tracking")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import asyncpg
import orjson

from adrelay.model import Campaign, Platform
from adrelay.model.campaign import Ad
from adrelay.platforms.meta import mapper as meta_mapper
from adrelay.platforms.snapchat import mapper as snapchat_mapper
from adrelay.platforms.tiktok import mapper as tiktok_mapper

# The click id each platform puts on the landing URL: a macro the mapper adds (TikTok), or one the
# platform appends by itself (Meta `fbclid`, Snap `ScCid` [S]).
CLICK_ID: dict[Platform, str] = {
    Platform.META: "fbclid",
    Platform.TIKTOK: "ttclid",
    Platform.SNAPCHAT: "ScCid",
}
LANDING_URL: dict[Platform, Callable[[Campaign, Ad], str]] = {
    Platform.META: meta_mapper.landing_url,
    Platform.TIKTOK: tiktok_mapper.landing_page_url,
    Platform.SNAPCHAT: snapchat_mapper.landing_url,
}


@dataclass(frozen=True)
class AdLanding:
    ad_id: str
    landing_url: str
    tracked_url: str
    utm: dict[str, str]
    click_id_parameter: str


def landings(platform: Platform, campaign: Campaign) -> list[AdLanding]:
    out = []
    for _, ad in campaign.ads():
        tracked = LANDING_URL[platform](campaign, ad)
        params = dict(parse_qsl(urlsplit(tracked).query, keep_blank_values=True))
        out.append(
            AdLanding(
                ad_id=ad.id,
                landing_url=str(ad.creative.landing_url),
                tracked_url=tracked,
                utm={k: v for k, v in params.items() if k.startswith("utm_")},
                click_id_parameter=CLICK_ID[platform],
            )
        )
    return out


async def record(
    conn: asyncpg.Connection,
    publish_id: str,
    platform: Platform,
    campaign: Campaign,
    external_ads: dict[str, str],
) -> int:
    """One row per ad of the publish on this platform (idempotent)."""
    rows = landings(platform, campaign)
    await conn.executemany(
        """
        insert into ad_attribution (publish_id, platform, ad_id, campaign_id, external_ad_id, landing_url,
            tracked_url, utm, click_id_parameter)
        values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)
        on conflict (publish_id, platform, ad_id) do update set external_ad_id = excluded.external_ad_id
        """,
        [
            (
                publish_id,
                platform.value,
                r.ad_id,
                campaign.id,
                external_ads.get(r.ad_id),
                r.landing_url,
                r.tracked_url,
                orjson.dumps(r.utm).decode(),
                r.click_id_parameter,
            )
            for r in rows
        ],
    )
    return len(rows)
