"""Snapchat Marketing API v1 sandbox (adsapi.snapchat.com/v1 + the OAuth token endpoint).

Run: `python -m sandbox.snapchat --port 18083`. Behaviour, sources and switches: see the module
docstrings (app, auth, entities, validation, media, stats, paging, ratelimit, lifecycle, switches)
and `seeding.py` for the seed format; `fixtures.py` has ready-made seeds.
"""

from sandbox.snapchat.app import SnapchatSandbox

__all__ = ["SnapchatSandbox"]
