"""Image and video uploads, `/file/name/check/`, and the file search/info endpoints.

Rules reproduced: `*_signature` is the hex MD5 of the uploaded bytes (mismatch → 40900); `file_name`
(1-100 chars) is unique per advertiser (→ 40911); size and type limits (40907/40908); image upload
answers `data{image_id,…}`, video upload answers `data` as a LIST; each video upload makes a new
video_id; videos stay not `displayable` until processed (`config.video_processing_s`) and cannot be
used in ads before. Search honours only the documented filters (no name filter on images, no
signature or file_name filter anywhere; `video_name` is fuzzy).
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlparse

import aiohttp
from aiohttp import web

from sandbox.common.store import SandboxObject
from sandbox.tiktok import errors, ids
from sandbox.tiktok.api import Ctx
from sandbox.tiktok.errors import ApiError, param_error
from sandbox.tiktok.listing import filtering, fuzzy, page_args, paginate
from sandbox.tiktok.media import MediaInfo, image_info, video_info
from sandbox.tiktok.objects import IMAGE, VIDEO
from sandbox.tiktok.params import MISSING_MSG, Params, format_iso

URL_TTL_S = 3600  # image_url / preview_url stay valid one hour
IMAGE_FIELDS = (
    "advertiser_id",
    "upload_type",
    "image_file",
    "image_signature",
    "image_url",
    "file_id",
    "file_name",
)
VIDEO_FIELDS = (
    "advertiser_id",
    "upload_type",
    "video_file",
    "video_signature",
    "video_url",
    "file_id",
    "video_id",
    "file_name",
    "is_third_party",
    "flaw_detect",
    "auto_fix_enabled",
    "auto_bind_enabled",
)


# ---- helpers -------------------------------------------------------------------------------
def signed_url(ctx: Ctx, kind: str, object_id: str) -> tuple[str, int]:
    expires = int(ctx.now) + URL_TTL_S
    sig = hmac.new(ctx.sb.media_secret, f"{object_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]
    url = f"{ctx.sb.base_url(ctx.request)}/_sandbox/media/{kind}/{quote(object_id, safe='')}"
    return f"{url}?x-expires={expires}&x-signature={sig}", expires


async def serve_media(sb: Any, request: web.Request) -> web.StreamResponse:
    """The CDN stand-in behind image_url / preview_url (not a platform API path)."""
    object_id = request.match_info["object_id"]
    try:
        expires = int(request.query.get("x-expires", "0"))
    except ValueError:
        expires = 0
    expected = hmac.new(sb.media_secret, f"{object_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(expected, request.query.get("x-signature", "")) or time.time() > expires:
        raise web.HTTPForbidden(text="AccessDenied: the URL has expired or its signature is wrong")
    data = sb.state.blobs.get(object_id)
    if data is None:
        raise web.HTTPNotFound()
    obj = sb.store.get(object_id)
    fmt = obj.fields.get("format", "") if obj else ""
    ctype = {"png": "image/png", "jpeg": "image/jpeg", "mp4": "video/mp4", "mov": "video/quicktime"}.get(fmt)
    return web.Response(body=data, content_type=ctype or "application/octet-stream")


def _file_bytes(p: Params, field: str) -> tuple[bytes, str]:
    value = p.raw(field)
    if value is None:
        raise param_error(field, MISSING_MSG)
    if not isinstance(value, web.FileField):
        raise param_error(field, "Not a valid file: send it as a multipart/form-data file part.")
    return value.file.read(), value.filename or ""


def _check_signature(p: Params, field: str, data: bytes) -> str:
    signature = p.string(field, required=True)
    assert signature is not None
    actual = hashlib.md5(data).hexdigest()
    if signature.lower() != actual:
        raise ApiError(errors.SIGNATURE_ERROR, f"{field}: The signature does not match the MD5 of the file.")
    return actual


async def _fetch(url: str, video: bool, timeout_s: float) -> tuple[bytes, str]:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise param_error("video_url" if video else "image_url", "Not a valid URL.")
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
            if resp.status >= 400:
                raise ApiError(errors.URL_UNAVAILABLE, f"The URL is unavailable (HTTP {resp.status}).")
            return await resp.read(), posixpath.basename(parsed.path)
    except TimeoutError:
        code = errors.URL_FETCH_TIMEOUT if video else errors.IMAGE_FETCH_TIMEOUT
        raise ApiError(code, "Timed out fetching the file from the URL.") from None
    except aiohttp.ClientError as exc:
        raise ApiError(errors.URL_FETCH_ERROR, f"Failed to fetch the file from the URL: {exc}.") from None


def _name_taken(ctx: Ctx, advertiser_id: str, kind: str, name: str) -> SandboxObject | None:
    kinds = (IMAGE, VIDEO) if ctx.switch("file_name_scope") == "shared" else (kind,)
    for k in kinds:
        for obj in ctx.store.all(k):
            if obj.account_id == advertiser_id and obj.name == name:
                return obj
    return None


def _choose_name(ctx: Ctx, p: Params, advertiser_id: str, kind: str, default: str) -> str:
    """An explicit file_name must be unique (40911). Without one the name is the original file name plus
    an upload timestamp (switch `default_file_name` "timestamped"), or the bare original name, which then
    must be unique too ("original")."""
    explicit = p.string("file_name", min_len=1, max_len=100)
    original = (default or f"{kind}").strip() or kind
    if explicit is None and ctx.switch("default_file_name") == "timestamped":
        stamp = datetime.fromtimestamp(ctx.now, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        name = f"{original[: 100 - len(stamp) - 1]}_{stamp}"
        n = 1
        while _name_taken(ctx, advertiser_id, kind, name):
            suffix = f"_{n}"
            name = f"{original[: 100 - len(stamp) - 1 - len(suffix)]}_{stamp}{suffix}"
            n += 1
        return name
    name = explicit if explicit is not None else original[:100]
    if _name_taken(ctx, advertiser_id, kind, name):
        raise ApiError(
            errors.DUPLICATED_MATERIAL_NAME,
            f"file_name: Duplicated material name {name!r} in this advertiser account.",
        )
    return name


def _check_size(ctx: Ctx, data: bytes, limit_switch: str) -> None:
    if not data:
        raise ApiError(errors.FILE_EMPTY, "The file is empty.")
    limit = int(ctx.switch(limit_switch))
    if len(data) > limit:
        raise ApiError(errors.FILE_TOO_LARGE, f"The file is too large: at most {limit} bytes.")


# ---- images --------------------------------------------------------------------------------
def image_view(ctx: Ctx, obj: SandboxObject) -> dict[str, Any]:
    out = {k: v for k, v in obj.fields.items() if not k.startswith("_")}
    out["image_url"], _ = signed_url(ctx, "image", obj.id)
    return out


async def upload_image(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    if ctx.switch("reject_unknown_fields"):
        p.reject_unknown(IMAGE_FIELDS)
    adv = ctx.advertiser()
    upload_type = p.enum(
        "upload_type", ("UPLOAD_BY_FILE", "UPLOAD_BY_URL", "UPLOAD_BY_FILE_ID"), default="UPLOAD_BY_FILE"
    )
    if upload_type == "UPLOAD_BY_FILE":
        data, default_name = _file_bytes(p, "image_file")
        _check_size(ctx, data, "image_max_bytes")
        _check_signature(p, "image_signature", data)
    elif upload_type == "UPLOAD_BY_URL":
        url = p.string("image_url", required=True)
        assert url is not None
        data, default_name = await _fetch(
            url, video=False, timeout_s=float(ctx.switch("url_fetch_timeout_s"))
        )
        _check_size(ctx, data, "image_max_bytes")
    else:
        p.id("file_id", required=True)
        raise ApiError(errors.FILE_NOT_EXIST, "file_id: The file does not exist or has expired.")
    info = image_info(data)
    if info is None:
        raise ApiError(errors.FILE_TYPE_ERROR, "The file type is not supported: use JPG, JPEG or PNG.")
    if info.width * info.height > int(ctx.switch("image_max_pixels")):
        raise param_error(
            "image_file",
            f"The image is too large: width x height must be at most {ctx.switch('image_max_pixels')}.",
        )
    signature = hashlib.md5(data).hexdigest()
    if ctx.switch("image_same_bytes_same_id"):
        for obj in ctx.store.all(IMAGE):
            if obj.account_id == adv.advertiser_id and obj.fields.get("signature") == signature:
                return image_view(ctx, obj)
    name = _choose_name(ctx, p, adv.advertiser_id, IMAGE, default_name)
    obj = _store_file(ctx, IMAGE, ids.image_id(), adv.advertiser_id, name, data, info)
    obj.fields.update(is_carousel_usable=True, displayable=True)
    return image_view(ctx, obj)


def _store_file(
    ctx: Ctx, kind: str, object_id: str, advertiser_id: str, name: str, data: bytes, info: MediaInfo
) -> SandboxObject:
    stamp = format_iso(ctx.now)
    fields: dict[str, Any] = {
        f"{kind}_id": object_id,
        "material_id": ctx.sb.ids.next(),
        "file_name": name,
        "format": info.format,
        "width": info.width,
        "height": info.height,
        "size": len(data),
        "signature": hashlib.md5(data).hexdigest(),
        "create_time": stamp,
        "modify_time": stamp,
    }
    obj = SandboxObject(
        kind=kind, id=object_id, name=name, parent_id=None, account_id=advertiser_id, status="ENABLE",
        created_at=ctx.now, updated_at=ctx.now, fields=fields,
    )  # fmt: skip
    ctx.store.put(obj)
    ctx.state.blobs[object_id] = data
    return obj


async def image_info_get(ctx: Ctx) -> dict[str, Any]:
    adv = ctx.advertiser()
    image_ids = ctx.params.string_list("image_ids", required=True, min_items=1, max_items=100)
    assert image_ids is not None
    rows = []
    for image_id in image_ids:
        obj = ctx.store.get(image_id, IMAGE)
        if obj is not None and obj.account_id == adv.advertiser_id:
            rows.append(image_view(ctx, obj))
    return {"list": rows}


async def image_search(ctx: Ctx) -> dict[str, Any]:
    adv = ctx.advertiser()
    flt = filtering(ctx, ("image_ids", "material_ids", "width", "height", "ratio", "displayable"))
    image_ids = flt.string_list("image_ids", max_items=100)
    material_ids = flt.id_list("material_ids", max_items=100)
    width = flt.integer("width")
    height = flt.integer("height")
    ratios = flt.array("ratio")
    displayable = flt.boolean("displayable")
    page, size = page_args(ctx.params, default_size=20, max_size=1000)
    rows = []
    for obj in ctx.store.all(IMAGE):
        f = obj.fields
        if obj.account_id != adv.advertiser_id:
            continue
        if image_ids is not None and obj.id not in image_ids:
            continue
        if material_ids is not None and f["material_id"] not in material_ids:
            continue
        if width is not None and f["width"] != width:
            continue
        if height is not None and f["height"] != height:
            continue
        if displayable is not None and f.get("displayable") != displayable:
            continue
        if ratios and not any(
            f["height"] and abs(f["width"] / f["height"] - float(r)) < 0.01 for r in ratios
        ):
            continue
        rows.append(obj)
    rows.sort(key=lambda o: o.created_at, reverse=True)
    page_rows, info = paginate(rows, page, size)
    return {"list": [image_view(ctx, o) for o in page_rows], "page_info": info}


# ---- videos --------------------------------------------------------------------------------
def video_ready(sb: Any, obj: SandboxObject, now: float) -> bool:
    return now >= float(obj.fields.get("_ready_at", 0.0))


def video_view(ctx: Ctx, obj: SandboxObject) -> dict[str, Any]:
    out = {k: v for k, v in obj.fields.items() if not k.startswith("_")}
    ready = video_ready(ctx.sb, obj, ctx.now)
    out["displayable"] = ready
    out["allow_download"] = ready
    if ready:
        out["preview_url"], out["preview_url_expire_time"] = signed_url(ctx, "video", obj.id)
        out["preview_url_expire_time"] = format_iso(out["preview_url_expire_time"]).replace("T", " ")[:-1]
        out["video_cover_url"], _ = signed_url(ctx, "video", obj.id)
    else:
        out["preview_url"] = out["preview_url_expire_time"] = out["video_cover_url"] = None
    return out


async def upload_video(ctx: Ctx) -> list[dict[str, Any]]:
    p = ctx.params
    if ctx.switch("reject_unknown_fields"):
        p.reject_unknown(VIDEO_FIELDS)
    adv = ctx.advertiser()
    upload_type = p.enum(
        "upload_type",
        ("UPLOAD_BY_FILE", "UPLOAD_BY_URL", "UPLOAD_BY_FILE_ID", "UPLOAD_BY_VIDEO_ID"),
        default="UPLOAD_BY_FILE",
    )
    for flag in ("flaw_detect", "auto_fix_enabled", "auto_bind_enabled", "is_third_party"):
        p.boolean(flag)
    if upload_type == "UPLOAD_BY_FILE":
        data, default_name = _file_bytes(p, "video_file")
        _check_size(ctx, data, "video_max_bytes")
        _check_signature(p, "video_signature", data)
    elif upload_type == "UPLOAD_BY_URL":
        url = p.string("video_url", required=True)
        assert url is not None
        data, default_name = await _fetch(url, video=True, timeout_s=float(ctx.switch("url_fetch_timeout_s")))
        _check_size(ctx, data, "video_max_bytes")
    elif upload_type == "UPLOAD_BY_VIDEO_ID":
        source_id = p.string("video_id", required=True)
        source = ctx.store.get(source_id or "", VIDEO)
        if source is None or (ctx.token and source.account_id not in ctx.token.advertiser_ids):
            raise ApiError(errors.NOT_EXIST, f"video_id: Video {source_id} does not exist.")
        data, default_name = ctx.state.blobs.get(source.id, b""), source.name
    else:
        p.id("file_id", required=True)
        raise ApiError(errors.FILE_NOT_EXIST, "file_id: The file does not exist or has expired.")
    info = video_info(data)
    if info is None:
        raise ApiError(errors.FILE_TYPE_ERROR, "The file type is not supported: use MP4, MOV, MPEG or AVI.")
    name = _choose_name(ctx, p, adv.advertiser_id, VIDEO, default_name)
    obj = _store_file(ctx, VIDEO, ids.video_id(), adv.advertiser_id, name, data, info)
    obj.fields.update(
        duration=info.duration,
        bit_rate=int(len(data) * 8 / info.duration) if info.duration else 0,
        allow_upload=True,
        _ready_at=ctx.now + float(ctx.sb.config.video_processing_s),
    )
    return [video_view(ctx, obj)]


async def video_info_get(ctx: Ctx) -> dict[str, Any]:
    adv = ctx.advertiser()
    video_ids = ctx.params.string_list("video_ids", required=True, min_items=1, max_items=60)
    assert video_ids is not None
    rows = []
    for video_id in video_ids:
        obj = ctx.store.get(video_id, VIDEO)
        if obj is not None and obj.account_id == adv.advertiser_id:
            rows.append(video_view(ctx, obj))
    return {"list": rows}


async def video_search(ctx: Ctx) -> dict[str, Any]:
    adv = ctx.advertiser()
    known = (
        "video_ids",
        "material_ids",
        "video_name",
        "video_material_sources",
        "width",
        "height",
        "ratio",
        "displayable",
    )
    flt = filtering(ctx, known)
    video_ids = flt.string_list("video_ids", max_items=100)
    material_ids = flt.id_list("material_ids", max_items=20)
    name = flt.string("video_name")
    flt.string_list("video_material_sources")
    page, size = page_args(ctx.params, default_size=20, max_size=100)
    rows = []
    for obj in ctx.store.all(VIDEO):
        if obj.account_id != adv.advertiser_id:
            continue
        if video_ids is not None and obj.id not in video_ids:
            continue
        if material_ids is not None and obj.fields["material_id"] not in material_ids:
            continue
        if name is not None and not fuzzy(obj.name, name):
            continue
        rows.append(obj)
    rows.sort(key=lambda o: o.updated_at, reverse=True)
    rows = rows[:10_000]  # only the 10,000 most recently modified videos are searchable
    page_rows, info = paginate(rows, page, size)
    return {"list": [video_view(ctx, o) for o in page_rows], "page_info": info}


# ---- names ---------------------------------------------------------------------------------
async def name_check(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    adv = ctx.advertiser()
    files = p.array("files", min_items=1, max_items=20)
    if files is None:
        name = p.string("file_name", required=True, min_len=1, max_len=100)
        file_type = p.enum("file_type", ("IMAGE", "VIDEO"), required=True)
        assert name is not None and file_type is not None
        return _name_result(ctx, adv.advertiser_id, name, file_type, batch=False)
    results = []
    for i, raw in enumerate(files):
        if not isinstance(raw, dict):
            raise param_error(f"files.{i}", "Not a valid mapping type.")
        item = Params(raw, prefix=f"files.{i}.")
        name = item.string("file_name", required=True, min_len=1, max_len=100)
        file_type = item.enum("file_type", ("IMAGE", "VIDEO"), required=True)
        assert name is not None and file_type is not None
        results.append(_name_result(ctx, adv.advertiser_id, name, file_type, batch=True))
    return {"batch_results": results}


def _name_result(ctx: Ctx, advertiser_id: str, name: str, file_type: str, *, batch: bool) -> dict[str, Any]:
    found = _name_taken(ctx, advertiser_id, IMAGE if file_type == "IMAGE" else VIDEO, name)
    out: dict[str, Any] = {
        "duplicate": found is not None,
        "duplicate_material_id": found.fields["material_id"] if found else None,
    }
    if batch:
        out = {"file_name": name, "file_type": file_type, **out}
    return out
