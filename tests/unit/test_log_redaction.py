"""Redaction of registered secrets: a token once decrypted never reaches a log line, and the registry
stays bounded however many tokens a long-lived process sees (the least recently used age out)."""

from __future__ import annotations

import uuid

from adrelay.observability import logging as adrelay_logging
from adrelay.observability.logging import MAX_REGISTERED_SECRETS, redact, register_secret


def token() -> str:
    return f"tok{uuid.uuid4().hex}"  # no credential pattern matches it: only the registry redacts it


def test_a_registered_token_is_redacted_anywhere_in_a_line() -> None:
    secret = token()
    assert redact(f"refused {secret}!") == f"refused {secret}!"
    register_secret(secret)
    assert redact(f"refused {secret}! ({secret[:-1]})") == f"refused [REDACTED]! ({secret[:-1]})"


def test_the_registry_keeps_the_most_recently_used_tokens_and_no_more() -> None:
    in_use, idle = token(), token()
    register_secret(idle)
    register_secret(in_use)
    for i in range(MAX_REGISTERED_SECRETS - 1):
        register_secret(token())
        if i % 1000 == 0:
            register_secret(in_use)  # decrypted again: it stays
    assert len(adrelay_logging._registered) == MAX_REGISTERED_SECRETS
    assert redact(in_use) == "[REDACTED]"
    assert redact(idle) == idle, "the least recently used token aged out"


def test_short_values_are_not_registered() -> None:
    register_secret("abc12")
    register_secret(None)
    assert redact("abc12 stays") == "abc12 stays"
