"""The TikTok API for Business v1.3 over HTTP, and nothing else.

Transport rules (platform-apis §2.1): base `{api_url}/open_api/v1.3/`, every path with its trailing
slash (without it TikTok answers 404), the token in the `Access-Token` header, JSON bodies for writes,
multipart for uploads, and GET parameters whose lists and objects are JSON-encoded strings. Every
application answer is HTTP 200 with `{"code","message","request_id","data"}`; `code != 0` is an error
whatever the HTTP status, classified once by `classify`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from adrelay.events.payloads import ErrorCategory
from adrelay.model import Platform
from adrelay.platforms.errors import OutcomeUnknown, PlatformCallError
from adrelay.platforms.http import Limiter, PlatformHttp
from adrelay.platforms.settings import TikTokSettings
from adrelay.platforms.tiktok.classify import PARTIAL_OK, classify, classify_http
from adrelay.platforms.tiktok.limits import TikTokLimits

API_PREFIX = "/open_api/v1.3"
MAX_PAGE_SIZE = 1000
MAX_PAGES = 1000
UPLOAD_READ_TIMEOUT_S = 120.0  # TikTok answers an upload after storing (and probing) the whole file
# Gateway answers after which a write may or may not have been applied.
AMBIGUOUS_WRITE_STATUSES = frozenset({502, 504})


class TikTokClient:
    def __init__(
        self,
        settings: TikTokSettings,
        *,
        timeout_s: float,
        limiter: Limiter,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.limits = TikTokLimits(settings)
        self.limiter = limiter
        self.timeout_s = timeout_s
        self.http = PlatformHttp(
            Platform.TIKTOK,
            settings.api_url.rstrip("/") + API_PREFIX,
            timeout_s=timeout_s,
            limiter=limiter,
            transport=transport,
        )

    async def get(self, path: str, token: str, params: Mapping[str, Any]) -> Any:
        return await self._call("GET", path, token, write=False, params=query_params(params))

    async def post(self, path: str, token: str, body: Mapping[str, Any]) -> Any:
        return await self._call("POST", path, token, write=True, json=dict(body))

    async def upload(
        self,
        path: str,
        token: str,
        fields: Mapping[str, str],
        file_field: str,
        file_path: str,
        file_name: str,
        mime_type: str,
    ) -> Any:
        """A multipart upload streamed from `file_path` (re-opened for every attempt)."""
        timeout = httpx.Timeout(self.timeout_s, read=max(self.timeout_s, UPLOAD_READ_TIMEOUT_S))
        with open(file_path, "rb") as handle:
            return await self._call(
                "POST",
                path,
                token,
                write=True,
                data=dict(fields),
                files={file_field: (file_name, handle, mime_type)},
                timeout=timeout,
            )

    async def download(self, path: str, token: str, params: Mapping[str, Any]) -> str:
        """A file answer (e.g. a finished report as CSV); an envelope here can only be an error."""
        response = await self.http.request(
            "GET",
            path,
            endpoint=path,
            write=False,
            limits=self.limits.for_path(path),
            headers={"Access-Token": token},
            params=query_params(params),
        )
        if response.status_code == 200 and _envelope(response) is None:
            return response.text
        data = await self._data(response, path, write=False)
        raise PlatformCallError.of(
            ErrorCategory.UNKNOWN, f"{path}: expected a file, got an envelope with data {str(data)[:200]}"
        )

    async def pages(
        self, path: str, token: str, params: Mapping[str, Any], *, page_size: int = MAX_PAGE_SIZE
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The `data.list` of each page in turn, following `page_info` to the last page."""
        page = 1
        while page <= MAX_PAGES:
            data = await self.get(path, token, {**params, "page": page, "page_size": page_size})
            rows = list((data or {}).get("list") or [])
            yield rows
            info = (data or {}).get("page_info") or {}
            total_pages = int(info.get("total_page") or 0)
            if not rows or page >= total_pages:
                return
            page += 1
        raise PlatformCallError.of(ErrorCategory.UNKNOWN, f"{path}: more than {MAX_PAGES} pages")

    async def close(self) -> None:
        await self.http.close()

    async def _call(self, method: str, path: str, token: str, *, write: bool, **kwargs: Any) -> Any:
        response = await self.http.request(
            method,
            path,
            endpoint=path,
            write=write,
            limits=self.limits.for_path(path),
            headers={"Access-Token": token},
            **kwargs,
        )
        return await self._data(response, path, write)

    async def _data(self, response: httpx.Response, path: str, write: bool) -> Any:
        envelope = _envelope(response)
        if envelope is None:
            if write and response.status_code in AMBIGUOUS_WRITE_STATUSES:
                raise OutcomeUnknown(f"POST {path}: HTTP {response.status_code} from the gateway")
            if response.status_code == 200:
                raise PlatformCallError.of(
                    ErrorCategory.UNKNOWN, f"{path}: HTTP 200 without TikTok's envelope", http_status=200
                )
            raise classify_http(
                response.status_code, response.text, retry_after=response.headers.get("Retry-After")
            )
        code = envelope["code"]
        if code == 0 or code == PARTIAL_OK:
            return envelope.get("data")
        error = classify(
            code,
            str(envelope.get("message") or ""),
            request_id=str(envelope.get("request_id") or "") or None,
            http_status=response.status_code,
        )
        if error.category is ErrorCategory.RATE_LIMIT:
            for scope in self.limits.scopes_to_block(path):
                await self.limiter.block(Platform.TIKTOK, scope, error.retry_after_s or 1.0)
        raise error


def query_params(params: Mapping[str, Any]) -> dict[str, str]:
    """GET parameters as TikTok reads them: lists and objects JSON-encoded, booleans lower-case."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple, dict)):
            out[key] = json.dumps(value, separators=(",", ":"))
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def _envelope(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("code"), int) and not isinstance(body["code"], bool):
        return body
    return None
