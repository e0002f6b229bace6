"""The Graph API (Marketing API) over the shared HTTP plumbing.

Versioned paths (`/v25.0/...`, the version from settings), the token in an `Authorization: Bearer`
header so it never sits in a URL that a proxy or log might keep (plus `appsecret_proof` when an app
secret is configured), writes form-encoded with nested values as JSON strings, answers parsed from
Graph's envelope, failures classified once by `classify`, and lists read page by page through
cursors. Paging `next` links are never followed: Graph puts the access token into them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from adrelay.events.payloads import ErrorCategory
from adrelay.model import Platform
from adrelay.platforms.errors import OutcomeUnknown, PlatformCallError
from adrelay.platforms.http import Limiter, PlatformHttp
from adrelay.platforms.meta.classify import classify
from adrelay.platforms.meta.limits import ACCOUNT_EXTENSION, MetaLimits
from adrelay.platforms.settings import MetaSettings

Json = dict[str, Any]
FileParts = Mapping[str, tuple[str, bytes, str]]  # field → (file name, bytes, MIME type)
PAGE_SIZE = 100
MAX_PAGES = 1000


def form_value(value: Any) -> str:
    """One form or query value as Graph reads it: nested objects and lists as compact JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def form(data: Mapping[str, Any]) -> dict[str, str]:
    return {key: form_value(value) for key, value in data.items() if value is not None}


class MetaClient:
    def __init__(
        self,
        settings: MetaSettings,
        limiter: Limiter,
        *,
        timeout_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.limits = MetaLimits(settings, limiter)
        self.graph = PlatformHttp(
            Platform.META,
            settings.graph_url,
            timeout_s=timeout_s,
            limiter=limiter,
            on_response=self.limits.observe,
            transport=transport,
        )
        # Uploads go to the video host; a chunk may take a while to send.
        self.video = PlatformHttp(
            Platform.META,
            settings.video_url,
            timeout_s=max(timeout_s, 120.0),
            limiter=limiter,
            on_response=self.limits.observe,
            transport=transport,
            max_connections=10,
        )

    def path(self, path: str) -> str:
        return f"/{self.settings.api_version}/{path.lstrip('/')}"

    # ---- calls ------------------------------------------------------------------------------------
    async def get(
        self,
        path: str,
        token: str,
        *,
        endpoint: str,
        account: str | None,
        params: Mapping[str, Any] | None = None,
        insights: bool = False,
    ) -> Json:
        query = form({**(params or {}), **self._proof(token)})
        response = await self.graph.request(
            "GET",
            self.path(path),
            endpoint=endpoint,
            write=False,
            limits=self.limits.for_call(account, insights=insights),
            params=query,
            headers=self._auth(token),
            extensions=self._extensions(account),
        )
        return self._answer(response, write=False)

    async def post(
        self,
        path: str,
        token: str,
        *,
        endpoint: str,
        account: str | None,
        data: Mapping[str, Any] | None = None,
        files: FileParts | None = None,
        video_host: bool = False,
        insights: bool = False,
    ) -> Json:
        http = self.video if video_host else self.graph
        response = await http.request(
            "POST",
            self.path(path),
            endpoint=endpoint,
            write=True,
            limits=self.limits.for_call(account, insights=insights),
            data=form({**(data or {}), **self._proof(token)}),
            files=dict(files) if files else None,
            headers=self._auth(token),
            extensions=self._extensions(account),
        )
        return self._answer(response, write=True)

    async def create(
        self,
        path: str,
        token: str,
        *,
        endpoint: str,
        account: str | None,
        data: Mapping[str, Any] | None = None,
        files: FileParts | None = None,
        video_host: bool = False,
    ) -> Json:
        """A POST that creates something. A server error may come after the write was applied (Meta
        has answered 5xx for objects it went on to create), so it counts as an unknown outcome and the
        object is looked up by its tag before any second create. Refusals (4xx) created nothing."""
        try:
            return await self.post(
                path, token, endpoint=endpoint, account=account, data=data, files=files, video_host=video_host
            )
        except PlatformCallError as exc:
            if (exc.http_status or 0) >= 500 and exc.category in {
                ErrorCategory.TRANSIENT,
                ErrorCategory.UNKNOWN,
            }:
                raise OutcomeUnknown(f"{endpoint}: HTTP {exc.http_status} ({exc.error.message})") from exc
            raise

    async def delete(
        self,
        path: str,
        token: str,
        *,
        endpoint: str,
        account: str | None,
        params: Mapping[str, Any] | None = None,
    ) -> Json:
        response = await self.graph.request(
            "DELETE",
            self.path(path),
            endpoint=endpoint,
            write=True,
            limits=self.limits.for_call(account),
            params=form({**(params or {}), **self._proof(token)}),
            headers=self._auth(token),
            extensions=self._extensions(account),
        )
        return self._answer(response, write=True)

    async def pages(
        self,
        path: str,
        token: str,
        *,
        endpoint: str,
        account: str | None,
        params: Mapping[str, Any] | None = None,
        page_size: int = PAGE_SIZE,
        insights: bool = False,
    ) -> AsyncIterator[list[Json]]:
        """Every page of a list edge, following the `after` cursor while Graph says there is more."""
        query: dict[str, Any] = {**(params or {}), "limit": page_size}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body = await self.get(
                path, token, endpoint=endpoint, account=account, params=query, insights=insights
            )
            data = body.get("data")
            if not isinstance(data, list):
                raise PlatformCallError.of(ErrorCategory.UNKNOWN, f"{endpoint}: a list answer without data")
            yield [row for row in data if isinstance(row, dict)]
            paging = body.get("paging")
            paging = paging if isinstance(paging, dict) else {}
            cursors = paging.get("cursors")
            after = cursors.get("after") if isinstance(cursors, dict) else None
            if not data or not paging.get("next") or not after:
                return
            if after in seen:
                raise PlatformCallError.of(ErrorCategory.UNKNOWN, f"{endpoint}: paging did not advance")
            seen.add(after)
            query["after"] = after
        raise PlatformCallError.of(ErrorCategory.UNKNOWN, f"{endpoint}: more than {MAX_PAGES} pages")

    async def list_all(
        self,
        path: str,
        token: str,
        *,
        endpoint: str,
        account: str | None,
        params: Mapping[str, Any] | None = None,
        insights: bool = False,
    ) -> list[Json]:
        rows: list[Json] = []
        pages = self.pages(path, token, endpoint=endpoint, account=account, params=params, insights=insights)
        async for page in pages:
            rows.extend(page)
        return rows

    async def close(self) -> None:
        await self.graph.close()
        await self.video.close()

    # ---- plumbing ---------------------------------------------------------------------------------
    def _auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def _proof(self, token: str) -> dict[str, str]:
        """`appsecret_proof` = HMAC-SHA256(app secret, token): proves the call comes from our server."""
        if not self.settings.app_secret:
            return {}
        proof = hmac.new(self.settings.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        return {"appsecret_proof": proof}

    def _extensions(self, account: str | None) -> dict[str, Any]:
        return {ACCOUNT_EXTENSION: account} if account else {}

    def _answer(self, response: httpx.Response, *, write: bool) -> Json:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400 or (isinstance(body, dict) and "error" in body):
            raise classify(response.status_code, body, response.headers)
        if not isinstance(body, dict):
            if write:
                # The write was accepted (2xx) but its answer is unreadable: what it created is unknown.
                raise OutcomeUnknown(f"HTTP {response.status_code} with an unreadable body")
            raise PlatformCallError.of(
                ErrorCategory.TRANSIENT, f"HTTP {response.status_code}: answer is not a JSON object"
            )
        return body
