"""``cnnkit serve``: a trained model behind HTTP (FastAPI + uvicorn) and a web page to try it.

- app.py: the routes (``POST /predict``, ``POST /explain``, ``GET /health``, ``GET /model``,
  ``GET /`` the page); errors.py: every error a JSON body with a 4xx status naming the
  problem; uploads.py: uploads decoded to the model's input, with the limits of limits.py;
- batcher.py: concurrent requests predicted together (a short wait window, a maximum
  batch); predictor.py: the model, loaded once, warmed up, compiled when that is faster;
- access_log.py: one JSON line per request; server.py: the socket and uvicorn.

Needs the ``serve`` extra: ``pip install 'cnnkit[serve]'``. docs/serving.md has the
numbers.
"""
