"""``runware-kit proxy`` and ``runware-kit serve --replay``: their options and how they run.

Kept out of ``_cli`` so that the command line's module stays a table of commands; nothing
heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = [
    "ReplayOptions",
    "add_proxy_command",
    "add_replay_options",
    "replay_options",
    "serve_proxy",
]


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """``serve --replay DIR`` and its companions."""

    folder: str
    miss: str = "error"  # "error" or "generate"
    ignore: tuple[str, ...] = ()
    pacing: str = "fast"

    def install(self, app: Starlette) -> str:
        """Put the replay layer in front of ``app``; the banner's line about it."""
        from ._replay import install_replay

        replayer = install_replay(
            app,
            cassettes=Path(self.folder),
            miss="pass" if self.miss == "generate" else "error",
            ignore=self.ignore,
            pacing=self.pacing,  # type: ignore[arg-type]
        )
        return (
            f"  replay    : {len(replayer.rest)} REST and {len(replayer.ws)} WebSocket "
            f"recordings from {len(replayer.cassettes)} cassette(s) in {self.folder}\n"
            f"              compared without {', '.join(replayer.ignore)}; pacing "
            f"{self.pacing}; a miss: "
            f"{'the mock generates' if self.miss == 'generate' else 'a 404 error'}"
        )


def add_replay_options(serve: argparse.ArgumentParser) -> None:
    group = serve.add_argument_group("replay (docs/proxy.md)")
    group.add_argument(
        "--replay",
        metavar="DIR",
        help="answer from the cassettes in DIR (runware-kit proxy --record "
        "wrote them), taskUUIDs rewritten to each request's",
    )
    group.add_argument(
        "--replay-miss",
        choices=["error", "generate"],
        default="error",
        help="a request no recording matches: a 404 noRecordingMatched that "
        "names the closest (error, the default), or the mock's own "
        "answer (generate)",
    )
    group.add_argument(
        "--replay-ignore",
        metavar="FIELD",
        action="append",
        default=[],
        help="a task field matching leaves out beside taskUUID (dotted for "
        "nested ones: settings.seed); repeat it for several",
    )
    group.add_argument(
        "--replay-pacing",
        choices=["fast", "recorded"],
        default="fast",
        help="streams and frames at once (fast) or as recorded",
    )


def replay_options(args: argparse.Namespace) -> ReplayOptions | None:
    if args.replay is None:
        return None
    return ReplayOptions(
        folder=args.replay,
        miss=args.replay_miss,
        ignore=tuple(args.replay_ignore),
        pacing=args.replay_pacing,
    )


def add_proxy_command(commands: Any) -> None:
    proxy = commands.add_parser(
        "proxy",
        help="check live traffic: forward to a Runware server, judge both ways",
        description="Forward REST, SSE streams and WebSocket frames to --target unchanged, "
        "checking every request against the document and every reply, event and "
        "frame against the response contract. Each exchange is journaled with "
        "both verdicts (/__mock/requests, the inspector at /__mock/): "
        "'violations' are the client's, 'drift' the server's. See docs/proxy.md.",
    )
    proxy.add_argument(
        "--target",
        required=True,
        metavar="URL",
        help="the server's REST endpoint, e.g. https://api.runware.ai/v1 or "
        "http://127.0.0.1:8081/v1",
    )
    proxy.add_argument(
        "--ws-target",
        metavar="URL",
        help="its WebSocket endpoint (default: --target as ws(s)://); "
        "Runware's is wss://ws-api.runware.ai/v1",
    )
    proxy.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    proxy.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port (8080; 0 picks a free one, shown in the banner)",
    )
    proxy.add_argument(
        "--record", metavar="DIR", help="write this session's cassette into DIR (API keys removed)"
    )
    proxy.add_argument(
        "--strict",
        action="store_true",
        help="refuse a request that breaks the document (400) instead of forwarding it",
    )
    proxy.add_argument(
        "--spec",
        metavar="PATH",
        action="append",
        help="OpenAPI document requests are judged by (default: bundled)",
    )
    proxy.add_argument(
        "--config",
        metavar="PATH",
        help="the mock's config file, for its limits and journal settings",
    )
    proxy.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help="require this token on /__mock/*; required when not bound to loopback",
    )
    proxy.add_argument("-q", "--quiet", action="store_true", help="no console line per exchange")
    proxy.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        help="uvicorn's own messages (warning)",
    )
    proxy.set_defaults(run=_run_proxy)


def _run_proxy(args: argparse.Namespace) -> int:
    import openapi

    from ._config import ConfigError

    try:
        serve_proxy(
            host=args.host,
            port=args.port,
            target=args.target,
            ws_target=args.ws_target,
            record=args.record,
            strict=args.strict,
            spec_paths=tuple(args.spec or ()),
            config_path=args.config,
            admin_token=args.admin_token,
            quiet=args.quiet,
            log_level=args.log_level,
        )
    except (openapi.SpecError, ConfigError) as exc:
        print(f"runware-kit: {exc}", file=sys.stderr)
        return 2
    return 0


def serve_proxy(
    *,
    host: str,
    port: int,
    target: str,
    ws_target: str | None,
    record: str | None,
    strict: bool,
    spec_paths: tuple[str, ...] = (),
    config_path: str | None = None,
    admin_token: str | None = None,
    quiet: bool = False,
    log_level: str = "warning",
) -> None:
    """Bind, print where the proxy is and where it forwards, then run uvicorn."""
    import uvicorn

    import openapi

    from ._cassette import session_path
    from ._config import MockConfig, load_config
    from ._logging import log_config
    from ._proxy import create_proxy_app, target_urls
    from ._uvicorn import _ignore, _is_loopback, _limits, _listen, _url

    rest_url, ws_url = target_urls(target, ws_target)
    spec = openapi.load_catalog(*spec_paths) if spec_paths else openapi.load()
    config = load_config(config_path) if config_path else MockConfig()
    if admin_token is not None:
        config = config.replace(admin_token=admin_token)
    if not _is_loopback(host):
        print(
            f"WARNING: listening on {host}, not loopback: anyone who can reach this "
            "machine can send requests through the proxy.",
            file=sys.stderr,
            flush=True,
        )
        hosts = ("*",) if host in ("0.0.0.0", "::", "") else (host,)
        config = config.replace(
            allowed_hosts=(*config.allowed_hosts, *hosts), admin_open=config.admin_token is not None
        )
    cassette = session_path(record) if record is not None else None
    app = create_proxy_app(
        target=rest_url, ws_target=ws_url, spec=spec, config=config, record=cassette, strict=strict
    )
    sock = _listen(host, port)
    base = _url(host, sock.getsockname()[1])
    first = spec.first if isinstance(spec, openapi.Catalog) else spec
    print(
        f"runware-kit proxy: {first.title} (model {first.model_id})\n"
        f"  endpoint  : {base}/v1   (also {base}/ and WebSocket ws{base[4:]}/v1)\n"
        f"  forwards  : {rest_url}   and WebSocket {ws_url}\n"
        f"  inspector : {base}/__mock/   (both verdicts: violations = client, "
        f"drift = server)\n"
        f"  journal   : {base}/__mock/requests\n"
        f"  record    : {cassette if cassette is not None else '(off: --record DIR)'}\n"
        f"  strict    : {'on: invalid requests are refused, not forwarded' if strict else 'off: traffic passes unchanged'}\n"  # noqa: E501
        f"One line per exchange follows (--quiet: none); Ctrl-C stops the proxy.",
        file=sys.stderr,
        flush=True,
    )
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _ignore)
    uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=log_level,
            access_log=False,
            log_config=log_config(console=not quiet),
            **_limits(config),
        )
    ).run(sockets=[sock])
