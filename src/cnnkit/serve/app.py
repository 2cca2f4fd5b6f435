"""The HTTP routes.

- ``POST /predict?top_k=K``: one or more images (multipart ``file``/``files`` fields, or one
  image as the raw body) -> ``{"predictions": [{"file", "top": [{"class", "probability"}]}]}``
- ``POST /explain?top_k=K``: one image -> its top classes and the Grad-CAM overlay (a PNG
  data URI), for the web page
- ``GET /health``: ``{"status": "ok", ...}`` once the model is warm (the socket opens after
  the warm-up); ``GET /model``: classes, input size, parameters, training metrics
- ``GET /``: the web page (page.html: no external resource)
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from .access_log import AccessLog
from .batcher import Batcher
from .errors import ServeError, add_error_handlers
from .limits import BODY_DONE, BodyLimit, Limits
from .predictor import Predictor
from .uploads import decode_uploads

DEFAULT_TOP_K = 5


def _top_k(request: Request, classes: int) -> int:
    text = request.query_params.get("top_k", str(DEFAULT_TOP_K))
    if text == "all":
        return classes
    if not text.isdigit() or int(text) < 1:
        raise ServeError(400, "bad_top_k", f"top_k={text!r}: give a whole number from 1, "
                                           "or all")
    return min(int(text), classes)


async def _uploads(request: Request, max_files: int) -> list[tuple[str, bytes]]:
    """``(file name, bytes)`` of every uploaded file, in order."""
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        body = await request.body()
        return [("body", body)] if body else []
    try:
        form = await request.form(max_files=max_files)
    except HTTPException as exc:  # Starlette's multipart parser refusing the body
        code = "too_many_files" if "Too many files" in str(exc.detail) else "bad_multipart"
        raise ServeError(400, code, f"the multipart body was refused: {exc.detail}") from exc
    files = [(value.filename or key, await value.read()) for key, value in form.multi_items()
             if not isinstance(value, str)]
    await form.close()
    return files


def create_app(predictor: Predictor, limits: Limits | None = None, max_batch: int = 32,
               wait_seconds: float = 0.002):
    """The ASGI application for a warmed-up ``predictor`` (FastAPI inside the body limit
    and the access log); ``max_batch=1`` turns batching off."""
    limits = limits or Limits()
    model_thread = ThreadPoolExecutor(1, thread_name_prefix="cnnkit-model")
    batcher = Batcher(predictor.probabilities, model_thread, max_batch, wait_seconds)
    page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher.start()
        yield
        await batcher.stop()
        model_thread.shutdown(wait=False)

    app = FastAPI(title="cnnkit", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    add_error_handlers(app)

    async def within_time(request: Request, work):
        try:
            return await asyncio.wait_for(work, limits.timeout_seconds)
        except TimeoutError:
            if not request.scope.get(BODY_DONE, True):
                raise ServeError(408, "upload_timeout", "the upload did not arrive within "
                                 f"{limits.timeout_seconds:g} s") from None
            raise ServeError(503, "busy", "the server could not answer within "
                             f"{limits.timeout_seconds:g} s; try again later") from None

    async def images_of(request: Request, most: int) -> tuple[list[str], np.ndarray]:
        files = await _uploads(request, most)
        if not files:
            raise ServeError(400, "no_image", "the request holds no image: send it as a "
                             "multipart file field (curl -F file=@cat.jpg) or as the body")
        images = await run_in_threadpool(decode_uploads, files, predictor.shape,
                                         limits.max_pixels)
        request.state.images = len(images)
        return [name for name, _ in files], images

    def ranked(row: np.ndarray, k: int) -> list[dict]:
        order = np.argsort(-row, kind="stable")[:k]
        return [{"class": predictor.class_names[i], "probability": float(row[i])}
                for i in order]

    @app.post("/predict")
    async def predict(request: Request) -> dict:
        async def work():
            k = _top_k(request, len(predictor.class_names))
            names, images = await images_of(request, limits.max_files)
            rows = await batcher.submit(images)
            return {"predictions": [{"file": name, "top": ranked(row, k)}
                                    for name, row in zip(names, rows, strict=True)]}
        return await within_time(request, work())

    @app.post("/explain")
    async def explain(request: Request) -> dict:
        async def work():
            k = _top_k(request, len(predictor.class_names))
            names, images = await images_of(request, 1)
            rows = await batcher.submit(images)
            loop = asyncio.get_running_loop()
            picture = await loop.run_in_executor(model_thread, predictor.explain, images[0])
            return {"file": names[0], "top": ranked(rows[0], k), "gradcam": picture}
        return await within_time(request, work())

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "model": predictor.model.name, "batches": batcher.batches,
                "images": batcher.images}

    @app.get("/model")
    async def model_info() -> dict:
        return {**predictor.info(), "limits": limits.describe(),
                "batching": {"max_batch": max_batch, "wait_ms": wait_seconds * 1e3}}

    @app.get("/", response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    return AccessLog(BodyLimit(app, limits.max_upload_bytes))
