"""A minimal HTTP/1.1 keep-alive client on asyncio streams, shared by
bench/service.py and the service load test.

httpx's pool costs more CPU than the service itself at 64 connections on a
small machine, which would measure the client; this costs almost nothing."""
from __future__ import annotations

import asyncio


class RawConnection:
    def __init__(self, port: int, token: str, host: str = "127.0.0.1"):
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def open(self) -> "RawConnection":
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def post(self, path: str, data: bytes) -> tuple[int, bytes]:
        """POST a JSON body; returns the status and the response body."""
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {self.token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode()
        self.writer.write(head + data)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass
