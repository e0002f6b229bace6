"""Media: create the record, then upload the bytes — simply, or in parts (multipart-upload-v2).

1. `POST /v1/adaccounts/{id}/media {"media":[{name,type}]}` → `media_status: PENDING_UPLOAD` (listed).
2. `POST /v1/media/{id}/upload`, multipart field `file`, at most 32 MiB (switch
   `simple_upload_max_bytes`; larger → HTTP 400 telling to use multipart) → **unwrapped**
   `{"result":{…},"request_status","request_id"}` as recorded: images are READY at once with
   `file_name` (server UUID), `download_link`, `image_metadata`, `file_size_in_bytes`, `hash` (base64 of
   a CRC32 — Snap's is probably CRC32C, UNCONFIRMED), `media_usages`; videos stay PENDING_UPLOAD while
   transcoding and turn READY after `config.video_processing_s` (clients poll GET /v1/media/{id}).
3. Large files: `POST /v1/media/{id}/multipart-upload-v2?action=INIT` (form file_name, file_size,
   number_of_parts) → `{upload_id, add_path, finalize_path}` (add_path carries Snap's `/us` region
   prefix as in Snap's docs example); `POST <add_path>` (form file, part_number 1-based, upload_id)
   per part (≤ 32 MiB each); `POST <finalize_path>` (upload_id, file_name) → `result` as above.
"""

from __future__ import annotations

import base64
import math
import struct
import uuid
import zlib
from typing import Any

from aiohttp import web

from sandbox.common.store import SandboxObject
from sandbox.snapchat import validation
from sandbox.snapchat.context import Ctx
from sandbox.snapchat.entities import Result, batch, create_object, in_account, list_of, read_one
from sandbox.snapchat.errors import bad_request
from sandbox.snapchat.lifecycle import touch
from sandbox.snapchat.objects import render
from sandbox.snapchat.switches import switch

DOWNLOAD_BASE = "https://storage.googleapis.com/ad-manager-creatives-production-us"
MAX_FILE_BYTES = 1024**3  # 1 GB video ceiling
VIDEO_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free")
USAGES = {"IMAGE": ["TOP_SNAP"], "VIDEO": ["TOP_SNAP"], "PLAYABLE": ["PLAYABLE"], "LENS_PACKAGE": []}


# ---- records -----------------------------------------------------------------------------------
def create_media(ctx: Ctx) -> Result:
    account = ctx.account(ctx.param("account_id"))
    vctx = ctx.validation(account)

    def one(item: dict[str, Any]) -> SandboxObject:
        return create_object(ctx, "media", validation.media_fields(item, vctx), account.id, account.id)

    return batch(ctx, "media", one, "create", account)


def get_media(ctx: Ctx) -> Result:
    return read_one(ctx, "media", ctx.param("media_id"))


def list_media(ctx: Ctx) -> Result:
    account = ctx.account(ctx.param("account_id"))
    return list_of(ctx, "media", in_account("media", account, ctx))


# ---- bytes -------------------------------------------------------------------------------------
def _uploadable(media: SandboxObject) -> None:
    if media.fields.get("media_status") == "READY" or media.fields.get("file_name"):
        raise bad_request(f"Media {media.id} already has an uploaded file; create a new media record")


def _file_field(fields: dict[str, Any], name: str = "file") -> web.FileField:
    value = fields.get(name)
    if not isinstance(value, web.FileField):
        raise bad_request(f"multipart/form-data field '{name}' with the file is required")
    return value


def upload(ctx: Ctx) -> Result:
    media = ctx.entity("media", ctx.param("media_id"))
    if ctx.request.content_type != "multipart/form-data":
        raise bad_request("Upload must be multipart/form-data with the file in field 'file'")
    _uploadable(media)
    field = _file_field(ctx.fields)
    data = field.file.read()
    limit = int(switch(ctx.sandbox.config, "simple_upload_max_bytes"))
    if len(data) > limit:
        raise bad_request(
            f"File of {len(data)} bytes exceeds the {limit}-byte limit of a simple upload; "
            "use /multipart-upload-v2 (INIT, ADD parts, FINALIZE)"
        )
    return _complete(ctx, media, data, None)


def multipart(ctx: Ctx) -> Result:
    media = ctx.entity("media", ctx.param("media_id"))
    action = ctx.request.query.get("action", "")
    if action == "INIT":
        return _init(ctx, media)
    if action == "ADD":
        return _add(ctx, media)
    if action == "FINALIZE":
        return _finalize(ctx, media)
    raise bad_request("action must be one of INIT, ADD, FINALIZE")


def _int_field(fields: dict[str, Any], name: str, minimum: int) -> int:
    raw = fields.get(name)
    try:
        value = int(str(raw))
    except ValueError:
        raise bad_request(f"{name} is required and must be an integer") from None
    if value < minimum:
        raise bad_request(f"{name} must be at least {minimum}")
    return value


def _init(ctx: Ctx, media: SandboxObject) -> Result:
    _uploadable(media)
    fields = ctx.fields
    file_name = fields.get("file_name")
    if not isinstance(file_name, str) or not file_name:
        raise bad_request("file_name is required")
    size = _int_field(fields, "file_size", 1)
    parts = _int_field(fields, "number_of_parts", 1)
    part_max = int(switch(ctx.sandbox.config, "multipart_part_max_bytes"))
    if size > MAX_FILE_BYTES:
        raise bad_request(f"file_size exceeds the maximum of {MAX_FILE_BYTES} bytes")
    if parts > size or math.ceil(size / part_max) > parts:
        raise bad_request(
            f"number_of_parts {parts} cannot carry {size} bytes in parts of at most {part_max} bytes"
        )
    upload_id = str(uuid.uuid4())
    ctx.sandbox.state.uploads[upload_id] = {
        "media_id": media.id,
        "file_name": file_name,
        "file_size": size,
        "number_of_parts": parts,
    }
    ctx.sandbox.upload_parts[upload_id] = {}
    return 200, {
        "request_status": "SUCCESS",
        "request_id": ctx.request_id,
        "upload_id": upload_id,
        "add_path": f"/us/v1/media/{media.id}/multipart-upload-v2?action=ADD",
        "finalize_path": f"/v1/media/{media.id}/multipart-upload-v2?action=FINALIZE",
    }


def _session(ctx: Ctx, media: SandboxObject) -> tuple[str, dict[str, Any]]:
    upload_id = ctx.fields.get("upload_id")
    session = ctx.sandbox.state.uploads.get(str(upload_id)) if isinstance(upload_id, str) else None
    if session is None or session["media_id"] != media.id or upload_id not in ctx.sandbox.upload_parts:
        raise bad_request("Unknown or expired upload_id for this media")
    return str(upload_id), session


def _add(ctx: Ctx, media: SandboxObject) -> Result:
    upload_id, session = _session(ctx, media)
    number = _int_field(ctx.fields, "part_number", 1)
    if number > session["number_of_parts"]:
        raise bad_request(f"part_number {number} is beyond number_of_parts {session['number_of_parts']}")
    data = _file_field(ctx.fields).file.read()
    part_max = int(switch(ctx.sandbox.config, "multipart_part_max_bytes"))
    if not data or len(data) > part_max:
        raise bad_request(f"Each part must hold 1 to {part_max} bytes, got {len(data)}")
    ctx.sandbox.upload_parts[upload_id][number] = data
    return 200, {"request_status": "SUCCESS", "request_id": ctx.request_id}


def _finalize(ctx: Ctx, media: SandboxObject) -> Result:
    upload_id, session = _session(ctx, media)
    parts = ctx.sandbox.upload_parts[upload_id]
    missing = [n for n in range(1, session["number_of_parts"] + 1) if n not in parts]
    if missing:
        raise bad_request(f"Parts missing before FINALIZE: {missing}")
    data = b"".join(parts[n] for n in range(1, session["number_of_parts"] + 1))
    if len(data) != session["file_size"]:
        raise bad_request(f"Uploaded {len(data)} bytes but INIT announced file_size {session['file_size']}")
    file_name = ctx.fields.get("file_name")
    result = _complete(ctx, media, data, str(file_name) if file_name else session["file_name"])
    del ctx.sandbox.state.uploads[upload_id]
    del ctx.sandbox.upload_parts[upload_id]
    return result


# ---- completing an upload ------------------------------------------------------------------------
def snap_hash(data: bytes) -> str:
    return base64.b64encode(struct.pack(">I", zlib.crc32(data) & 0xFFFFFFFF)).decode()


def image_info(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) for PNG and JPEG; None for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "PNG", width, height
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return "JPEG", width, height
            i += 2 + length
    return None


def _complete(ctx: Ctx, media: SandboxObject, data: bytes, file_name: str | None) -> Result:
    config = ctx.sandbox.config
    media_type = media.fields.get("type")
    extra: dict[str, Any] = {}
    if media_type == "IMAGE":
        info = image_info(data)
        if info is None:
            raise bad_request("Unsupported image format: upload a PNG or JPEG file")
        fmt, width, height = info
        if len(data) > int(switch(config, "media_image_max_bytes")):
            raise bad_request(f"Image exceeds the {switch(config, 'media_image_max_bytes')}-byte limit")
        min_w, min_h = switch(config, "media_image_min_dimensions") or (0, 0)
        if width < min_w or height < min_h:
            raise bad_request(
                f"Image is {width}x{height}px; top snap images must be at least {min_w}x{min_h}px"
            )
        ext = "png" if fmt == "PNG" else "jpg"
        extra["image_metadata"] = {"height_px": height, "width_px": width, "image_format": fmt}
    elif media_type == "VIDEO":
        if data[4:8] not in VIDEO_BOXES:
            raise bad_request("Unsupported video format: upload an MP4 or MOV file")
        ext = "mov" if data[8:10] == b"qt" else "mp4"
    else:
        ext = "zip"
    name = file_name or f"{uuid.uuid4()}.{ext}"
    fields: dict[str, Any] = {}
    for key, value in media.fields.items():
        if key in ("is_demo_media", "visibility"):
            continue
        fields[key] = value
        if key == "media_status":
            fields["file_name"] = name
            stored = f"{uuid.uuid4()}.{ext}" if file_name else name
            fields["download_link"] = f"{DOWNLOAD_BASE}/{media.id}/{stored}"
            fields.update(extra)
            fields["file_size_in_bytes"] = len(data)
            fields["is_demo_media"] = False
            fields["hash"] = snap_hash(data)
            fields["visibility"] = "VISIBLE"
            fields["media_usages"] = list(USAGES.get(str(media_type), []))
    writer = ctx.writer()
    fields["_updated_by_app"] = writer["app"]
    fields["_updated_by_user"] = writer["user"]
    if media_type == "VIDEO":
        fields["_ready_at"] = ctx.now + float(config.video_processing_s)
    else:
        fields["media_status"] = "READY"
    media.fields = fields
    touch(media, ctx.now)
    result = render(ctx.sandbox.entities, media, ctx.now, mode="write")
    return 200, {"result": result, "request_status": "SUCCESS", "request_id": ctx.request_id}
