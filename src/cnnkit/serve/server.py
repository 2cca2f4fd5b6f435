"""Start serving: load the model once, warm it up, open the socket, run uvicorn.

The socket is opened only after the warm-up, so whoever can connect gets a warm model.
It binds 127.0.0.1 unless told otherwise; an address every machine on the network can reach
(0.0.0.0, ::) gets a warning, since the server has no authentication.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass, field

from ..errors import ConfigError
from .limits import Limits

OPEN_HOSTS = ("0.0.0.0", "::", "")


@dataclass
class ServeOptions:
    """How ``cnnkit serve`` runs."""

    host: str = "127.0.0.1"
    port: int = 8000
    max_batch: int = 32
    wait_ms: float = 2.0
    compile: bool | None = None  # None: when the warm-up measures it faster
    threads: int | None = None  # torch threads for the model; None: all cores but one
    limits: Limits = field(default_factory=Limits)
    access_log: bool = True


def require_packages() -> None:
    """A ConfigError naming the install command when the serve extra is missing."""
    for name in ("fastapi", "uvicorn", "multipart"):
        try:
            __import__(name)
        except ImportError as exc:
            raise ConfigError(f"cnnkit serve needs the {name} package, which is not "
                              "installed", hint="pip install 'cnnkit[serve]'") from exc


def open_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}",
                          hint="choose another --port, or stop what is using this one") from exc
    sock.listen(2048)
    return sock


def serve(model_path: str, options: ServeOptions, say=print) -> None:
    """Load, warm up and serve ``model_path`` until interrupted."""
    require_packages()
    import uvicorn

    from ..models import load_model
    from ..thread_count import set_torch_threads
    from .access_log import configure
    from .app import create_app
    from .linger import LingeringH11Protocol
    from .predictor import Predictor

    if options.host in OPEN_HOSTS:
        print(f"warning: --host {options.host or '0.0.0.0'} accepts connections from every "
              "machine that can reach this one, and the server has no authentication; put it "
              "behind a reverse proxy (docs/serving.md) or use 127.0.0.1", file=sys.stderr)
    torch_threads = options.threads or max(1, (os.cpu_count() or 1) - 1)
    set_torch_threads(torch_threads)  # the HTTP side (parsing, decoding) keeps a core
    model = load_model(model_path, compile=False)
    predictor = Predictor(model, model_path, options.max_batch)
    say(f"loaded {model_path}: {len(predictor.class_names)} classes, input "
        f"{'x'.join(map(str, predictor.shape))}, {torch_threads} torch thread(s); warming up",
        flush=True)
    say(f"warm-up: {predictor.warm_up(options.compile)}", flush=True)
    app = create_app(predictor, options.limits, options.max_batch, options.wait_ms / 1e3)
    sock = open_socket(options.host, options.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    batching = (f"batches of up to {options.max_batch} within {options.wait_ms:g} ms"
                if options.max_batch > 1 else "no batching")
    say(f"serving on http://{shown}:{port}/ ({batching}); Ctrl-C stops", flush=True)
    if options.access_log:
        configure()
    config = uvicorn.Config(app, http=LingeringH11Protocol, log_level="warning",
                            access_log=False, lifespan="on", timeout_keep_alive=30)
    uvicorn.Server(config).run(sockets=[sock])
