"""The Snapchat Marketing API v1 over HTTP: auth header, Snap's envelopes, paging, uploads, errors.

Conventions (platform-apis §3.1): base `{api_url}/v1`, `Authorization: Bearer`, JSON; writes are
batch arrays (`{"campaigns":[{…}]}`) answered per item (`sub_request_status`); statuses compare
case-insensitively (docs show "success", traffic "SUCCESS"); HTTP 200 with `request_status: ERROR`
or an item in ERROR is a failure. Updates PUT the full object on the collection endpoint. Lists page
through `paging.next_link` (absolute URL). Errors become classified `PlatformCallError`s here and
nowhere else.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from adrelay.engine.media import MediaFile
from adrelay.platforms.base import TokenSource
from adrelay.platforms.errors import LookupIncomplete, NotFound, OutcomeUnknown, PlatformCallError
from adrelay.platforms.http import PlatformHttp
from adrelay.platforms.snapchat.classify import classify, is_not_found
from adrelay.platforms.snapchat.limits import EndpointClass, SnapLimits

API_PREFIX = "/v1"
LIST_LIMIT = 1000  # the largest page Snap serves ("limit: 50 - 1000") [C]
# Kind → (plural key, singular key) of Snap's wrapped bodies [C]/[O].
WRAPPERS: dict[str, tuple[str, str]] = {
    "campaign": ("campaigns", "campaign"),
    "adsquad": ("adsquads", "adsquad"),
    "ad": ("ads", "ad"),
    "creative": ("creatives", "creative"),
    "media": ("media", "media"),
    "adaccount": ("adaccounts", "adaccount"),
}
# Answers to a create that may come after the write happened (a gateway timing out on a slow backend).
# 503 means the service refused the request unprocessed, so it stays a plain transient error.
AMBIGUOUS_STATUSES = frozenset({500, 502, 504})


@dataclass(frozen=True)
class Caller:
    """Who calls: the connection's tokens and its id (rate limits are per token, scoped by connection)."""

    tokens: TokenSource
    connection_id: str


class SnapClient:
    # Files above this go through multipart-upload-v2 ("> 32 MB" [S]); parts of `part_size_bytes`
    # (25 MiB, the size a real client uses [S]). Class attributes so tests can lower them.
    simple_upload_max_bytes: int = 32 * 1000 * 1000
    part_size_bytes: int = 25 * 1024 * 1024

    def __init__(self, http: PlatformHttp, limits: SnapLimits) -> None:
        self.http = http
        self.limits = limits
        self._origin = _origin(str(http.client.base_url))

    # ---- entities -------------------------------------------------------------------------------
    async def create(
        self,
        caller: Caller,
        path: str,
        kind: str,
        item: dict[str, Any],
        *,
        endpoint: str,
        klass: EndpointClass = EndpointClass.WRITE,
    ) -> dict[str, Any]:
        """POST one item as a batch of one; the created entity."""
        body = await self._call(
            caller,
            "POST",
            API_PREFIX + path,
            endpoint=endpoint,
            klass=klass,
            write=True,
            creates=True,
            json={WRAPPERS[kind][0]: [item]},
        )
        return self._single(body, kind)

    async def update(
        self, caller: Caller, path: str, kind: str, item: dict[str, Any], *, endpoint: str
    ) -> dict[str, Any]:
        """PUT the full object on the collection endpoint. Repeating a PUT is harmless, so an
        unanswered one is reported as transient (retried), not as an unknown outcome."""
        body = await self._call(
            caller,
            "PUT",
            API_PREFIX + path,
            endpoint=endpoint,
            klass=EndpointClass.WRITE,
            write=False,
            json={WRAPPERS[kind][0]: [item]},
        )
        return self._single(body, kind)

    async def get(
        self, caller: Caller, path: str, kind: str, *, endpoint: str, params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """One entity; NotFound when Snap says it does not exist (404 / E3004)."""
        try:
            body = await self._call(
                caller,
                "GET",
                API_PREFIX + path,
                endpoint=endpoint,
                klass=EndpointClass.READ,
                write=False,
                params=dict(params or {}),
            )
        except PlatformCallError as exc:
            if is_not_found(exc):
                raise NotFound(f"{kind} {path}: {exc.error.message}") from exc
            raise
        return self._single(body, kind)

    async def delete(self, caller: Caller, path: str, *, endpoint: str) -> None:
        """DELETE; NotFound when it is already gone (404 / E3004). Idempotent, so an unanswered
        DELETE is transient (retried) rather than an unknown outcome."""
        try:
            await self._call(
                caller, "DELETE", API_PREFIX + path, endpoint=endpoint, klass=EndpointClass.WRITE, write=False
            )
        except PlatformCallError as exc:
            if is_not_found(exc):
                raise NotFound(f"{path}: {exc.error.message}") from exc
            raise

    async def list_all(self, caller: Caller, path: str, kind: str, *, endpoint: str) -> list[dict[str, Any]]:
        """Every entity of a list endpoint, deleted ones included, following `paging.next_link` to the
        last page. Raises LookupIncomplete when the paging itself cannot be trusted."""
        plural, singular = WRAPPERS[kind]
        url = API_PREFIX + path
        params: dict[str, Any] | None = {"limit": LIST_LIMIT, "read_deleted_entities": "true"}
        seen: set[str] = set()
        found: list[dict[str, Any]] = []
        while True:
            body = await self._call(
                caller, "GET", url, endpoint=endpoint, klass=EndpointClass.READ, write=False, params=params
            )
            for entry in body.get(plural) or []:
                if (
                    not isinstance(entry, dict)
                    or str(entry.get("sub_request_status", "")).upper() != "SUCCESS"
                ):
                    raise LookupIncomplete(f"{endpoint}: a listed entry is not a success: {entry!r:.200}")
                found.append(entry[singular])
            paging = body.get("paging") or {}
            next_link = paging.get("next_link") if isinstance(paging, dict) else None
            if not next_link:
                return found
            url = self._next_page(str(next_link), endpoint)
            if url in seen:
                raise LookupIncomplete(f"{endpoint}: paging loops back to a page already read")
            seen.add(url)
            params = None

    # ---- media bytes ----------------------------------------------------------------------------
    async def upload(self, caller: Caller, media_id: str, media: MediaFile) -> dict[str, Any]:
        """Put the file into a PENDING_UPLOAD media record; the media as Snap then describes it."""
        file_name = media.asset.file_name or f"{media.asset.id}{_extension(media.asset.mime_type)}"
        if media.size <= self.simple_upload_max_bytes:
            data = await asyncio.to_thread(media.read)
            body = await self._call(
                caller,
                "POST",
                f"{API_PREFIX}/media/{media_id}/upload",
                endpoint="POST /media/{id}/upload",
                klass=EndpointClass.UPLOAD,
                write=True,
                creates=True,
                files={"file": (file_name, data, media.asset.mime_type)},
            )
        else:
            body = await self._upload_in_parts(caller, media_id, media, file_name)
        result = body.get("result")
        if not isinstance(result, dict):
            raise classify(200, {"debug_message": f"upload answer without result: {sorted(body)}"}, {})
        return result

    async def _upload_in_parts(
        self, caller: Caller, media_id: str, media: MediaFile, file_name: str
    ) -> dict[str, Any]:
        """multipart-upload-v2: INIT, one ADD per part (1-based), FINALIZE [S k0va1 gem]."""
        endpoint = "POST /media/{id}/multipart-upload-v2"
        parts = math.ceil(media.size / self.part_size_bytes)
        init = await self._call(
            caller,
            "POST",
            f"{API_PREFIX}/media/{media_id}/multipart-upload-v2",
            endpoint=endpoint,
            klass=EndpointClass.UPLOAD,
            write=True,
            creates=True,
            params={"action": "INIT"},
            files=_form(file_name=file_name, file_size=str(media.size), number_of_parts=str(parts)),
        )
        upload_id, add_path, finalize_path = (
            str(init.get(k) or "") for k in ("upload_id", "add_path", "finalize_path")
        )
        if not (upload_id and add_path and finalize_path):
            raise classify(200, {"debug_message": f"multipart INIT answer incomplete: {sorted(init)}"}, {})
        for number in range(1, parts + 1):
            start = (number - 1) * self.part_size_bytes
            chunk = await asyncio.to_thread(media.read, start, min(start + self.part_size_bytes, media.size))
            await self._call(
                caller,
                "POST",
                self._same_origin(add_path, endpoint),
                endpoint=endpoint,
                klass=EndpointClass.UPLOAD,
                write=True,
                creates=True,
                files={
                    **_form(part_number=str(number), upload_id=upload_id),
                    "file": (file_name, chunk, "application/octet-stream"),
                },
            )
        return await self._call(
            caller,
            "POST",
            self._same_origin(finalize_path, endpoint),
            endpoint=endpoint,
            klass=EndpointClass.UPLOAD,
            write=True,
            creates=True,
            files=_form(upload_id=upload_id, file_name=file_name),
        )

    # ---- reports --------------------------------------------------------------------------------
    async def read(
        self, caller: Caller, path: str, params: dict[str, Any], *, endpoint: str, klass: EndpointClass
    ) -> dict[str, Any]:
        """A GET whose answer the caller interprets (stats)."""
        return await self._call(
            caller, "GET", API_PREFIX + path, endpoint=endpoint, klass=klass, write=False, params=params
        )

    # ---- plumbing -------------------------------------------------------------------------------
    async def _call(
        self,
        caller: Caller,
        method: str,
        url: str,
        *,
        endpoint: str,
        klass: EndpointClass,
        write: bool,
        creates: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        token = await caller.tokens.access_token()
        response = await self.http.request(
            method,
            url,
            endpoint=endpoint,
            write=write,
            limits=self.limits.for_call(caller.connection_id, endpoint, klass),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            **kwargs,
        )
        await self.limits.observe(response, caller.connection_id, endpoint)
        body = _decode(response)
        if 200 <= response.status_code < 300 and isinstance(body, dict) and _succeeded(body):
            return body
        if creates and response.status_code in AMBIGUOUS_STATUSES:
            raise OutcomeUnknown(
                f"{method} {endpoint}: HTTP {response.status_code}, the write may have happened"
            )
        raise classify(response.status_code, body, response.headers, text=_text(response))

    def _single(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        plural, singular = WRAPPERS[kind]
        entries = body.get(plural)
        if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
            raise classify(200, {"debug_message": f"answer without {plural}: {sorted(body)}"}, {})
        entry = entries[0]
        if str(entry.get("sub_request_status", "")).upper() != "SUCCESS" or not isinstance(
            entry.get(singular), dict
        ):
            raise classify(200, {**body, "request_status": "ERROR"}, {})
        result: dict[str, Any] = entry[singular]
        return result

    def _next_page(self, link: str, endpoint: str) -> str:
        """Follow next_link only on Snap's own origin (the bearer token goes with it), and keep
        `read_deleted_entities=true` even if a link were to drop it."""
        url = self._same_origin(link, endpoint)
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        query.setdefault("read_deleted_entities", "true")
        return urlunsplit(parts._replace(query=urlencode(query)))

    def _same_origin(self, link: str, endpoint: str) -> str:
        parts = urlsplit(link)
        if not parts.scheme and not parts.netloc:
            return link if link.startswith("/") else "/" + link
        if _origin(link) != self._origin:
            raise LookupIncomplete(
                f"{endpoint}: Snap pointed to another origin ({parts.scheme}://{parts.netloc})"
            )
        return link


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of a URL, default ports made explicit."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def _succeeded(body: dict[str, Any]) -> bool:
    status = body.get("request_status")
    return status is None or str(status).upper() == "SUCCESS"


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _text(response: httpx.Response) -> str:
    try:
        return response.text[:500]
    except UnicodeDecodeError:
        return f"{len(response.content)} bytes"


def _form(**fields: str) -> dict[str, tuple[None, str]]:
    """Plain multipart/form-data fields (no file name), as Snap's upload endpoints take them."""
    return {name: (None, value) for name, value in fields.items()}


def _extension(mime_type: str) -> str:
    return {"image/png": ".png", "image/jpeg": ".jpg", "video/mp4": ".mp4", "video/quicktime": ".mov"}.get(
        mime_type, ""
    )
