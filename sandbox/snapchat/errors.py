"""Snap's error shapes: request-level envelopes, per-item batch errors and OAuth2 errors.

Request-level (whole request refused):
`{"request_status":"ERROR","request_id":…,"debug_message":…,"display_message":…,"error_code":"E1008"}`
([S] amp-labs/connectors `providers/snapchatads/errors.go`).

Per item inside a batch write (the others in the batch are still applied):
`{"sub_request_status":"ERROR","sub_request_error_reason":"Error code: E3004, message: …"}`
([S] amp-labs fixture; reasons such as E2025 / E2771 / E21011 are quoted by a client that met them live).

Error codes other than E3004, E2025, E2771, E21011 and E2023 are UNCONFIRMED: they are chosen so
that each class of failure has one stable code; clients must not depend on their exact values.
"""

from __future__ import annotations

from typing import Any

# Request-level codes (HTTP status → code). UNCONFIRMED except where noted.
E_INVALID_REQUEST = "E1008"  # 400: bad parameter / body (the example code in platform-apis.md)
E_UNAUTHORIZED = "E3002"  # 401 [S single secondary source]
E_FORBIDDEN = "E3003"  # 403 [S single secondary source]
E_NOT_FOUND = "E3004"  # 404: "Entity does not exist or you do not have permission to access it" [S]
E_THROTTLED = "E3005"  # 429 UNCONFIRMED
E_METHOD = "E1009"  # 405 UNCONFIRMED
E_INTERNAL = "E5001"  # 500 UNCONFIRMED
E_UNAVAILABLE = "E5002"  # 503 UNCONFIRMED

# Per-item codes used in `sub_request_error_reason`.
E_ITEM_INVALID = "E2002"  # generic attribute validation failure, UNCONFIRMED code
E_ITEM_NOT_FOUND = "E3004"  # [S]
E_ITEM_IMMUTABLE = "E2023"  # immutable attribute changed [C changelog, for PATCH]
E_ITEM_UPDATE_UNSUPPORTED = "E2025"  # PUT without placement_v2 on a placement_v2 squad [S live]
E_ITEM_BID_REQUIRED = "E2771"  # "Bid is required on ad squad" [S live]
E_ITEM_CHAT_FEED = "E21011"  # custom placement without CHAT_FEED for some goals [S live]

NOT_FOUND_MESSAGE = "Entity does not exist or you do not have permission to access it"


class SnapError(Exception):
    """The whole request is refused with Snap's request-level envelope."""

    def __init__(
        self,
        status: int,
        error_code: str,
        debug_message: str,
        display_message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(debug_message)
        self.status = status
        self.error_code = error_code
        self.debug_message = debug_message
        self.display_message = display_message or debug_message
        self.headers = dict(headers or {})

    def body(self, request_id: str) -> dict[str, Any]:
        return {
            "request_status": "ERROR",
            "request_id": request_id,
            "debug_message": self.debug_message,
            "display_message": self.display_message,
            "error_code": self.error_code,
        }


class ItemError(Exception):
    """One item of a batch write is refused; the rest of the batch goes on."""

    def __init__(self, message: str, code: str = E_ITEM_INVALID) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def reason(self) -> str:
        return f"Error code: {self.code}, message: {self.message}"

    def entry(self) -> dict[str, Any]:
        return {"sub_request_status": "ERROR", "sub_request_error_reason": self.reason}


class OAuthError(Exception):
    """An OAuth2 token-endpoint error: `{"error": …, "error_description": …}` (RFC 6749 §5.2)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def bad_request(message: str) -> SnapError:
    return SnapError(400, E_INVALID_REQUEST, message)


def not_found(kind: str, entity_id: str) -> SnapError:
    return SnapError(404, E_NOT_FOUND, f"{kind} {entity_id}: {NOT_FOUND_MESSAGE}", NOT_FOUND_MESSAGE)


def forbidden(message: str = "You do not have permission to access this resource") -> SnapError:
    return SnapError(403, E_FORBIDDEN, message)


def unauthorized(message: str) -> SnapError:
    return SnapError(401, E_UNAUTHORIZED, message, "Unauthorized")
