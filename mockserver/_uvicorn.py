"""``runware-kit serve``: run the mock on uvicorn, in one process or in several workers
built from the environment (``app_from_environment``)."""

from __future__ import annotations

import errno
import gc
import ipaddress
import json
import os
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

import openapi

from ._app import create_app
from ._config import ConfigError, MockConfig, load_config
from ._logging import log_config
from ._protocol import head_limited_protocol
from ._rest_endpoint import hoisted
from ._store import hide_password

if TYPE_CHECKING:
    from ._proxy_cli import ReplayOptions

__all__ = ["app_from_environment", "serve"]

# How `--workers N` hands its options to each worker process (uvicorn imports the factory).
ENV_SPEC, ENV_CONFIG, ENV_OVERRIDES = (
    "RUNWARE_KIT_SPEC",
    "RUNWARE_KIT_CONFIG",
    "RUNWARE_KIT_OVERRIDES",
)


def _config(config_path: str | None, overrides: dict[str, Any]) -> MockConfig:
    config = load_config(config_path) if config_path else MockConfig()
    return config.replace(**overrides) if overrides else config


def app_from_environment() -> ASGIApp:
    """The app factory uvicorn's workers call (``RUNWARE_KIT_*`` variables): the mock's
    Starlette app, with ``POST /v1`` in front of it (``_rest_endpoint.hoisted``)."""
    overrides = json.loads(os.environ.get(ENV_OVERRIDES) or "{}")
    if "allowed_hosts" in overrides:  # JSON has no tuples
        overrides["allowed_hosts"] = tuple(overrides["allowed_hosts"])
    config = _config(os.environ.get(ENV_CONFIG) or None, overrides)
    paths = json.loads(os.environ.get(ENV_SPEC) or "[]")  # a JSON list of paths
    app = create_app(spec=catalog_for(tuple(paths), config), config=config)
    _settle()
    return hoisted(app, forwarded_allow_ips=_forwarded_allow_ips())


def _forwarded_allow_ips() -> str:
    """Whose ``X-Forwarded-*`` headers to trust: uvicorn's own default (its environment
    variable, else loopback). ``serve`` applies them in ``hoisted`` and runs uvicorn with
    ``proxy_headers=False``, so the REST endpoint, which reads neither, skips them."""
    return os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def _settle() -> None:
    """Put what start-up built out of the garbage collector's sight. The documents, their
    compiled validators and every module are tens of thousands of objects that live as long
    as the process; each full collection walked them all again, which cost the mock's hot
    path several percent of its throughput (bench_mock). ``serve`` owns its process, so it
    may (an app made with ``create_app`` in a test leaves the collector alone)."""
    gc.collect()
    gc.freeze()


def catalog_for(spec_paths: tuple[str, ...], config: MockConfig) -> openapi.Catalog:
    """The documents to serve: ``--spec`` when given (each a file or a directory), else the
    config's ``specs``, else the bundled document."""
    return openapi.load_catalog(*(spec_paths or config.specs))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ignore(signum: int, frame: object) -> None:
    """Stand-in handler: the stop was already handled by uvicorn's shutdown."""


def _limits(config: MockConfig) -> dict[str, Any]:
    """uvicorn's options for the config's transport limits (docs/reliability.md, "Limits")."""
    # uvicorn only calls `http` to build each connection's protocol (a partial does), and
    # hands the shutdown timeout to asyncio.wait_for (a float does).
    return {
        "http": head_limited_protocol(
            max_bytes=config.max_header_bytes, timeout_s=config.header_timeout_s
        ),
        "ws_max_size": config.max_body_bytes,
        "timeout_graceful_shutdown": config.shutdown_timeout_s,
    }


def _listen(host: str, port: int) -> socket.socket:
    """Bind the mock's socket before anything is printed: a taken port is one clear line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        why = (
            "the port is already in use (another mock?)"
            if exc.errno == errno.EADDRINUSE
            else (exc.strerror or str(exc)).lower()
        )
        raise ConfigError(
            f"cannot listen on {_url(host, port)}: {why}; pick another --port "
            "(--port 0 picks a free one)",
            key="port",
        ) from None
    sock.set_inheritable(True)  # --workers hands it to each worker process
    return sock


def _url(host: str, port: int) -> str:
    return f"http://{host if ':' not in host else f'[{host}]'}:{port}"


def banner(
    *, spec: openapi.Spec | openapi.Catalog, config: MockConfig, host: str, port: int
) -> str:
    """What ``serve`` prints once it listens: every URL a user needs, and where to read."""
    base = _url(host, port)
    catalog = openapi.Catalog.of(spec)
    first = catalog.first
    if len(catalog) == 1:
        head = f"runware-kit mock: {first.title} (model {first.model_id})\n"
        documents = f"  document  : {first.source}\n"
    else:
        head = f"runware-kit mock: {len(catalog)} models, one document each\n"
        shown = [
            f"{model}  ({found.title}, {found.source})"
            for model in catalog.model_ids[:_BANNER_MODELS]
            if (found := catalog.for_model(model))
        ]
        rest = len(catalog.model_ids) - len(shown)
        if rest > 0:
            shown.append(f"… and {rest} more: {base}/openapi/models")
        documents = "".join(
            f"  {'models' if i == 0 else '':<10}: {line}\n" for i, line in enumerate(shown)
        )
    return (
        head + f"  endpoint  : {base}/v1   (also {base}/ and WebSocket ws{base[4:]}/v1)\n"
        f"  inspector : {base}/__mock/   (what the mock saw, live)\n"
        f"  journal   : {base}/__mock/requests\n"
        f"  openapi   : {base}/openapi.json"
        + (f"   (each model's: {base}/openapi/models)\n" if len(catalog) > 1 else "\n")
        + documents
        + f"  store     : {hide_password(config.store) or 'memory://'}\n"
        f"One line per request follows (--quiet: none); Ctrl-C stops the mock."
    )


_BANNER_MODELS = 10  # models the banner lists; the index URL has them all


def serve(
    *,
    host: str,
    port: int,
    spec_paths: tuple[str, ...] = (),
    config_path: str | None,
    overrides: dict[str, Any],
    workers: int,
    log_level: str,
    quiet: bool = False,
    access_log: bool = False,
    replay: ReplayOptions | None = None,
) -> None:
    """Bind, print where the mock is, then run uvicorn (uvloop and httptools when
    installed), one process or ``workers``. ``spec_paths``: documents or directories of
    them (``--spec``); none: the config's ``specs``, else the bundled document. ``replay``:
    answer from cassettes first (``--replay DIR``, one worker)."""
    config = _config(config_path, overrides)
    spec = catalog_for(spec_paths, config)
    if workers > 1 and (config.store or "memory://").startswith("memory"):
        print(
            "WARNING: several workers with the memory store each keep their own async "
            "results, sessions and journal; use --store redis://HOST:PORT/DB to share them.",
            file=sys.stderr,
            flush=True,
        )
    if not _is_loopback(host):
        print(
            f"WARNING: listening on {host}, not loopback: anyone who can reach this "
            "machine can use the mock.",
            file=sys.stderr,
            flush=True,
        )
        # Browsers reach the mock here under this address (or, bound to every address,
        # under any of the machine's names): the admin token guards /__mock/* instead.
        hosts = ("*",) if host in ("0.0.0.0", "::", "") else (host,)
        config = config.replace(allowed_hosts=(*config.allowed_hosts, *hosts))
        overrides = {**overrides, "allowed_hosts": list(config.allowed_hosts)}
        if config.admin_token is None:
            config = config.replace(admin_open=False)
            overrides = {**overrides, "admin_open": False}
            print(
                "WARNING: the /__mock/* admin endpoints (journal, faults, inspector) are "
                "disabled; pass --admin-token TOKEN to use them from here.",
                file=sys.stderr,
                flush=True,
            )
    app: Any = create_app(spec=spec, config=config) if workers == 1 else None
    if replay is not None and workers > 1:
        raise ConfigError(
            "--replay serves from one worker: a poll must reach the worker "
            "that answered its task; drop --workers",
            key="workers",
        )
    replaying = replay.install(app) if replay is not None else None
    if app is not None:  # before the banner: clients may connect once it is printed
        _settle()
    sock = _listen(host, port)
    shown = banner(spec=spec, config=config, host=host, port=sock.getsockname()[1])
    if replaying is not None:  # above the banner's last line, which says what follows
        head, _, last = shown.rpartition("\n")
        shown = f"{head}\n{replaying}\n{last}"
    print(shown, file=sys.stderr, flush=True)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the
    # handler that was there before it. A no-op handler there makes the stop a clean exit 0.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _ignore)
    options: dict[str, Any] = {
        "log_level": log_level,
        "access_log": access_log,
        "log_config": log_config(console=not quiet),
        "proxy_headers": False,  # applied by hoisted(), behind the REST endpoint
        **_limits(config),
    }
    if workers > 1:
        os.environ[ENV_SPEC] = json.dumps(list(spec_paths))
        os.environ[ENV_CONFIG] = config_path or ""
        os.environ[ENV_OVERRIDES] = json.dumps(overrides)
        worker_config = uvicorn.Config(
            "mockserver._uvicorn:app_from_environment", factory=True, workers=workers, **options
        )
        Multiprocess(worker_config, sockets=[sock]).run()
        return
    served = hoisted(app, forwarded_allow_ips=_forwarded_allow_ips())
    uvicorn.Server(uvicorn.Config(served, **options)).run(sockets=[sock])
