"""Media files for uploads: downloaded from their URL, checked against their sha256 and size, kept in
a temporary file and streamed from it (bytes never travel on Kafka)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from adrelay.events.payloads import ErrorCategory
from adrelay.model.campaign import MediaAsset
from adrelay.platforms.errors import PlatformCallError

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class MediaFile:
    asset: MediaAsset
    path: Path
    size: int
    sha256: str
    md5: str  # TikTok's upload signature

    async def chunks(self, start: int = 0, end: int | None = None, size: int = CHUNK) -> AsyncIterator[bytes]:
        """The bytes [start, end) in chunks, read off the event loop."""
        end = self.size if end is None else end
        with open(self.path, "rb") as handle:
            handle.seek(start)
            remaining = end - start
            while remaining > 0:
                data = await asyncio.to_thread(handle.read, min(size, remaining))
                if not data:
                    break
                remaining -= len(data)
                yield data

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(start)
            return handle.read((self.size if end is None else end) - start)


class MediaStore:
    """Downloads each asset once per process while it is in use; verified before any upload."""

    def __init__(self, directory: str | None = None, timeout_s: float = 60.0) -> None:
        self.directory = Path(directory or tempfile.mkdtemp(prefix="adrelay-media-"))
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=True)
        self._locks: dict[str, asyncio.Lock] = {}
        self._files: dict[str, MediaFile] = {}

    async def get(self, asset: MediaAsset) -> MediaFile:
        lock = self._locks.setdefault(asset.sha256, asyncio.Lock())
        async with lock:
            cached = self._files.get(asset.sha256)
            if cached is not None and cached.path.exists():
                return cached
            media = await self._download(asset)
            self._files[asset.sha256] = media
            return media

    async def _download(self, asset: MediaAsset) -> MediaFile:
        sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
        path = self.directory / asset.sha256
        tmp = path.with_suffix(".part")
        try:
            async with self._client.stream("GET", str(asset.url)) as response:
                if response.status_code != 200:
                    category = (
                        ErrorCategory.TRANSIENT if response.status_code >= 500 else ErrorCategory.VALIDATION
                    )
                    raise PlatformCallError.of(
                        category,
                        f"media {asset.id}: GET {asset.url} answered {response.status_code}",
                        blamed_fields=[f"media.{asset.id}.url"],
                    )
                with open(tmp, "wb") as out:
                    async for chunk in response.aiter_bytes(CHUNK):
                        size += len(chunk)
                        if size > asset.size_bytes:
                            raise PlatformCallError.of(
                                ErrorCategory.VALIDATION,
                                f"media {asset.id}: larger than its size_bytes",
                                blamed_fields=[f"media.{asset.id}.size_bytes"],
                            )
                        sha.update(chunk)
                        md5.update(chunk)
                        await asyncio.to_thread(out.write, chunk)
        except httpx.HTTPError as exc:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise PlatformCallError.of(
                ErrorCategory.TRANSIENT, f"media {asset.id}: download failed: {exc!r}"
            ) from exc
        if size != asset.size_bytes or sha.hexdigest() != asset.sha256:
            tmp.unlink()
            raise PlatformCallError.of(
                ErrorCategory.VALIDATION,
                f"media {asset.id}: content does not match its sha256/size (got {size} bytes)",
                blamed_fields=[f"media.{asset.id}.sha256"],
            )
        os.replace(tmp, path)
        return MediaFile(asset, path, size, asset.sha256, md5.hexdigest())

    async def close(self) -> None:
        await self._client.aclose()
