"""Images and videos on Meta: upload, find again, and watch a video's processing.

Images go to `/act_/adimages` as one multipart file; Meta answers keyed by file name and identifies an
image by its content hash, so uploading the same bytes again yields the same image. Videos go to the
video host: one `source` upload for small files, the resumable start / transfer / finish protocol of
the official SDK above a threshold, resuming from the offsets Meta returns (subcode 1363037).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adrelay.engine.media import MediaFile
from adrelay.events.payloads import ErrorCategory
from adrelay.platforms.base import StepOutcome
from adrelay.platforms.errors import OutcomeUnknown, PlatformCallError
from adrelay.platforms.meta import mapper
from adrelay.platforms.meta.classify import GraphCallError
from adrelay.platforms.meta.client import Json, MetaClient

SUBCODE_UPLOAD_RESUME = 1363037


@dataclass(frozen=True)
class VideoState:
    status: str  # processing | ready | error (Meta's video_status)
    progress: int | None = None


class MetaMedia:
    def __init__(self, client: MetaClient) -> None:
        self.client = client

    # ---- images -----------------------------------------------------------------------------------
    async def upload_image(self, account: str, token: str, media: MediaFile) -> StepOutcome:
        data = await asyncio.to_thread(media.read)
        body = await self.client.create(
            f"{account}/adimages",
            token,
            endpoint="POST /act/adimages",
            account=account,
            files={"filename": (mapper.image_file_name(media.asset), data, media.asset.mime_type)},
        )
        images = body.get("images")
        if not isinstance(images, dict) or len(images) != 1:
            raise OutcomeUnknown(f"image upload answered without exactly one image: {sorted(body)}")
        image = next(iter(images.values()))
        if not isinstance(image, dict) or not image.get("hash"):
            raise OutcomeUnknown("image upload answered without a hash")
        return image_outcome(image)

    async def find_image(self, account: str, token: str, media: MediaFile) -> StepOutcome | None:
        """The image with these bytes, if Meta's hash is their md5 (UNCONFIRMED; when it is not, nothing
        is found and the re-upload returns the same image anyway)."""
        rows = await self.client.list_all(
            f"{account}/adimages",
            token,
            endpoint="GET /act/adimages",
            account=account,
            params={"hashes": [media.md5], "fields": "hash,url,name,status"},
        )
        found = [row for row in rows if row.get("hash") == media.md5]
        return image_outcome(found[0]) if found else None

    # ---- videos -----------------------------------------------------------------------------------
    async def upload_video(
        self,
        account: str,
        token: str,
        media: MediaFile,
        title: str,
        *,
        chunk_threshold: int,
        chunk_attempts: int,
    ) -> StepOutcome:
        if media.size <= chunk_threshold:
            data = await asyncio.to_thread(media.read)
            body = await self.client.create(
                f"{account}/advideos",
                token,
                endpoint="POST /act/advideos",
                account=account,
                data={"title": title, "name": title},
                files={
                    "source": (media.asset.file_name or f"{media.asset.id}.mp4", data, media.asset.mime_type)
                },
                video_host=True,
            )
            return video_outcome(new_id(body, "advideos"), title)
        start = await self._phase(
            account, token, {"upload_phase": "start", "file_size": media.size, "title": title}
        )
        session, video_id = str(start.get("upload_session_id") or ""), str(start.get("video_id") or "")
        if not session or not video_id:
            raise OutcomeUnknown("chunked video upload started without a session or video id")
        offset, end = _offsets(start)
        while offset < end:
            offset, end = await self._transfer(account, token, session, media, offset, end, chunk_attempts)
        await self._phase(
            account, token, {"upload_phase": "finish", "upload_session_id": session, "title": title}
        )
        return video_outcome(video_id, title)

    async def _phase(self, account: str, token: str, data: Mapping[str, Any]) -> Json:
        return await self.client.create(
            f"{account}/advideos",
            token,
            endpoint=f"POST /act/advideos {data['upload_phase']}",
            account=account,
            data={**data, "name": data["title"]},
            video_host=True,
        )

    async def _transfer(
        self, account: str, token: str, session: str, media: MediaFile, offset: int, end: int, attempts: int
    ) -> tuple[int, int]:
        """Send bytes [offset, end); returns the next window. Resumes where Meta says it stands."""
        for attempt in range(1, attempts + 1):
            chunk = await asyncio.to_thread(media.read, offset, end)
            try:
                answer = await self.client.post(
                    f"{account}/advideos",
                    token,
                    endpoint="POST /act/advideos transfer",
                    account=account,
                    data={"upload_phase": "transfer", "upload_session_id": session, "start_offset": offset},
                    files={"video_file_chunk": ("chunk", chunk, "application/octet-stream")},
                    video_host=True,
                )
                return _offsets(answer)
            except GraphCallError as exc:
                resume = exc.graph.error_data if exc.graph is not None else {}
                if (
                    exc.graph is not None
                    and exc.graph.subcode == SUBCODE_UPLOAD_RESUME
                    and "start_offset" in resume
                ):
                    return int(resume["start_offset"]), int(resume.get("end_offset", end))
                if not exc.retryable or attempt == attempts:
                    raise
            except OutcomeUnknown:
                if attempt == attempts:
                    raise PlatformCallError.of(
                        ErrorCategory.TRANSIENT, "video chunk transfer went unanswered"
                    ) from None
            # Sent again: if Meta has the chunk already, it answers with the offset to resume from.
            await asyncio.sleep(min(2.0**attempt / 4, 4.0))
        raise AssertionError("unreachable")

    async def videos_titled(self, account: str, token: str, title: str) -> list[Json]:
        """Videos whose upload finished, titled `title` (the edge's `title` filter)."""
        rows = await self.client.list_all(
            f"{account}/advideos",
            token,
            endpoint="GET /act/advideos",
            account=account,
            params={"title": title, "fields": "id,title,status"},
        )
        # A chunked upload that never finished left a video without content: it is not our object.
        return [row for row in rows if _upload_complete(row)]

    async def video_state(self, account: str, token: str, video_id: str) -> VideoState:
        body = await self.client.get(
            video_id, token, endpoint="GET /video status", account=account, params={"fields": "status"}
        )
        raw = body.get("status")
        status: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
        progress = status.get("processing_progress")
        return VideoState(
            str(status.get("video_status") or "processing"), int(progress) if progress is not None else None
        )


def new_id(body: Json, edge: str) -> str:
    created = body.get("id")
    if not created:
        raise OutcomeUnknown(f"POST {edge} answered without an id")
    return str(created)


def image_outcome(image: Mapping[str, Any]) -> StepOutcome:
    image_hash = str(image["hash"])
    return StepOutcome(image_hash, {"image_hash": image_hash, "url": str(image.get("url") or "")})


def video_outcome(video_id: str, title: str) -> StepOutcome:
    return StepOutcome(video_id, {"video_id": video_id, "title": title})


def _upload_complete(row: Mapping[str, Any]) -> bool:
    status = row.get("status")
    if not isinstance(status, dict):
        return True
    uploading = status.get("uploading_phase")
    if status.get("video_status") == "ready" or not isinstance(uploading, dict):
        return True
    return uploading.get("status") != "in_progress"


def _offsets(answer: Mapping[str, Any]) -> tuple[int, int]:
    try:
        return int(answer["start_offset"]), int(answer["end_offset"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PlatformCallError.of(
            ErrorCategory.UNKNOWN, f"video upload answered without offsets: {sorted(answer)}"
        ) from exc
