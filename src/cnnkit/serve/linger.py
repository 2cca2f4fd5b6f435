"""A lingering close (RFC 9112 section 9.6; nginx's ``lingering_close``).

When the server answers a request whose body is still arriving (a 413 by ``Content-Length``)
and closes the connection, the kernel finds the unread body in the receive buffer and sends
a reset instead of a FIN. A reset may overtake the answer still on its way, and a client
still sending sees its connection reset and loses the answer: under load a test client got
the 413's headers but not its JSON body (tests/serve/test_serve.py), and a Windows client
loses whatever it had received. So such a close shuts down only the sending side (the answer
is followed by a FIN), then reads and drops what the client still sends until it closes, is
silent for ``IDLE_SECONDS``, or ``MOST_SECONDS`` have passed; only then is the socket
closed. Nothing is kept: every read is dropped at once.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

IDLE_SECONDS = 2.0  # the client sent nothing for this long: it will not read the answer
MOST_SECONDS = 30.0  # nginx's lingering_time


class LingeringH11Protocol(H11Protocol):
    """uvicorn's h11 protocol whose closes linger while the request body is arriving."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(_LingeringClose(transport, self))


class _LingeringClose:
    """The connection's transport as uvicorn sees it: ``close()`` lingers while the client
    is still sending the request body; everything else is the transport's own."""

    def __init__(self, transport: asyncio.Transport, protocol: H11Protocol):
        self._transport, self._protocol = transport, protocol
        self._lingering = False

    def __getattr__(self, name):
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self._lingering or self._transport.is_closing()

    def close(self) -> None:
        if (self._lingering or self._transport.is_closing()
                or self._protocol.conn.their_state is not h11.SEND_BODY
                or not self._transport.can_write_eof()):
            self._transport.close()  # a second close (server shutdown) ends a linger
            return
        self._lingering = True
        Drain(self._transport, self._protocol.connection_lost, IDLE_SECONDS, MOST_SECONDS)


class Drain(asyncio.Protocol):
    """Take over ``transport``: send a FIN after what is queued, drop every byte read, and
    close when the peer closes, is silent for ``idle`` seconds or after ``most`` seconds;
    then call ``then(exc)`` (the replaced protocol's ``connection_lost``)."""

    def __init__(self, transport: asyncio.Transport, then, idle: float, most: float):
        self.transport, self.then, self.idle = transport, then, idle
        self.loop = asyncio.get_running_loop()
        self.last = self.loop.time()
        self.deadline = self.last + most
        transport.set_protocol(self)
        transport.write_eof()
        transport.resume_reading()  # uvicorn pauses reading while the app ignores the body
        self.timer = self.loop.call_later(idle, self._check)

    def data_received(self, data: bytes) -> None:
        self.last = self.loop.time()

    def eof_received(self) -> None:
        return None  # the transport closes: the peer has read the answer and left

    def connection_lost(self, exc: Exception | None) -> None:
        self.timer.cancel()
        self.then(exc)

    def _check(self) -> None:
        now = self.loop.time()
        if now >= self.deadline or now - self.last >= self.idle:
            self.transport.close()
        else:
            self.timer = self.loop.call_at(min(self.last + self.idle, self.deadline),
                                           self._check)
