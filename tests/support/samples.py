"""Sample campaigns and commands for tests."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from adrelay.events import Envelope, PublishCampaign
from adrelay.model import Campaign, MetaTarget, SnapchatTarget, TikTokTarget
from sandbox.samples import mp4, png

IMAGE_BYTES = png(1080, 1920)
COVER_BYTES = png(1080, 1920, (30, 60, 90))
VIDEO_BYTES = mp4()
MEDIA_FILES = {"image.png": IMAGE_BYTES, "cover.png": COVER_BYTES, "video.mp4": VIDEO_BYTES}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fresh_media(files: dict[str, bytes]) -> dict[str, str]:
    """New media content (never uploaded before, so no upload cache applies), added to a media
    server's `files`; returns the file name per role (image, cover, video)."""
    import random

    rng = random.Random()
    names = {}
    for role, data in (
        ("image", png(1080, 1920, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))),
        ("cover", png(1080, 1920, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))),
        ("video", mp4(filler=uuid.uuid4().bytes)),
    ):
        name = f"{role}-{uuid.uuid4().hex[:8]}.{'mp4' if role == 'video' else 'png'}"
        files[name] = data
        names[role] = name
    return names


def campaign_dict(
    campaign_id: str | None = None,
    media_base: str = "http://127.0.0.1:18090",
    ad_sets: int = 2,
    ads_per_set: int = 2,
    currency: str = "USD",
    media_files: dict[str, bytes] | None = None,
    media_names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The sample campaign: `ad_sets` by `ads_per_set` ads alternating an image and a video (with its
    cover). `media_names`/`media_files` (from `fresh_media`) replace the default sample media."""
    campaign_id = campaign_id or f"cmp-{uuid.uuid4().hex[:12]}"
    files = media_files or MEDIA_FILES
    names = media_names or {"image": "image.png", "cover": "cover.png", "video": "video.mp4"}
    image_bytes, cover_bytes, video_bytes = (
        files[names["image"]],
        files[names["cover"]],
        files[names["video"]],
    )
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    media = [
        {
            "id": "img-1",
            "kind": "image",
            "url": f"{media_base}/media/{names['image']}",
            "sha256": sha256(image_bytes),
            "size_bytes": len(image_bytes),
            "mime_type": "image/png",
            "width": 1080,
            "height": 1920,
        },
        {
            "id": "img-cover",
            "kind": "image",
            "url": f"{media_base}/media/{names['cover']}",
            "sha256": sha256(cover_bytes),
            "size_bytes": len(cover_bytes),
            "mime_type": "image/png",
            "width": 1080,
            "height": 1920,
        },
        {
            "id": "vid-1",
            "kind": "video",
            "url": f"{media_base}/media/{names['video']}",
            "sha256": sha256(video_bytes),
            "size_bytes": len(video_bytes),
            "mime_type": "video/mp4",
            "width": 1080,
            "height": 1920,
            "duration_s": 15,
            "cover_media_id": "img-cover",
        },
    ]
    sets = []
    for s in range(ad_sets):
        ads = []
        for a in range(ads_per_set):
            media_id = "img-1" if a % 2 == 0 else "vid-1"
            ads.append(
                {
                    "id": f"ad-{s + 1}-{a + 1}",
                    "name": f"Ad {s + 1}.{a + 1}",
                    "creative": {
                        "id": f"cr-{s + 1}-{a + 1}",
                        "name": f"Creative {s + 1}.{a + 1}",
                        "media_id": media_id,
                        "primary_text": "Fresh coffee, delivered.",
                        "headline": "Try it today",
                        "call_to_action": "shop_now",
                        "landing_url": "https://example.com/coffee",
                    },
                }
            )
        sets.append(
            {
                "id": f"as-{s + 1}",
                "name": f"Ad set {s + 1}",
                "targeting": {"countries": ["US"], "age_min": 25, "age_max": 44},
                "budget": {"period": "daily", "amount": {"amount_minor": 5000, "currency": currency}},
                "ads": ads,
            }
        )
    return {
        "id": campaign_id,
        "name": f"Spring coffee {campaign_id}",
        "objective": "traffic",
        "budget_level": "ad_set",
        "schedule": {
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(days=30)).isoformat(),
            "timezone": "America/New_York",
        },
        "media": media,
        "ad_sets": sets,
    }


def campaign(**kwargs: Any) -> Campaign:
    return Campaign.model_validate(campaign_dict(**kwargs))


def targets() -> list[Any]:
    return [
        MetaTarget(connection_id="conn-meta", ad_account_id="act_1234567890", page_id="1029384756"),
        TikTokTarget(connection_id="conn-tiktok", advertiser_id="7000000000000000001", identity_id="ident-1"),
        SnapchatTarget(
            connection_id="conn-snap",
            ad_account_id="8f0e9a2e-5a41-4c0e-9d4c-1f2e3d4c5b6a",
            brand_name="Coffee Co",
        ),
    ]


def publish_command(campaign_id: str | None = None, idempotency_key: str | None = None) -> Envelope:
    cmp = campaign(campaign_id=campaign_id)
    command = PublishCampaign(
        idempotency_key=idempotency_key or f"key-{uuid.uuid4().hex}", campaign=cmp, targets=targets()
    )
    return Envelope.new(command, campaign_id=cmp.id)
