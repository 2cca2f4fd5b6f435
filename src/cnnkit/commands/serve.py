"""``cnnkit serve``: a saved model behind HTTP, with a web page to try it."""

from __future__ import annotations

import argparse

from .options import add_saved_model, positive_int

EXAMPLES = """examples:
  cnnkit serve runs/small-cnn-photos/model/best        # then open http://127.0.0.1:8000/
  curl -F file=@cat.jpg 'http://127.0.0.1:8000/predict?top_k=3'
  cnnkit serve model.keras --port 9000 --max-batch 64 --wait-ms 5
  cnnkit serve model.keras --host 0.0.0.0              # reachable from the network: a warning"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cnnkit serve``."""
    parser = subparsers.add_parser(
        "serve", help="serve a model over HTTP, with a web page to try it",
        description="Serve a saved model: POST /predict (image uploads), POST /explain "
                    "(with Grad-CAM), GET /health, GET /model, and a web page at /. "
                    "Concurrent requests are predicted in batches. The server answers only "
                    "once the model is loaded and warm. Needs pip install 'cnnkit[serve]'; "
                    "see docs/serving.md.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_saved_model(parser)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000,
                        help="port (default 8000; 0 picks a free one, printed at start)")
    parser.add_argument("--max-batch", type=positive_int, default=32, metavar="N",
                        help="most images predicted together (default 32; 1 turns batching "
                             "off)")
    parser.add_argument("--wait-ms", type=float, default=2.0, metavar="MS",
                        help="how long a batch waits for more requests (default 2 ms)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="run full batches through torch.compile (default: when the "
                             "warm-up measures it faster)")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="torch threads for the model (default: all cores but one, which "
                             "is left to receiving and decoding uploads)")
    parser.add_argument("--max-upload-mb", type=float, default=20.0, metavar="MB",
                        help="largest request body (default 20 MB)")
    parser.add_argument("--max-pixels", type=positive_int, default=40_000_000, metavar="N",
                        help="largest image in pixels, width x height (default 40 million)")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="S",
                        help="longest a request may take, upload included (default 30 s)")
    parser.add_argument("--no-access-log", action="store_true",
                        help="do not write the JSON access log to stderr")
    parser.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C."""
    from ..serve.limits import MB, Limits
    from ..serve.server import ServeOptions, serve

    limits = Limits(max_upload_bytes=int(args.max_upload_mb * MB), max_pixels=args.max_pixels,
                    timeout_seconds=args.timeout)
    serve(args.model, ServeOptions(args.host, args.port, args.max_batch, args.wait_ms,
                                   args.compile, args.threads, limits,
                                   not args.no_access_log))
    return 0
