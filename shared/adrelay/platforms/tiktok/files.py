"""Images and videos on TikTok: upload once, find again by file name.

TikTok keeps file names unique per advertiser (a second upload with a used name answers 40911), so the
upload's `file_name` is the step's tag plus the extension and is the lookup key (lookup-by-tag §2.3):
`/file/name/check/` → `duplicate_material_id` → `/file/image/ad/search/` or `/file/video/ad/search/` by
`material_ids` → the image_id / video_id. Video upload answers `data` as a LIST; videos are usable only
once TikTok has processed them (`check_ready`).
"""

from __future__ import annotations

from typing import Any

from adrelay.model import MediaAsset, MediaKind, TikTokTarget
from adrelay.platforms.base import NotReady, StepOutcome
from adrelay.platforms.errors import LookupIncomplete, OutcomeUnknown, PlatformCallError
from adrelay.platforms.tiktok import mapper
from adrelay.platforms.tiktok.classify import DUPLICATED_MATERIAL_NAME
from adrelay.platforms.tiktok.client import TikTokClient

IMAGE_UPLOAD = "/file/image/ad/upload/"
VIDEO_UPLOAD = "/file/video/ad/upload/"
NAME_CHECK = "/file/name/check/"
IMAGE_SEARCH = "/file/image/ad/search/"
VIDEO_SEARCH = "/file/video/ad/search/"
VIDEO_INFO = "/file/video/ad/info/"
VIDEO_CHECK_AGAIN_S = 5.0


class TikTokFiles:
    def __init__(self, client: TikTokClient) -> None:
        self.client = client

    async def upload(
        self, target: TikTokTarget, asset: MediaAsset, tag: str, token: str, file_path: str, md5: str
    ) -> StepOutcome:
        """UPLOAD_BY_FILE with the MD5 signature; a name already taken means an earlier attempt of this
        step uploaded it: that file is the outcome."""
        image = asset.kind is MediaKind.IMAGE
        name = mapper.media_file_name(tag, asset)
        try:
            data = await self.client.upload(
                IMAGE_UPLOAD if image else VIDEO_UPLOAD,
                token,
                mapper.upload_fields(target, asset, tag, md5),
                "image_file" if image else "video_file",
                file_path,
                name,
                asset.mime_type,
            )
        except PlatformCallError as exc:
            if exc.error.platform_code != str(DUPLICATED_MATERIAL_NAME):
                raise
            found = await self.find(target, asset, tag, token)
            if found is None:
                raise OutcomeUnknown(f"{name}: TikTok says the name is taken but does not list it") from exc
            return found
        if image:
            return image_outcome(data)
        rows = data if isinstance(data, list) else [data]
        return video_outcome(rows[0])

    async def find(self, target: TikTokTarget, asset: MediaAsset, tag: str, token: str) -> StepOutcome | None:
        name = mapper.media_file_name(tag, asset)
        image = asset.kind is MediaKind.IMAGE
        check = await self.client.get(
            NAME_CHECK,
            token,
            {
                "advertiser_id": target.advertiser_id,
                "file_name": name,
                "file_type": "IMAGE" if image else "VIDEO",
            },
        )
        if not check or not check.get("duplicate"):
            return None
        material_id = check.get("duplicate_material_id")
        if not material_id:
            raise LookupIncomplete(f"{name} is taken but TikTok gave no material id")
        data = await self.client.get(
            IMAGE_SEARCH if image else VIDEO_SEARCH,
            token,
            {"advertiser_id": target.advertiser_id, "filtering": {"material_ids": [str(material_id)]}},
        )
        rows = [r for r in (data or {}).get("list") or [] if str(r.get("material_id")) == str(material_id)]
        named = [r for r in rows if r.get("file_name") == name] or rows
        if len(named) != 1:
            raise LookupIncomplete(f"{name}: {len(named)} files for material {material_id}")
        return image_outcome(named[0]) if image else video_outcome(named[0])

    async def check_video(
        self, target: TikTokTarget, outcome: StepOutcome, token: str
    ) -> StepOutcome | NotReady:
        """Ready once TikTok lists the video as displayable (processing done; UNCONFIRMED that
        `displayable` is the exact signal, it is the one the info endpoint offers)."""
        video_id = str(outcome.data["video_id"])
        data = await self.client.get(
            VIDEO_INFO, token, {"advertiser_id": target.advertiser_id, "video_ids": [video_id]}
        )
        rows = [r for r in (data or {}).get("list") or [] if str(r.get("video_id")) == video_id]
        if not rows:
            return NotReady(VIDEO_CHECK_AGAIN_S, f"video {video_id} is not listed yet")
        if not rows[0].get("displayable"):
            return NotReady(VIDEO_CHECK_AGAIN_S, f"video {video_id} is still processing")
        return StepOutcome(outcome.external_id, {**outcome.data, **_dimensions(rows[0])})


def image_outcome(row: dict[str, Any]) -> StepOutcome:
    image_id = str(row["image_id"])
    return StepOutcome(image_id, {"image_id": image_id, **_common(row)})


def video_outcome(row: dict[str, Any]) -> StepOutcome:
    video_id = str(row["video_id"])
    return StepOutcome(video_id, {"video_id": video_id, **_common(row)})


def _common(row: dict[str, Any]) -> dict[str, Any]:
    out = {"material_id": str(row.get("material_id") or ""), "file_name": row.get("file_name")}
    out.update(_dimensions(row))
    return out


def _dimensions(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("width", "height", "duration") if row.get(k) is not None}
