"""A local HTTP file server for campaign media (the demo and the tests reference media by URL)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping

from aiohttp import web

from tests.support.samples import MEDIA_FILES


class MediaServer:
    """Serves `files` at /media/<name> on 127.0.0.1:<port>, in a thread with its own event loop."""

    def __init__(self, files: Mapping[str, bytes] = MEDIA_FILES, port: int = 0) -> None:
        self.files = dict(files)
        self.port = port
        self.requests: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MediaServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self) -> None:
        async def handle(request: web.Request) -> web.StreamResponse:
            name = request.match_info["name"]
            self.requests.append(name)
            data = self.files.get(name)
            if data is None:
                raise web.HTTPNotFound()
            ctype = "image/png" if name.endswith(".png") else "video/mp4"
            return web.Response(body=data, content_type=ctype)

        app = web.Application()
        app.add_routes([web.get("/media/{name}", handle)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        async def cleanup() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
