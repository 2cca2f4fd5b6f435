"""What one request may ask of the server: body size, images per request, pixels per image
(decompression bombs) and time. The body limit is enforced as the bytes arrive, before
anything is parsed: a declared ``Content-Length`` over the limit is refused at once."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ServeError, error_response

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The server's limits; the defaults suit photos from a phone."""

    max_upload_bytes: int = 20 * MB
    max_files: int = 64
    max_pixels: int = 40_000_000  # 40 megapixels: more than a phone's photo
    timeout_seconds: float = 30.0

    def describe(self) -> dict:
        """For ``GET /model``."""
        return {"max_upload_mb": round(self.max_upload_bytes / MB, 2),
                "max_files": self.max_files, "max_pixels": self.max_pixels,
                "timeout_seconds": self.timeout_seconds}


BODY_DONE = "cnnkit.body_done"  # scope key: True once the whole body has arrived


class BodyTooLarge(ServeError):
    """A body over the limit."""

    def __init__(self, limit: int):
        super().__init__(413, "upload_too_large",
                         f"the request body is larger than the limit of {limit / MB:g} MB",
                         None)


class BodyLimit:
    """ASGI middleware: refuse a body larger than ``limit`` bytes with 413, by its
    ``Content-Length`` before reading it, or as soon as the bytes read pass the limit."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            too_large = BodyTooLarge(self.limit)
            response = error_response(too_large.status, too_large.code, too_large.message)
            response.headers["Connection"] = "close"
            scope.setdefault("state", {})["error"] = too_large.code  # for the access log
            return await response(scope, receive, send)
        seen = 0
        scope[BODY_DONE] = False

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
                scope[BODY_DONE] = not message.get("more_body", False)
            return message

        return await self.app(scope, counting_receive, send)
