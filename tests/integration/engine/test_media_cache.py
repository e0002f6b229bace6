"""The media upload cache (per platform, ad account and content hash) heals itself: when a step cannot
use media the cache answered with (here Meta refuses a creative whose image was deleted from the ad
account since), the publish fails once, the cache entry is dropped, and a retry uploads afresh."""

from __future__ import annotations

import asyncpg
import httpx

from sandbox.meta import fixtures as meta_fx
from tests.conftest import Stack
from tests.integration.engine.test_contract import Harness, harness  # noqa: F401 (fixture)
from tests.support.publishing import requests_log
from tests.support.samples import campaign_dict, fresh_media


async def steps(db: asyncpg.Pool, publish_id: str) -> dict[str, asyncpg.Record]:
    rows = await db.fetch("select * from publish_steps where publish_id = $1", publish_id)
    return {r["step_key"]: r for r in rows}


async def test_media_the_platform_deleted_since_they_were_cached_are_uploaded_again(
    harness: Harness,  # noqa: F811
    db: asyncpg.Pool,
    stack: Stack,
) -> None:
    names = fresh_media(stack.media.files)
    url = stack.sandbox("meta")

    def body() -> dict:  # type: ignore[type-arg]
        return campaign_dict(
            media_base=stack.media.base_url, media_files=stack.media.files, media_names=names
        )

    first, row = await harness.publish("meta", db, body())
    assert row["state"] == "succeeded", row
    image_hash = (await steps(db, first))["media:img-1"]["external_id"]
    cache = "select count(*) from media_uploads where platform = 'meta' and external_id = $1"
    assert await db.fetchval(cache, image_hash) == 1
    # The image goes from the ad account (its creatives first, as Meta requires).
    _, row = await harness.publish("meta", db, body(), publish_id=first, goal="rollback")
    assert row["state"] == "rolled_back", row
    async with httpx.AsyncClient(base_url=url) as client:
        deleted = await client.delete(
            f"/v25.0/{meta_fx.AD_ACCOUNT_ID}/adimages",
            params={"hash": image_hash, "access_token": meta_fx.SYSTEM_USER_TOKEN},
        )
    assert deleted.status_code == 200, deleted.text

    second_body = body()
    second, row = await harness.publish("meta", db, second_body)
    assert row["state"] == "failed", row
    assert "Invalid Image Hash" in str(row["last_error"])  # a creative of an image ad, refused
    assert await db.fetchval(cache, image_hash) == 0, "the cache no longer names the deleted image"
    record = (await steps(db, second))["media:img-1"]
    assert (record["state"], record["external_id"], record["attempts"]) == ("pending", None, 0)
    assert (await steps(db, second))["media:vid-1"]["state"] == "succeeded", "usable media stay cached"

    mark = max((e["seq"] for e in await requests_log(url)), default=0)
    _, row = await harness.publish("meta", db, second_body, publish_id=second)  # the retry
    assert row["state"] == "succeeded", row
    uploads = [e for e in await requests_log(url, mark) if e["method"] == "POST" and "adimages" in e["path"]]
    assert len(uploads) == 1, "the image was uploaded again, once"
    record = (await steps(db, second))["media:img-1"]
    assert (record["state"], record["attempts"]) == ("succeeded", 1)
    assert await db.fetchval(cache, record["external_id"]) == 1
