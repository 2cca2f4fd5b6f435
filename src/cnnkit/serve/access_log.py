"""The access log: one JSON object per request on the ``cnnkit.serve.access`` logger
(stderr), with time, client, method, path, status, duration, bytes in and out, and the
number of images and the error code where there were any."""

from __future__ import annotations

import json
import logging
import sys
import time

LOGGER = logging.getLogger("cnnkit.serve.access")
STATE_KEYS = ("images", "error")  # set by the routes in the request's state


def configure(stream=None) -> None:
    """Send the access log to ``stream`` (stderr) as bare JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    LOGGER.handlers[:] = [handler]
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False


class AccessLog:
    """ASGI middleware writing one access-log line per HTTP request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        record = {"status": 500, "bytes_in": 0, "bytes_out": 0}

        async def counting_receive():
            message = await receive()
            record["bytes_in"] += len(message.get("body", b""))
            return message

        async def logging_send(message):
            if message["type"] == "http.response.start":
                record["status"] = message["status"]
            elif message["type"] == "http.response.body":
                record["bytes_out"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, logging_send)
        finally:
            state = scope.get("state") or {}
            client = scope.get("client") or ("", 0)
            line = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "client": f"{client[0]}:{client[1]}", "method": scope["method"],
                    "path": scope["path"], "query": scope.get("query_string", b"").decode(
                        "latin-1"), **record,
                    "ms": round((time.perf_counter() - started) * 1e3, 2)}
            line.update({k: state[k] for k in STATE_KEYS if k in state})
            if LOGGER.isEnabledFor(logging.INFO):
                LOGGER.info(json.dumps(line))
