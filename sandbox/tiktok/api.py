"""The request pipeline every TikTok endpoint shares: Access-Token auth, rate limits, parameter
decoding and the `{"code","message","request_id","data"}` envelope (HTTP 200 for application errors).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.common.server import FIELDS
from sandbox.tiktok import errors
from sandbox.tiktok.errors import ApiError, envelope, error_envelope, log_id
from sandbox.tiktok.params import Params
from sandbox.tiktok.state import Advertiser, Token

if TYPE_CHECKING:
    from sandbox.tiktok.app import TikTokSandbox

log = logging.getLogger("sandbox.tiktok")
API_PREFIX = "/open_api/v1.3"
# Set by the `disapprove` fault on the request whose ads must fail review.
DISAPPROVE = web.RequestKey("tiktok.disapprove", dict)


@dataclass
class Reply:
    """A success answer with a code other than 0 (e.g. partial success)."""

    data: Any
    code: int = errors.OK
    message: str = "OK"


class Ctx:
    """One request as the handlers see it."""

    def __init__(self, sandbox: TikTokSandbox, request: web.Request, params: Params, token: Token | None):
        self.sb = sandbox
        self.state = sandbox.state
        self.store = sandbox.store
        self.request = request
        self.params = params
        self.token = token
        self.now = time.time()
        self.log_id = log_id()

    def switch(self, name: str) -> Any:
        return self.sb.switch(name)

    def advertiser(self, advertiser_id: str | None = None) -> Advertiser:
        """The advertiser named by the request, which the access token must cover."""
        if advertiser_id is None:
            advertiser_id = self.params.id("advertiser_id", required=True)
            assert advertiser_id is not None
        adv = self.state.advertisers.get(advertiser_id)
        if self.token is None or advertiser_id not in self.token.advertiser_ids or adv is None:
            code = int(self.switch("advertiser_not_authorized_code"))
            raise ApiError(
                code,
                f"No permission to operate advertiser {advertiser_id}: the access token has not been "
                "authorized by this advertiser.",
            )
        return adv


Handler = Callable[[Ctx], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # below /open_api/v1.3, with the trailing slash
    handler: Handler
    auth: str = "token"  # "token" (Access-Token header) or "app" (app_id + secret in the request)
    body: str = "json"  # "json", "multipart" (uploads) or "query" (GET)

    @property
    def rate_key(self) -> str:
        """`/ad/create/` → `ad_create`, the key for per-endpoint limits in config.rate_limits."""
        return self.path.strip("/").replace("/", "_")


async def decode_params(request: web.Request, endpoint: Endpoint, strict_ids: bool) -> Params:
    if endpoint.body == "query":
        data: dict[str, Any] = {}
        for key in request.query:
            values = request.query.getall(key)
            if len(values) > 1:
                raise errors.param_error(key, "Repeated parameter; send lists as one JSON-encoded value.")
            data[key] = values[0]
        return Params(data, query=True, strict_ids=strict_ids)
    if endpoint.body == "multipart":
        fields = dict(request.get(FIELDS) or {})
        if "__raw__" in fields or "__invalid_json__" in fields:
            raise ApiError(errors.INVALID_PARAMS, "Invalid params: expected a multipart/form-data body.")
        if request.content_type == "application/json":
            return Params(fields, query=False, strict_ids=strict_ids)
        return Params(fields, query=True, strict_ids=strict_ids)
    if request.content_type != "application/json":
        raise ApiError(errors.INVALID_PARAMS, "Invalid params: Content-Type must be application/json.")
    raw = await request.read()
    try:
        body = json.loads(raw or b"{}")
    except json.JSONDecodeError:
        raise ApiError(errors.INVALID_PARAMS, "Invalid params: the request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(errors.INVALID_PARAMS, "Invalid params: the request body must be a JSON object.")
    return Params(body, query=False, strict_ids=strict_ids)


def make_handler(
    sandbox: TikTokSandbox, endpoint: Endpoint
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        rid = log_id()
        try:
            token = sandbox.authenticate(request) if endpoint.auth == "token" else None
            params = await decode_params(request, endpoint, bool(sandbox.switch("strict_id_types")))
            ctx = Ctx(sandbox, request, params, token)
            ctx.log_id = rid
            sandbox.check_rate_limits(endpoint, ctx)
            result = await endpoint.handler(ctx)
        except ApiError as err:
            return error_envelope(err, rid)
        except web.HTTPException:
            raise
        except Exception:  # the platform answers its own failures with 50000 in the envelope
            log.exception("tiktok sandbox handler failed: %s %s", request.method, request.path)
            return error_envelope(ApiError(errors.SYS_ERROR), rid)
        if isinstance(result, Reply):
            return envelope(result.code, result.message, result.data, rid)
        if isinstance(result, web.StreamResponse):
            return result  # type: ignore[return-value]
        return envelope(errors.OK, "OK", result, rid)

    return handle
