"""Id formats as the platform hands them out (always strings in v1.3).

Campaign, ad group, ad, material and subscription ids are 19-digit numbers that grow with time
(milliseconds x 10^6 + sequence, so they start with "17…"/"18…" like real ones, and sorting by id
is sorting by creation). Image ids are storage keys (`ad-site-i18n-sg/<date><hex>`), video ids look
like `v10033g50000<20 chars>`, access tokens are 40 hex characters: clients must treat all of them
as opaque strings.
"""

from __future__ import annotations

import secrets
import threading
import time

_B32 = "abcdefghijklmnopqrstuvwxyz234567"


class IdFactory:
    """Monotonic 19-digit ids; `taken` lets seeded ids never be handed out again."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            candidate = int(time.time() * 1000) * 1_000_000 + secrets.randbelow(1000)
            self._last = max(candidate, self._last + 1)
            return str(self._last)

    def taken(self, object_id: str) -> None:
        if object_id.isdigit():
            with self._lock:
                self._last = max(self._last, int(object_id))


def image_id() -> str:
    return "ad-site-i18n-sg/" + time.strftime("%Y%m%d", time.gmtime()) + secrets.token_hex(12)


def video_id() -> str:
    return "v10033g50000" + "".join(secrets.choice(_B32) for _ in range(20))


def access_token() -> str:
    return secrets.token_hex(20)


def auth_code() -> str:
    return secrets.token_hex(20)
