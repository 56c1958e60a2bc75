"""CLI: `python -m sandbox --port 8081 --token ...` runs the fake Bot API in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from sandbox.ratelimit import RateLimit
from sandbox.server import SandboxServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--username", default="petitesmains_bot", help="bot username")
    parser.add_argument("--rate-limit", action="store_true", help="enable 429 flood control")
    parser.add_argument("--web", action="store_true", help="serve the web chat at / too")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    server = SandboxServer(
        token=args.token,
        bot_username=args.username,
        rate_limit=RateLimit() if args.rate_limit else None,
        host=args.host,
        port=args.port,
        web_chat=args.web,
    )
    await server.start()
    print(f"Telegram Bot API sandbox listening on {server.url}", flush=True)
    print(f"  TELEGRAM_API_URL={server.url}  token={server.token}", flush=True)
    if args.web:
        print(f"  web chat: {server.url}/ (users appear as they are added there)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    """Run until interrupted."""
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
