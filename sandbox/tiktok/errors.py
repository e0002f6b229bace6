"""TikTok's answer envelope and error codes.

Every application answer is HTTP 200 with `{"code", "message", "request_id", "data"}`; `code` 0 means
success. Codes are the official ones (`shared/platform-specs/tiktok/error_codes.json`, from the
official SDK's `tiktok_code.py`). Parameter messages follow the `<field>: <reason>` form the platform
uses (marshmallow-style texts such as "Missing data for required field.").
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from aiohttp import web

OK = 0
PARTIAL_OK = 20001
INVALID_PARAMS = 40000
PERMISSION_ERROR = 40001
PARAM_ERROR = 40002
VERSION_ERROR = 40006
NOT_EXIST = 40007
DUPLICATED_REQUEST = 40050
INVALID_API_VERSION = 40051
AGE_RESTRICTED = 40065  # 13-17 age targeting in restricted regions (api-evangelist errors file)
REQUEST_TOO_FREQUENT = 40100
INVALID_PARTNER = 40101
ACCESS_TOKEN_EXPIRE = 40102
EMPTY_ACCESS_TOKEN = 40104
INVALID_ACCESS_TOKEN = 40105
INVALID_CORE_USER = 40106
INVALID_REFRESH_TOKEN = 40107
AUTH_CODE_ERROR = 40110
AUTH_TIMESTAMP_EXPIRE = 40115
ADVERTISER_QPS_LIMIT = 40133  # advertiser-level QPS limit for a path (api-evangelist rate-limit doc)
TASK_NOT_READY = 40201
AD_NUMBER_LIMIT = 40502
SIGNATURE_ERROR = 40900
VIDEO_TRANSCODING = 40901
URL_FETCH_TIMEOUT = 40902
URL_UNAVAILABLE = 40903
FILE_NOT_EXIST = 40905
FILE_EMPTY = 40906
FILE_TOO_LARGE = 40907
FILE_TYPE_ERROR = 40908
DUPLICATED_MATERIAL_NAME = 40911
IMAGE_FETCH_TIMEOUT = 40913
URL_FETCH_ERROR = 40914
SYS_ERROR = 50000

# Messages the platform is known to send verbatim (40104 from a live probe quoted in platform-apis.md);
# the others are the official code names turned into sentences.
MESSAGES: dict[int, str] = {
    EMPTY_ACCESS_TOKEN: "Access token is null, you should set it in http header with key Access-Token.",
    INVALID_ACCESS_TOKEN: "Access token is incorrect or has been revoked.",
    ACCESS_TOKEN_EXPIRE: "Access token has expired.",
    REQUEST_TOO_FREQUENT: "Too many requests. Please retry in some time.",
    ADVERTISER_QPS_LIMIT: "Too many requests for this advertiser on this path. Please retry in some time.",
    DUPLICATED_REQUEST: "Duplicated request.",
    SYS_ERROR: "System error. Please retry later.",
    VERSION_ERROR: "API version is incompatible with this endpoint.",
    INVALID_API_VERSION: "Invalid API version.",
    INVALID_REFRESH_TOKEN: (
        "Invalid refresh token. You are using a refresh token to refresh a long-term access token for "
        "Marketing API, which is not supported: long-term access tokens do not expire, re-authorize instead."
    ),
}


class ApiError(Exception):
    """An application error, answered as HTTP 200 with `code != 0`."""

    def __init__(self, code: int, message: str | None = None, data: Any = None) -> None:
        super().__init__(message or MESSAGES.get(code, "Error"))
        self.code = code
        self.message = message or MESSAGES.get(code, "Error")
        self.data = data


def param_error(field: str, reason: str) -> ApiError:
    """40002 naming the field, as the platform does."""
    return ApiError(PARAM_ERROR, f"{field}: {reason}")


def log_id() -> str:
    """A response `request_id`: 14-digit UTC timestamp + 20 hex chars (34 chars, like real log ids)."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(10).upper()


def envelope(code: int, message: str, data: Any, request_id: str | None = None) -> web.Response:
    """The answer; the gateway also repeats the log id in the `X-Tt-Logid` header."""
    rid = request_id or log_id()
    body = {"code": code, "message": message, "request_id": rid, "data": data}
    return web.Response(
        text=json.dumps(body), status=200, content_type="application/json", headers={"X-Tt-Logid": rid}
    )


def error_envelope(err: ApiError, request_id: str | None = None) -> web.Response:
    return envelope(err.code, err.message, err.data if err.data is not None else {}, request_id)
