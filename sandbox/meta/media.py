"""Ad images and videos: `/act_/adimages` and `/act_/advideos` (simple and chunked upload).

Images: multipart file (any field name, keyed in the answer by the file's base name) or `bytes`
(base64, keyed `bytes`, UNCONFIRMED); the hash is the MD5 of the bytes, so the same bytes give the same
hash and the same `<account>:<hash>` image. Videos: `source` / `file_url`, or the resumable
`upload_phase=start|transfer|finish|cancel` protocol of the official SDK; after the upload a video is
`processing` for `config.video_processing_s`, then `ready`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import struct
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.common.store import SandboxObject
from sandbox.meta.errors import GraphError, invalid, required

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of PNG/GIF/JPEG/BMP/WEBP bytes; None when not an image Meta can read."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return w, h
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return w, h
    if data.startswith(b"BM") and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return w, abs(h)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 0, 0
    if data.startswith(b"\xff\xd8\xff"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return w, h
            i += 2 + length
        return 0, 0
    if any(data.startswith(m) for m in _IMAGE_MAGIC):
        return 0, 0
    return None


def bad_image() -> GraphError:
    return invalid(
        "Image Resize Failed",
        "Image Resize Failed: Image could not be resized; it could be an invalid image. Please "
        "upload a valid "
        "image file.",
        subcode=1487242,
    )


@dataclass
class UploadSession:
    session_id: str
    video_id: str
    account: str
    file_size: int
    received: int = 0


def file_bytes(value: web.FileField) -> bytes:
    value.file.seek(0)
    return value.file.read()


def uploaded_files(params: dict[str, Any]) -> list[tuple[str, web.FileField]]:
    return [(k, v) for k, v in params.items() if isinstance(v, web.FileField)]


def video_status(video: SandboxObject, now: float | None = None) -> dict[str, Any]:
    """AdVideo.status as Graph reports it while uploading, processing and when ready."""
    now = time.time() if now is None else now
    fields = video.fields
    if video.deleted:
        return {"video_status": "error", "processing_progress": 0}
    if not fields.get("_uploaded"):
        return {
            "video_status": "processing",
            "processing_progress": 0,
            "uploading_phase": {"status": "in_progress", "bytes_transferred": fields.get("_received", 0)},
            "processing_phase": {"status": "not_started"},
            "publishing_phase": {"status": "not_started"},
        }
    ready_at = float(fields.get("_ready_at", 0))
    started = float(fields.get("_uploaded_at", ready_at))
    if now < ready_at:
        span = max(ready_at - started, 0.001)
        pct = int(min(99, max(0, (now - started) / span * 100)))
        return {
            "video_status": "processing",
            "processing_progress": pct,
            "uploading_phase": {"status": "complete", "bytes_transferred": fields.get("_size", 0)},
            "processing_phase": {"status": "in_progress"},
            "publishing_phase": {"status": "not_started"},
        }
    return {
        "video_status": "ready",
        "processing_progress": 100,
        "uploading_phase": {"status": "complete", "bytes_transferred": fields.get("_size", 0)},
        "processing_phase": {"status": "complete"},
        "publishing_phase": {"status": "complete", "publish_status": "not_published"},
    }


def video_state(video: SandboxObject | None) -> str | None:
    if video is None or video.deleted:
        return None
    return str(video_status(video)["video_status"])


def new_session_id() -> str:
    return str(10**15 + secrets.randbelow(9 * 10**15))


def decode_bytes_param(raw: Any) -> bytes:
    try:
        return base64.b64decode(str(raw), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise GraphError("(#100) Param bytes must be a base64 encoded image", 100) from exc


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def resume_error(expected_start: int, end: int) -> GraphError:
    return GraphError(
        "(#100) Invalid parameter",
        100,
        subcode=1363037,
        user_title="Upload Failed",
        user_msg="The video upload chunk did not start at the expected offset. Resume from start_offset.",
        error_data={"start_offset": str(expected_start), "end_offset": str(end)},
        is_transient=False,
    )


def chunk_window(session: UploadSession, chunk_size: int) -> dict[str, str]:
    end = min(session.received + chunk_size, session.file_size)
    return {"start_offset": str(session.received), "end_offset": str(end)}


def require_file_size(params: dict[str, Any]) -> int:
    raw = params.get("file_size")
    if raw is None or raw == "":
        raise required("file_size")
    try:
        size = int(raw)
    except (TypeError, ValueError) as exc:
        raise GraphError("(#100) Param file_size must be a non-negative integer", 100) from exc
    if size <= 0:
        raise GraphError("(#100) Param file_size must be a positive integer", 100)
    return size
