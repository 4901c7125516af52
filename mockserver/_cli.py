"""``runware-kit``: the kit's command line (validate now; serve and sample build on it).

The CLI lives in the top layer because its commands reach every package.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import openapi
from contracts import Violation, check_request

from ._proxy_cli import add_proxy_command, add_replay_options, replay_options

__all__ = ["main"]

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runware-kit",
        description="Contract tools for Runware's text-inference API, driven by its OpenAPI "
        "document.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()} (runware-contract-kit)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    validate = commands.add_parser(
        "validate",
        help="check request bodies against the document before sending them",
        description="Check JSON request bodies against the document; every file is reported. "
        "Exit 0: all valid; 1: violations (one per line); 2: a file could not be "
        "read, or a usage error.",
    )
    validate.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="JSON files with a request body (an array of tasks); - for stdin",
    )
    validate.add_argument(
        "--spec",
        metavar="PATH",
        action="append",
        help="OpenAPI document, or a directory of them; repeat it for "
        "several models, each task then judged by its model's "
        "(default: bundled)",
    )
    validate.add_argument("--json", action="store_true", help="machine-readable output")
    validate.add_argument("-q", "--quiet", action="store_true", help="print only violations")
    validate.set_defaults(run=_validate)

    sample = commands.add_parser(
        "sample",
        help="print generated requests as JSON lines (realistic, --fuzz or --invalid)",
        description="Print requests drawn from the document with Hypothesis, one JSON body per "
        "line: for curl, and for seeding fixtures. By default they are realistic "
        "(everyday prompts, settings near their defaults, each line a few hundred "
        "bytes, each one answered by the mock). --fuzz draws boundary values "
        "instead (lines of megabytes); with --invalid each body breaks exactly one "
        "rule, which is named on stderr.",
    )
    kind = sample.add_mutually_exclusive_group()
    kind.add_argument(
        "--fuzz",
        action="store_true",
        help="boundary draws (contracts.strategies.requests()), not realistic ones",
    )
    kind.add_argument("--invalid", action="store_true", help="bodies that break one rule")
    sample.add_argument("-n", type=_positive, default=10, metavar="N", help="how many (10)")
    sample.add_argument("--seed", type=int, metavar="S", help="seed for a reproducible run")
    sample.add_argument("--spec", metavar="PATH", help="OpenAPI document (default: bundled)")
    sample.set_defaults(run=_sample)

    serve = commands.add_parser(
        "serve",
        help="run the mock Runware server (the bundled document by default)",
        description="Serve an offline mock of Runware's text-inference API on uvicorn. Every "
        "setting can also come from a config file (--config): each key is "
        "explained in docs/config.md, and examples/mock.toml lists them all.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port (8080; 0 picks a free one, shown in the banner)",
    )
    serve.add_argument(
        "--spec",
        metavar="PATH",
        action="append",
        help="OpenAPI document, or a directory of *.openapi.json; repeat it to "
        "serve several models (default: the config's specs, else the "
        "bundled document)",
    )
    serve.add_argument(
        "--config",
        metavar="PATH",
        help="config file (.toml or .json; see docs/config.md and examples/mock.toml)",
    )
    serve.add_argument("--seed", type=int, metavar="N", help="reproducible generated seeds")
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        metavar="N",
        help="worker processes (1); share results with --store redis://…",
    )
    serve.add_argument(
        "--store",
        metavar="URL",
        help="memory:// (default) or redis://HOST:PORT/DB to share async "
        "results, WebSocket sessions and the journal",
    )
    serve.add_argument(
        "--processing-ms",
        type=int,
        metavar="N",
        help="how long a generation takes before its result is ready (10)",
    )
    serve.add_argument(
        "--ttft-ms", type=int, metavar="N", help="streams: delay before the first chunk (0)"
    )
    serve.add_argument(
        "--tokens-per-second",
        type=float,
        metavar="N",
        help="streams: pacing, 0 for as fast as possible (0)",
    )
    serve.add_argument(
        "--webhook-attempts",
        type=_positive,
        metavar="N",
        help="webhook deliveries tried per result (5)",
    )
    serve.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help="require this token (header X-Runware-Mock-Token or ?token=) on "
        "/__mock/*; required when not bound to loopback",
    )
    serve.add_argument("-q", "--quiet", action="store_true", help="no console line per request")
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="uvicorn's access log as well (off: the console lines say more)",
    )
    serve.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        help="uvicorn's own messages (warning)",
    )
    add_replay_options(serve)
    serve.set_defaults(run=_serve)
    add_proxy_command(commands)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("runware-contract-kit")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    with open(name, "rb") as handle:
        return handle.read()


def _violation_json(violation: Violation) -> dict[str, Any]:
    return {
        "taskIndex": violation.task_index,
        "pointer": violation.pointer,
        "keyword": violation.keyword,
        **violation.to_error(),
    }


def _validate(args: argparse.Namespace) -> int:
    try:
        catalog = openapi.load_catalog(*(args.spec or ()))
    except openapi.SpecError as exc:
        print(f"runware-kit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    reports: list[tuple[str, list[Violation] | None, str | None]] = []
    for name in args.files:  # every file is reported, the unreadable ones too
        label = "<stdin>" if name == "-" else name
        try:
            body = _read(name)
        except OSError as exc:
            reports.append((label, None, f"cannot read {label}: {exc.strerror}"))
            continue
        reports.append((label, check_request(body, spec=catalog), None))
    if args.json:
        spec = catalog.first
        print(
            json.dumps(
                {
                    "spec": spec.source,
                    "model": spec.model_id,
                    "models": list(catalog.model_ids),
                    "files": [
                        {"file": label, "error": problem}
                        if found is None
                        else {
                            "file": label,
                            "valid": not found,
                            "violations": [_violation_json(v) for v in found],
                        }
                        for label, found, problem in reports
                    ],
                },
                indent=2,
            )
        )
    else:
        for label, found, problem in reports:
            if found is None:
                print(f"runware-kit: {problem}", file=sys.stderr)
                continue
            if not found and not args.quiet:
                print(f"{label}: valid")
            for violation in found:
                print(f"{label}: {violation}")
    if any(found is None for _, found, _ in reports):
        return EXIT_USAGE
    return EXIT_VIOLATIONS if any(found for _, found, _ in reports) else EXIT_OK


def _sample(args: argparse.Namespace) -> int:
    import random

    from ._sample import Kind, draw_examples  # Hypothesis is imported only for this command

    try:
        spec = openapi.load(args.spec)
    except openapi.SpecError as exc:
        print(f"runware-kit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"# seed {seed} (pass --seed {seed} to repeat this run)", file=sys.stderr)
    kind: Kind = "invalid" if args.invalid else "fuzz" if args.fuzz else "realistic"
    for drawn in draw_examples(spec, count=args.n, seed=seed, kind=kind):
        if args.invalid:
            print(
                f"# {drawn.violation.keyword} at {drawn.violation.pointer or '/'}: "
                f"{drawn.violation.message}",
                file=sys.stderr,
            )
            drawn = drawn.payload
        sys.stdout.write(json.dumps(drawn) + "\n")
        sys.stdout.flush()
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from ._config import ConfigError
    from ._uvicorn import serve

    try:
        overrides = {
            name: getattr(args, name)
            for name in (
                "seed",
                "store",
                "processing_ms",
                "ttft_ms",
                "tokens_per_second",
                "webhook_attempts",
                "admin_token",
            )
            if getattr(args, name) is not None
        }
        serve(
            host=args.host,
            port=args.port,
            spec_paths=tuple(args.spec or ()),
            config_path=args.config,
            overrides=overrides,
            workers=args.workers,
            log_level=args.log_level,
            quiet=args.quiet,
            access_log=args.access_log,
            replay=replay_options(args),
        )
    except (openapi.SpecError, ConfigError) as exc:
        print(f"runware-kit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = _parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
