"""Uploads (MD5 signatures, unique file names, limits), name check, search and info, processing."""

from __future__ import annotations

import asyncio

import httpx

from sandbox.tiktok.fixtures import ADVERTISER_ID, mp4_bytes, png_bytes
from sandbox.tiktok.media import jpeg_header
from tests.sandbox.tiktok.tiktok_support import Receiver, TikTokClient, md5

IMAGE = "/file/image/ad/upload/"
VIDEO = "/file/video/ad/upload/"


async def upload_image(tt: TikTokClient, data: bytes, signature: str | None = None, **form: str) -> dict:
    fields = {"advertiser_id": ADVERTISER_ID, "image_signature": signature or md5(data), **form}
    return await tt.upload(IMAGE, fields, {"image_file": ("pic.png", data, "image/png")})


async def upload_video(tt: TikTokClient, data: bytes, signature: str | None = None, **form: str) -> dict:
    fields = {"advertiser_id": ADVERTISER_ID, "video_signature": signature or md5(data), **form}
    return await tt.upload(VIDEO, fields, {"video_file": ("clip.mp4", data, "video/mp4")})


async def test_image_upload_by_file_answers_image_object(tt: TikTokClient) -> None:
    data = png_bytes(1080, 1920)
    res = await upload_image(tt, data, file_name="ar-img-1.png")
    assert res["code"] == 0, res
    d = res["data"]
    assert d["image_id"].startswith("ad-site-i18n-sg/") and d["material_id"].isdigit()
    assert (d["width"], d["height"], d["format"], d["size"]) == (1080, 1920, "png", len(data))
    assert d["signature"] == md5(data) and d["file_name"] == "ar-img-1.png"
    assert d["displayable"] is True and d["is_carousel_usable"] is True
    assert d["create_time"].endswith("Z") and "T" in d["create_time"]
    # image_url serves the bytes for an hour.
    resp = await tt.http.get(d["image_url"])
    assert resp.status_code == 200 and resp.content == data
    bad = httpx.URL(d["image_url"]).copy_set_param("x-signature", "0" * 32)
    assert (await tt.http.get(bad)).status_code == 403
    jpeg = jpeg_header(640, 640)
    res = await upload_image(tt, jpeg, file_name="square.jpg")
    assert res["code"] == 0 and (res["data"]["width"], res["data"]["format"]) == (640, "jpeg")


async def test_signature_mismatch_is_40900(tt: TikTokClient) -> None:
    res = await upload_image(tt, png_bytes(10, 10), signature=md5(b"other"))
    assert res["code"] == 40900
    res = await upload_video(tt, mp4_bytes(720, 1280), signature="x")
    assert res["code"] == 40900
    assert await tt.objects() == []


async def test_missing_file_or_signature(tt: TikTokClient) -> None:
    res = await tt.upload(IMAGE, {"advertiser_id": ADVERTISER_ID, "image_signature": "abc"})
    assert res["code"] == 40002 and res["message"].startswith("image_file:")
    data = png_bytes(10, 10)
    res = await tt.upload(
        IMAGE, {"advertiser_id": ADVERTISER_ID}, {"image_file": ("a.png", data, "image/png")}
    )
    assert res["message"] == "image_signature: Missing data for required field."


async def test_duplicate_file_name_is_40911_and_name_check_reports_it(tt: TikTokClient) -> None:
    first = await upload_image(tt, png_bytes(10, 10), file_name="ar-abc123.png")
    assert first["code"] == 0
    dup = await upload_image(tt, png_bytes(10, 10, shade=9), file_name="ar-abc123.png")
    assert dup["code"] == 40911
    assert len(await tt.objects("image")) == 1
    check = await tt.get(
        "/file/name/check/",
        {"advertiser_id": ADVERTISER_ID, "file_name": "ar-abc123.png", "file_type": "IMAGE"},
    )
    assert check["code"] == 0
    assert check["data"] == {"duplicate": True, "duplicate_material_id": first["data"]["material_id"]}
    free = await tt.get(
        "/file/name/check/",
        {"advertiser_id": ADVERTISER_ID, "file_name": "ar-free.png", "file_type": "IMAGE"},
    )
    assert free["data"] == {"duplicate": False, "duplicate_material_id": None}
    # Names are per type by default: a video may use the image's name.
    assert (await upload_video(tt, mp4_bytes(720, 1280), file_name="ar-abc123.png"))["code"] == 0
    await tt.switches(file_name_scope="shared")
    assert (await upload_video(tt, mp4_bytes(720, 1280, salt=b"2"), file_name="ar-abc123.png"))[
        "code"
    ] == 40911


async def test_name_check_batch_and_limits(tt: TikTokClient) -> None:
    v = (await upload_video(tt, mp4_bytes(720, 1280), file_name="ar-vid.mp4"))["data"][0]
    files = [
        {"file_name": "ar-vid.mp4", "file_type": "VIDEO"},
        {"file_name": "ar-vid.mp4", "file_type": "IMAGE"},
    ]
    res = await tt.get("/file/name/check/", {"advertiser_id": ADVERTISER_ID, "files": files})
    assert res["code"] == 0
    assert res["data"]["batch_results"] == [
        {
            "file_name": "ar-vid.mp4",
            "file_type": "VIDEO",
            "duplicate": True,
            "duplicate_material_id": v["material_id"],
        },
        {"file_name": "ar-vid.mp4", "file_type": "IMAGE", "duplicate": False, "duplicate_material_id": None},
    ]
    res = await tt.get("/file/name/check/", {"advertiser_id": ADVERTISER_ID, "files": files * 11})
    assert res["code"] == 40002
    res = await tt.get("/file/name/check/", {"advertiser_id": ADVERTISER_ID, "file_name": "x"})
    assert res["message"] == "file_type: Missing data for required field."


async def test_file_name_length_and_default_names(tt: TikTokClient) -> None:
    assert (await upload_image(tt, png_bytes(10, 10), file_name="x" * 101))["code"] == 40002
    a = await upload_image(tt, png_bytes(10, 10))
    b = await upload_image(tt, png_bytes(10, 10))
    assert a["code"] == b["code"] == 0
    assert (
        a["data"]["file_name"].startswith("pic.png_20") and b["data"]["file_name"] != a["data"]["file_name"]
    )
    await tt.switches(default_file_name="original")
    assert (await upload_image(tt, png_bytes(10, 10)))["data"]["file_name"] == "pic.png"
    assert (await upload_image(tt, png_bytes(10, 10)))["code"] == 40911


async def test_type_and_size_limits(tt: TikTokClient) -> None:
    res = await upload_image(tt, b"GIF89a" + b"\x00" * 20)
    assert res["code"] == 40908
    res = await upload_video(tt, b"not a video at all")
    assert res["code"] == 40908
    await tt.switches(image_max_bytes=40)
    res = await upload_image(tt, png_bytes(100, 100))
    assert res["code"] == 40907
    await tt.switches(image_max_bytes=50 * 1024 * 1024)
    res = await upload_image(tt, png_bytes(2000, 2000))
    assert res["code"] == 40002 and res["message"].startswith("image_file:")


async def test_image_upload_by_url(tt: TikTokClient, receiver: Receiver) -> None:
    data = png_bytes(300, 300)
    receiver.files["banner.png"] = data
    res = await tt.upload(
        IMAGE,
        {
            "advertiser_id": ADVERTISER_ID,
            "upload_type": "UPLOAD_BY_URL",
            "image_url": f"{receiver.url}/files/banner.png",
        },
    )
    assert res["code"] == 0, res
    assert res["data"]["signature"] == md5(data) and res["data"]["file_name"].startswith("banner.png_")
    res = await tt.upload(
        IMAGE,
        {
            "advertiser_id": ADVERTISER_ID,
            "upload_type": "UPLOAD_BY_URL",
            "image_url": f"{receiver.url}/files/missing.png",
        },
    )
    assert res["code"] == 40903
    res = await tt.upload(
        IMAGE, {"advertiser_id": ADVERTISER_ID, "upload_type": "UPLOAD_BY_FILE_ID", "file_id": "123"}
    )
    assert res["code"] == 40905


async def test_video_upload_answers_a_list_and_each_upload_is_a_new_video(tt: TikTokClient) -> None:
    data = mp4_bytes(1080, 1920, 15.0)
    first = await upload_video(tt, data)
    assert first["code"] == 0 and isinstance(first["data"], list) and len(first["data"]) == 1
    v = first["data"][0]
    assert v["video_id"].startswith("v10033g50000") and v["material_id"].isdigit()
    assert (v["width"], v["height"], v["duration"], v["format"]) == (1080, 1920, 15.0, "mp4")
    assert v["signature"] == md5(data) and v["size"] == len(data)
    second = (await upload_video(tt, data))["data"][0]
    assert second["video_id"] != v["video_id"]
    assert len(await tt.objects("video")) == 2


async def test_video_processing_state(tt: TikTokClient) -> None:
    await tt.config(video_processing_s=0.4)
    v = (await upload_video(tt, mp4_bytes(720, 1280)))["data"][0]
    assert v["displayable"] is False and v["video_cover_url"] is None
    info = await tt.get(
        "/file/video/ad/info/", {"advertiser_id": ADVERTISER_ID, "video_ids": [v["video_id"]]}
    )
    assert info["data"]["list"][0]["displayable"] is False
    await asyncio.sleep(0.45)
    info = await tt.get(
        "/file/video/ad/info/", {"advertiser_id": ADVERTISER_ID, "video_ids": [v["video_id"]]}
    )
    row = info["data"]["list"][0]
    assert row["displayable"] is True and row["video_cover_url"].startswith("http")
    res = await tt.get("/file/video/ad/info/", {"advertiser_id": ADVERTISER_ID, "video_ids": ["v"] * 61})
    assert res["code"] == 40002


async def test_video_search_filters(tt: TikTokClient) -> None:
    a = (await upload_video(tt, mp4_bytes(720, 1280, salt=b"a"), file_name="ar-9f8e7d-main.mp4"))["data"][0]
    b = (await upload_video(tt, mp4_bytes(720, 1280, salt=b"b"), file_name="other.mp4"))["data"][0]

    async def search(flt: dict | None = None, **extra: object) -> dict:
        params = {"advertiser_id": ADVERTISER_ID, **extra}
        if flt is not None:
            params["filtering"] = flt
        return await tt.get("/file/video/ad/search/", params)

    res = await search()
    assert res["code"] == 0 and res["data"]["page_info"]["page_size"] == 20
    assert {r["video_id"] for r in res["data"]["list"]} == {a["video_id"], b["video_id"]}
    assert [r["video_id"] for r in (await search({"video_name": "AR-9F8E"}))["data"]["list"]] == [
        a["video_id"]
    ]
    res = await search({"material_ids": [b["material_id"]]})
    assert [r["video_id"] for r in res["data"]["list"]] == [b["video_id"]]
    assert [r["video_id"] for r in (await search({"video_ids": [a["video_id"]]}))["data"]["list"]] == [
        a["video_id"]
    ]
    # No signature or file_name filter on the real endpoint: they are not honoured.
    res = await search({"signature": a["signature"]})
    assert res["data"]["page_info"]["total_number"] == 2
    res = await search({"file_name": "ar-9f8e7d-main.mp4"})
    assert res["data"]["page_info"]["total_number"] == 2
    assert (await search(page_size=101))["code"] == 40002
    assert (await search(page_size=100))["code"] == 0
    assert (await search({"material_ids": ["1"] * 21}))["code"] == 40002


async def test_image_search_has_no_name_filter(tt: TikTokClient) -> None:
    a = (await upload_image(tt, png_bytes(100, 100, 1), file_name="ar-a.png"))["data"]
    b = (await upload_image(tt, png_bytes(200, 100, 2), file_name="ar-b.png"))["data"]

    async def search(flt: dict | None = None) -> dict:
        params: dict = {"advertiser_id": ADVERTISER_ID}
        if flt is not None:
            params["filtering"] = flt
        return await tt.get("/file/image/ad/search/", params)

    assert (await search({"file_name": "ar-a.png"}))["data"]["page_info"]["total_number"] == 2
    assert (await search({"image_name": "ar-a"}))["data"]["page_info"]["total_number"] == 2
    res = await search({"material_ids": [a["material_id"]]})
    assert [r["image_id"] for r in res["data"]["list"]] == [a["image_id"]]
    res = await search({"image_ids": [b["image_id"]]})
    assert [r["image_id"] for r in res["data"]["list"]] == [b["image_id"]]
    assert [r["image_id"] for r in (await search({"width": 200}))["data"]["list"]] == [b["image_id"]]
    info = await tt.get(
        "/file/image/ad/info/", {"advertiser_id": ADVERTISER_ID, "image_ids": [a["image_id"]]}
    )
    assert info["code"] == 0 and info["data"]["list"][0]["file_name"] == "ar-a.png"


async def test_url_fetch_timeout(tt: TikTokClient, receiver: Receiver) -> None:
    await tt.switches(url_fetch_timeout_s=0.2)
    res = await tt.upload(
        IMAGE,
        {
            "advertiser_id": ADVERTISER_ID,
            "upload_type": "UPLOAD_BY_URL",
            "image_url": f"{receiver.url}/files/slow.png",
        },
    )
    assert res["code"] == 40913
    res = await tt.upload(
        VIDEO,
        {
            "advertiser_id": ADVERTISER_ID,
            "upload_type": "UPLOAD_BY_URL",
            "video_url": f"{receiver.url}/files/slow.png",
        },
    )
    assert res["code"] == 40902
