"""Graph API errors in Meta's real envelope.

`{"error": {"message", "type", "code", "error_subcode", "is_transient", "error_user_title",
"error_user_msg", "error_data", "fbtrace_id"}}` — keys Meta leaves out for an error are left out here
too (a plain `(#100) The parameter x is required.` carries no subcode), and `error_data` is a
JSON-encoded string as Meta sends it.
"""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

_TRACE_ALPHABET = string.ascii_letters + string.digits + "_-"
GRAPH_DOCS = "https://developers.facebook.com/docs/graph-api"


def fbtrace_id() -> str:
    return "A" + "".join(secrets.choice(_TRACE_ALPHABET) for _ in range(22))


class GraphError(Exception):
    """A Graph error response; raise it anywhere in a handler."""

    def __init__(
        self,
        message: str,
        code: int = 100,
        *,
        type_: str = "OAuthException",
        subcode: int | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
        error_data: dict[str, Any] | None = None,
        is_transient: bool | None = None,
        status: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.type = type_
        self.subcode = subcode
        self.user_title = user_title
        self.user_msg = user_msg
        self.error_data = error_data
        self.is_transient = is_transient
        self.status = status
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.error_data is not None:
            err["error_data"] = json.dumps(self.error_data, separators=(",", ":"))
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        if self.is_transient is not None or self.subcode is not None:
            err["is_transient"] = bool(self.is_transient)
        if self.user_title is not None:
            err["error_user_title"] = self.user_title
        if self.user_msg is not None:
            err["error_user_msg"] = self.user_msg
        err["fbtrace_id"] = fbtrace_id()
        return {"error": err}


# ---- constructors for the errors the sandbox raises often -----------------------------------
def required(name: str) -> GraphError:
    return GraphError(f"(#100) The parameter {name} is required.")


def bad_enum(name: str, values: list[str]) -> GraphError:
    return GraphError(f"(#100) Param {name} must be one of {{{', '.join(values)}}}")


def bad_type(name: str, what: str) -> GraphError:
    return GraphError(f"(#100) Param {name} must be {what}")


def not_array(name: str) -> GraphError:
    return GraphError(f"(#100) param {name} must be an array.")


def invalid(
    title: str,
    msg: str,
    subcode: int | None = None,
    blame: list[str] | None = None,
    error_data: dict[str, Any] | None = None,
) -> GraphError:
    """Meta's "Invalid parameter" shape with the user-facing title and text."""
    data = error_data
    if blame is not None:
        data = {"blame_field_specs": [blame]}
    return GraphError(
        "Invalid parameter",
        100,
        subcode=subcode,
        user_title=title,
        user_msg=msg,
        error_data=data,
        is_transient=False,
    )


def unsupported(method: str, object_id: str) -> GraphError:
    return GraphError(
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be "
        f"loaded due to missing permissions, or does not support this operation. Please read the Graph "
        f"API documentation at {GRAPH_DOCS}",
        100,
        type_="GraphMethodException",
        subcode=33,
    )


def nonexisting_field(field: str, node_type: str) -> GraphError:
    return GraphError(f"(#100) Tried accessing nonexisting field ({field}) on node type ({node_type})")


def unknown_path(path: str) -> GraphError:
    return GraphError(f"Unknown path components: /{path}", 2500)


def token_required() -> GraphError:
    return GraphError(
        "An active access token must be used to query information about the current user.", 2500
    )


def no_token() -> GraphError:
    return GraphError("(#104) An access token is required to request this resource.", 104)


def token_unparseable() -> GraphError:
    return GraphError("Invalid OAuth access token - Cannot parse access token", 190)


def token_expired(expired_at: str, now: str) -> GraphError:
    return GraphError(
        f"Error validating access token: Session has expired on {expired_at}. The current time is {now}.",
        190,
        subcode=463,
    )


def token_invalidated() -> GraphError:
    return GraphError(
        "Error validating access token: The session has been invalidated because the user changed their "
        "password or Facebook has changed the session for security reasons.",
        190,
        subcode=467,
    )


def ads_management_missing() -> GraphError:
    return GraphError(
        "(#294) Managing advertisements requires the extended permission ads_management and an application "
        "that is in our allow list to access the Marketing API",
        294,
    )


def no_account_access(account: str) -> GraphError:
    return GraphError(
        f"(#200) Ad account owner has NOT grant ads_management or ads_read permission (ad account {account})",
        200,
    )


def deprecated_version(version: str) -> GraphError:
    return GraphError(
        f"(#2635) You are calling a deprecated version of the Ads API. Please update to the latest version: "
        f"{version} is no longer available.",
        2635,
    )


def throttle(kind: str, regain_minutes: int, headers: dict[str, str]) -> GraphError:
    """The throttle error for a usage bucket: 80004 (ads_management), 80000 (insights), 17, 613."""
    if kind == "17":
        return GraphError(
            "(#17) User request limit reached",
            17,
            subcode=2446079,
            is_transient=True,
            user_title="Ad Account Has Too Many API Calls",
            user_msg="There have been too many calls from this ad-account. Please wait a bit and try again.",
            headers=headers,
        )
    if kind == "613":
        return GraphError(
            "(#613) Calls to this api have exceeded the rate limit.",
            613,
            subcode=1487742,
            is_transient=True,
            user_title="Too Many Calls",
            user_msg="There have been too many calls from this ad-account. Please wait a bit and try again.",
            headers=headers,
        )
    code = 80000 if kind == "80000" else 80004
    return GraphError(
        f"(#{code}) There have been too many calls to this ad-account. Wait a bit and try again. For more "
        "info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting"
        "#ads-management.",
        code,
        subcode=2446079,
        is_transient=True,
        user_title="Ad Account Has Too Many API Calls",
        user_msg=f"There have been too many calls from this ad-account. Wait about {regain_minutes} minutes "
        "and try again.",
        headers=headers,
    )
