"""Snapchat state that is not a platform object: OAuth apps, tokens, codes, public profiles and
open multipart uploads. Objects (organizations, accounts, campaigns, …) live in the ObjectStore."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class SnapState:
    apps: dict[str, dict[str, Any]] = field(default_factory=dict)  # client_id → app
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # access token → grant
    refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # refresh token → grant
    auth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # code → grant
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # user id → me
    public_profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # profile id → owner
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)  # multipart upload id → session

    def clear(self) -> None:
        for f in fields(self):
            getattr(self, f.name).clear()

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def restore(self, raw: dict[str, Any]) -> None:
        self.clear()
        for f in fields(self):
            getattr(self, f.name).update(raw.get(f.name) or {})
