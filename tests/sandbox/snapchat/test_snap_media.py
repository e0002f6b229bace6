"""Media: record creation, simple upload (unwrapped result), multipart-upload-v2, video processing."""

from __future__ import annotations

import asyncio
import base64
import struct
import zlib
from typing import Any

import httpx

from .support import ACCOUNT, Snap, entity, item_error, mp4, png

MEDIA = f"/v1/adaccounts/{ACCOUNT}/media"


async def new_media(snap: Snap, kind: str = "IMAGE", name: str = "ar-m1") -> dict[str, Any]:
    return await snap.create(MEDIA, "media", {"name": name, "type": kind})


async def upload(snap: Snap, media_id: str, data: bytes, filename: str = "top.png") -> httpx.Response:
    return await snap.http.post(
        f"/v1/media/{media_id}/upload",
        files={"file": (filename, data, "application/octet-stream")},
        headers=snap.auth(),
    )


async def test_create_is_pending_upload_and_listed(snap: Snap) -> None:
    r = await snap.post(MEDIA, {"media": [{"name": "ar-m1", "type": "IMAGE", "ad_account_id": ACCOUNT}]})
    assert r.headers["X-Rate-Limit-Limit"] == "25"
    media = entity(r.json(), "media")
    assert media["media_status"] == "PENDING_UPLOAD"
    assert (media["is_demo_media"], media["visibility"]) == (False, "VISIBLE")
    listed = (await snap.get(MEDIA)).json()
    assert [m["media"]["id"] for m in listed["media"]] == [media["id"]]
    bad = await snap.post(MEDIA, {"media": [{"name": "x", "type": "GIF"}]})
    assert "Invalid type" in item_error(bad.json(), "media")
    no_name = await snap.post(MEDIA, {"media": [{"type": "IMAGE"}]})
    assert "name is required" in item_error(no_name.json(), "media")


async def test_image_upload_is_ready_at_once_with_the_recorded_result(snap: Snap) -> None:
    media = await new_media(snap)
    data = png()
    r = await upload(snap, media["id"], data)
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["result", "request_status", "request_id"]  # unwrapped, as recorded
    result = body["result"]
    assert result["media_status"] == "READY"
    assert result["image_metadata"] == {"height_px": 1920, "width_px": 1080, "image_format": "PNG"}
    assert result["file_size_in_bytes"] == len(data)
    assert result["file_name"].endswith(".png") and result["file_name"] != "top.png"  # a server UUID
    assert result["download_link"].endswith(f"/{media['id']}/{result['file_name']}")
    assert result["hash"] == base64.b64encode(struct.pack(">I", zlib.crc32(data))).decode()
    assert result["media_usages"] == ["TOP_SNAP"]
    assert result["created_by_user"]
    assert "X-Rate-Limit-Limit" not in r.headers
    read = entity((await snap.get(f"/v1/media/{media['id']}")).json(), "media")
    assert read["media_status"] == "READY"
    assert "created_by_user" not in read
    again = await upload(snap, media["id"], data)
    assert again.status_code == 400


async def test_upload_rejections(snap: Snap) -> None:
    media = await new_media(snap)
    assert (await upload(snap, media["id"], b"GIF89a not supported")).status_code == 400
    small = await upload(snap, media["id"], png(540, 960))
    assert small.status_code == 400
    assert "1080x1920" in small.json()["debug_message"]
    no_file = await snap.http.post(f"/v1/media/{media['id']}/upload", data={"x": "1"}, headers=snap.auth())
    assert no_file.status_code == 400
    as_json = await snap.post(f"/v1/media/{media['id']}/upload", {"file": "abc"})
    assert as_json.status_code == 400
    missing = await upload(snap, "00000000-0000-4000-8000-000000000000", png())
    assert missing.status_code == 404
    assert (
        entity((await snap.get(f"/v1/media/{media['id']}")).json(), "media")["media_status"]
        == "PENDING_UPLOAD"
    )


async def test_simple_upload_above_the_limit_must_use_multipart(snap: Snap) -> None:
    await snap.switches(simple_upload_max_bytes=10_000, multipart_part_max_bytes=10_000)
    video = await new_media(snap, "VIDEO")
    r = await upload(snap, video["id"], mp4(25_000), "clip.mp4")
    assert r.status_code == 400
    assert "multipart-upload-v2" in r.json()["debug_message"]


async def test_video_simple_upload_turns_ready_after_processing(snap: Snap) -> None:
    await snap.config(video_processing_s=1.0)
    video = await new_media(snap, "VIDEO")
    r = await upload(snap, video["id"], mp4(), "clip.mp4")
    assert r.status_code == 200
    assert r.json()["result"]["media_status"] == "PENDING_UPLOAD"  # transcoding
    creative = await snap.post(
        f"/v1/adaccounts/{ACCOUNT}/creatives",
        {
            "creatives": [
                {
                    "ad_account_id": ACCOUNT,
                    "name": "v",
                    "type": "SNAP_AD",
                    "headline": "h",
                    "brand_name": "b",
                    "top_snap_media_id": video["id"],
                }
            ]
        },
    )
    assert "hasn't been uploaded yet" in item_error(creative.json(), "creatives")
    for _ in range(60):
        status = entity((await snap.get(f"/v1/media/{video['id']}")).json(), "media")["media_status"]
        if status == "READY":
            break
        await asyncio.sleep(0.05)
    assert status == "READY"
    assert (await upload(snap, video["id"], mp4(), "clip.mp4")).status_code == 400
    assert (await upload(snap, (await new_media(snap, "VIDEO"))["id"], b"not a video")).status_code == 400


async def test_multipart_upload_v2(snap: Snap) -> None:
    await snap.switches(multipart_part_max_bytes=10_000)
    video = await new_media(snap, "VIDEO", "ar-big")
    data = mp4(25_000)
    init = await snap.http.post(
        f"/v1/media/{video['id']}/multipart-upload-v2?action=INIT",
        data={"file_name": "big.mp4", "file_size": str(len(data)), "number_of_parts": "3"},
        headers=snap.auth(),
    )
    assert init.status_code == 200, init.text
    session = init.json()
    assert set(session) == {"request_status", "request_id", "upload_id", "add_path", "finalize_path"}
    assert session["add_path"] == f"/us/v1/media/{video['id']}/multipart-upload-v2?action=ADD"
    assert session["finalize_path"] == f"/v1/media/{video['id']}/multipart-upload-v2?action=FINALIZE"
    parts = [data[i : i + 10_000] for i in range(0, len(data), 10_000)]
    for number, part in enumerate(parts[:2], start=1):
        added = await snap.http.post(
            session["add_path"],
            data={"part_number": str(number), "upload_id": session["upload_id"]},
            files={"file": ("big.mp4", part, "video/mp4")},
            headers=snap.auth(),
        )
        assert added.status_code == 200, added.text
    early = await snap.http.post(
        session["finalize_path"],
        data={"upload_id": session["upload_id"], "file_name": "big.mp4"},
        headers=snap.auth(),
    )
    assert early.status_code == 400
    assert "[3]" in early.json()["debug_message"]
    await snap.http.post(
        session["add_path"],
        data={"part_number": "3", "upload_id": session["upload_id"]},
        files={"file": ("big.mp4", parts[2], "video/mp4")},
        headers=snap.auth(),
    )
    done = await snap.http.post(
        session["finalize_path"],
        data={"upload_id": session["upload_id"], "file_name": "big.mp4"},
        headers=snap.auth(),
    )
    assert done.status_code == 200, done.text
    result = done.json()["result"]
    assert result["file_size_in_bytes"] == len(data)
    assert result["file_name"] == "big.mp4"
    assert result["id"] == video["id"]
    reused = await snap.http.post(
        session["finalize_path"], data={"upload_id": session["upload_id"]}, headers=snap.auth()
    )
    assert reused.status_code == 400


async def test_multipart_validation(snap: Snap) -> None:
    await snap.switches(multipart_part_max_bytes=10_000)
    video = await new_media(snap, "VIDEO")
    base = f"/v1/media/{video['id']}/multipart-upload-v2"
    too_few = await snap.http.post(
        f"{base}?action=INIT",
        data={"file_name": "a.mp4", "file_size": "25000", "number_of_parts": "2"},
        headers=snap.auth(),
    )
    assert too_few.status_code == 400
    missing_name = await snap.http.post(
        f"{base}?action=INIT", data={"file_size": "100", "number_of_parts": "1"}, headers=snap.auth()
    )
    assert missing_name.status_code == 400
    assert (await snap.http.post(f"{base}?action=RESUME", data={}, headers=snap.auth())).status_code == 400
    init = (
        await snap.http.post(
            f"{base}?action=INIT",
            data={"file_name": "a.mp4", "file_size": "5000", "number_of_parts": "1"},
            headers=snap.auth(),
        )
    ).json()
    wrong_id = await snap.http.post(
        f"{base}?action=ADD",
        data={"part_number": "1", "upload_id": "nope"},
        files={"file": ("a.mp4", mp4(5000), "video/mp4")},
        headers=snap.auth(),
    )
    assert wrong_id.status_code == 400
    beyond = await snap.http.post(
        f"{base}?action=ADD",
        data={"part_number": "2", "upload_id": init["upload_id"]},
        files={"file": ("a.mp4", mp4(5000), "video/mp4")},
        headers=snap.auth(),
    )
    assert beyond.status_code == 400
    short = await snap.http.post(
        f"{base}?action=ADD",
        data={"part_number": "1", "upload_id": init["upload_id"]},
        files={"file": ("a.mp4", mp4(4000), "video/mp4")},
        headers=snap.auth(),
    )
    assert short.status_code == 200
    mismatch = await snap.http.post(
        f"{base}?action=FINALIZE", data={"upload_id": init["upload_id"]}, headers=snap.auth()
    )
    assert mismatch.status_code == 400
    assert "file_size" in mismatch.json()["debug_message"]


async def test_media_has_no_delete(snap: Snap) -> None:
    media = await new_media(snap)
    r = await snap.delete(f"/v1/media/{media['id']}")
    assert r.status_code == 405
    assert entity((await snap.get(f"/v1/media/{media['id']}")).json(), "media")["id"] == media["id"]
