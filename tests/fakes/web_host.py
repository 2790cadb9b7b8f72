"""A plain web server on loopback that counts every request it gets.

It plays the hosts a hostile provider URL may lead to: an internal service (whose hits
must stay at zero), a redirector (``/to?url=…`` answers 302 to that URL, as any CDN or
link shortener may), and a host that trickles a body a byte at a time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType
from typing import Self

from aiohttp import web


class WebHost:
    """Serves ``/picture.png``, ``/to?url=`` redirects and ``/trickle``; records every hit."""

    def __init__(self, picture: Path, *, trickle_every_s: float = 0.2) -> None:
        self.picture = picture
        self.trickle_every_s = trickle_every_s
        self.hits: list[str] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    def url(self, path: str, *, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/picture.png", self._picture)
        app.router.add_get("/to", self._redirect)
        app.router.add_get("/trickle", self._trickle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self, exc: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _picture(self, request: web.Request) -> web.Response:
        self.hits.append(request.path_qs)
        return web.Response(body=self.picture.read_bytes(), content_type="image/png")

    async def _redirect(self, request: web.Request) -> web.Response:
        self.hits.append(request.path_qs)
        raise web.HTTPFound(request.query["url"])

    async def _trickle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(request.path_qs)
        body = self.picture.read_bytes()
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        await response.prepare(request)
        try:
            while True:  # never done: only a deadline on the whole download ends it
                for byte in body:
                    await response.write(bytes([byte]))
                    await asyncio.sleep(self.trickle_every_s)
        except ConnectionError:
            pass  # the reader gave up, as it should
        return response
