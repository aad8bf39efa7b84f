"""The ASGI layer around every request: bounded bodies, a guard that turns any
unexpected error into a 500 problem document with an error id, and the JSON
access log and request metrics.

A body is read completely (and at most `max_body` bytes, within `body_timeout`
seconds) before any route sees it, so a slow or huge upload never reaches the
engine and never holds a connection forever. Nothing here knows about routes.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, Optional

from service import logs
from service.metrics import Metrics
from service.problems import raw_problem_bytes

log = logging.getLogger(logs.LOGGER)


class ServiceMiddleware:
    def __init__(self, app: Any, max_body_bytes: int, body_timeout: float = 10.0, metrics: Optional[Metrics] = None):
        self.app = app
        self.max_body = max_body_bytes
        self.body_timeout = body_timeout
        self.metrics = metrics

    async def _send_problem(self, send: Any, status: int, detail: str, **kwargs: Any) -> None:
        body = raw_problem_bytes(status, detail, **kwargs)
        headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
        if status == 408:  # the rest of the body may still come: close rather than read it as a request (RFC 9110 15.5.9)
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _read_body(self, scope: dict[str, Any], receive: Any) -> tuple[Optional[bytes], Optional[tuple[int, str, str]]]:
        """(body, None) or (None, (status, detail, slug)); (None, None) when the client went away."""
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return None, (413, f"Forespørgslen må højst fylde {self.max_body} bytes.", "for-stor")
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + self.body_timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(remaining, 0.001))
            except TimeoutError:
                return None, (408, f"Kroppen blev ikke modtaget inden for {self.body_timeout:g} sekunder.", "tidsudloeb")
            if message["type"] == "http.disconnect":
                return None, None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None, (413, f"Forespørgslen må højst fylde {self.max_body} bytes.", "for-stor")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"status": 0, "sent": False}
        method, path = scope["method"], scope["path"]

        async def tracking_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["sent"] = True
            await send(message)

        try:
            receive_to_use = receive
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                body, refused = await self._read_body(scope, receive)
                if refused is not None:
                    status, detail, slug = refused
                    await self._send_problem(tracking_send, status, detail, slug=slug)
                    return
                if body is None:
                    return
                delivered = [False]

                async def replay() -> dict[str, Any]:
                    if not delivered[0]:
                        delivered[0] = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

                receive_to_use = replay
            await self.app(scope, receive_to_use, tracking_send)
        except Exception:
            fejl_id = str(uuid.uuid4())
            log.error("uventet fejl", exc_info=True, extra={"haendelse": "uventet_fejl", "fejl_id": fejl_id, "metode": method, "sti": path})
            if not state["sent"]:
                await self._send_problem(tracking_send, 500, f"Der opstod en uventet fejl. Oplys fejl-id {fejl_id} til driften.",
                                         slug="intern-fejl", fejl_id=fejl_id)
        finally:
            role = (scope.get("state") or {}).get("role")
            if self.metrics is not None:
                route = scope.get("route")
                template = getattr(route, "path", None) or "(ingen rute)"
                self.metrics.observe_request(template, method, state["status"] or 500, time.perf_counter() - started)
            log.info("forespørgsel", extra={"haendelse": "forespoergsel", "metode": method, "sti": path, "status": state["status"],
                                            "ms": round((time.perf_counter() - started) * 1000, 2), "rolle": role})
