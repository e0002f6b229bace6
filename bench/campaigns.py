"""Sample campaigns for the benchmarks: the tests' sample (2 ad sets x 2 ads, an image and a video
with its cover), each with media never uploaded before unless `reuse_media` (then the upload cache
answers every media step after the first publish, as for a campaign re-using its assets)."""

from __future__ import annotations

from typing import Any

from tests.support.media_server import MediaServer
from tests.support.samples import campaign_dict, fresh_media


class CampaignBank:
    def __init__(self, media: MediaServer, reuse_media: bool = False) -> None:
        self.media = media
        self.reuse_media = reuse_media

    def make(self, count: int) -> list[dict[str, Any]]:
        """`count` campaigns; fresh media are generated now, before any timing starts (≈ 90 ms each)."""
        out = []
        for _ in range(count):
            if self.reuse_media:
                out.append(campaign_dict(media_base=self.media.base_url))
            else:
                names = fresh_media(self.media.files)
                out.append(
                    campaign_dict(
                        media_base=self.media.base_url, media_files=self.media.files, media_names=names
                    )
                )
        return out


def tree_objects(campaign: dict[str, Any]) -> int:
    """Campaign + ad sets + ads: what activation switches on."""
    sets = campaign["ad_sets"]
    return 1 + len(sets) + sum(len(s["ads"]) for s in sets)
