"""Snapchat Marketing API v1 sandbox (adsapi.snapchat.com/v1 + the OAuth token endpoint).

Run: `python -m sandbox.snapchat --port 18083`. What it reproduces, which rules are switches and
what is left out: `NOTES.md`. Details and sources in the module docstrings (app, auth, entities,
validation, media, stats, paging, ratelimit, lifecycle, switches); the seed format is in `seeding.py`;
`fixtures.py` has ready-made seeds (demo and the recorded traffic's objects).
"""

from sandbox.snapchat.app import SnapchatSandbox

__all__ = ["SnapchatSandbox"]
