"""Tokens at rest: readable only with a configured key; the newest key writes; old keys still read."""

from __future__ import annotations

import pytest

from adrelay.connections.crypto import KEYS_ENV, TokenCipher, TokenKeyError, generate_key, key_id

TOKEN = "EAAunit-test-token-0123456789abcdef"


def test_ciphertext_does_not_contain_the_token_and_round_trips() -> None:
    cipher = TokenCipher([generate_key()])
    sealed = cipher.encrypt(TOKEN)
    assert TOKEN.encode() not in sealed
    assert cipher.decrypt(sealed, cipher.current_key_id) == TOKEN


def test_the_newest_key_writes_and_an_older_listed_key_still_reads() -> None:
    old, new = generate_key(), generate_key()
    sealed_old = TokenCipher([old]).encrypt(TOKEN)
    both = TokenCipher([new, old])
    assert both.current_key_id == key_id(new)
    assert both.decrypt(sealed_old, key_id(old)) == TOKEN
    assert both.decrypt(sealed_old) == TOKEN  # without the id every listed key is tried
    with pytest.raises(TokenKeyError):
        TokenCipher([old]).decrypt(both.encrypt(TOKEN))  # written under the newest key


def test_rotate_re_encrypts_under_the_newest_key() -> None:
    old, new = generate_key(), generate_key()
    sealed_old = TokenCipher([old]).encrypt(TOKEN)
    rotated = TokenCipher([new, old]).rotate(sealed_old)
    assert TokenCipher([new]).decrypt(rotated, key_id(new)) == TOKEN
    with pytest.raises(TokenKeyError):
        TokenCipher([old]).decrypt(rotated)


def test_a_row_under_an_unlisted_key_names_the_key_not_the_token() -> None:
    gone = generate_key()
    sealed = TokenCipher([gone]).encrypt(TOKEN)
    with pytest.raises(TokenKeyError) as err:
        TokenCipher([generate_key()]).decrypt(sealed, key_id(gone))
    assert key_id(gone) in str(err.value)
    assert gone not in str(err.value) and TOKEN not in str(err.value)


def test_no_key_configured_is_a_clear_error() -> None:
    with pytest.raises(TokenKeyError, match=KEYS_ENV):
        TokenCipher.from_env({})
    with pytest.raises(TokenKeyError, match=KEYS_ENV):
        TokenCipher.from_env({KEYS_ENV: " , "})


def test_a_malformed_key_is_named_by_position_never_echoed() -> None:
    good = generate_key()
    with pytest.raises(TokenKeyError) as err:
        TokenCipher.from_env({KEYS_ENV: f"{good},not-a-fernet-key-secret"})
    assert "entry 2" in str(err.value)
    assert "not-a-fernet-key-secret" not in str(err.value)


def test_key_ids_are_stable_and_reveal_nothing() -> None:
    key = generate_key()
    assert key_id(key) == key_id(f" {key} ")
    assert len(key_id(key)) == 12 and key_id(key) not in key
