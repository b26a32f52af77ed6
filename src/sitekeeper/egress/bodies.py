"""Reading an HTTP answer from outside without holding more than a cap: a hostile or broken
server's endless body must cost at most ``cap`` bytes of memory, whatever it declares."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp


class BodyTooLarge(Exception):
    """The body (as declared, or as read) is over the cap; callers say it their own way."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"over the {cap}-byte limit")
        self.cap = cap


async def chunks_within(
    response: aiohttp.ClientResponse, cap: int, chunk_size: int = 64 * 1024
) -> AsyncIterator[bytes]:
    """The body's chunks (decompressed, if the session decompresses); BodyTooLarge before
    the first chunk past ``cap`` — or before reading, when Content-Length already is."""
    if (response.content_length or 0) > cap:
        raise BodyTooLarge(cap)
    size = 0
    async for chunk in response.content.iter_chunked(chunk_size):
        size += len(chunk)
        if size > cap:
            raise BodyTooLarge(cap)
        yield chunk


async def read_within(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The whole body, or BodyTooLarge."""
    return b"".join([chunk async for chunk in chunks_within(response, cap)])
