"""Errors as JSON: ``{"error": CODE, "message": TEXT, "file": NAME}`` with a 4xx status for
anything the client sent (never a 500 for a bad upload)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException


class ServeError(Exception):
    """A request the server refuses: HTTP ``status``, a short ``code`` and a message."""

    def __init__(self, status: int, code: str, message: str, file: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.file = status, code, message, file


def error_response(status: int, code: str, message: str, file: str | None = None
                   ) -> JSONResponse:
    """The JSON error body every refusal uses."""
    body = {"error": code, "message": message}
    if file is not None:
        body["file"] = file
    return JSONResponse(body, status_code=status)


def add_error_handlers(app: FastAPI) -> None:
    """Turn ServeError, Starlette's HTTP errors (404, 405, a malformed multipart body) and
    validation errors into the JSON error body."""

    @app.exception_handler(ServeError)
    async def serve_error(request: Request, exc: ServeError) -> JSONResponse:
        request.state.error = exc.code  # for the access log
        return error_response(exc.status, exc.code, exc.message, exc.file)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code,
                                                                 "bad_request")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", str(exc.errors()[:3]))
