"""``python -m verifier_service serve [--host H] [--port P] [--workers N]``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cardlib import CardError

from ._runtime import load_runtime
from ._settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verifier_service",
                                     description="the cardlib verification service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the service (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    import uvicorn

    settings = Settings()
    try:
        runtime = load_runtime(settings)  # created once here, so the start-up lines can say where
    except (CardError, OSError) as err:
        sys.stderr.write(f"verifier_service: cannot start: {err}\n")
        return 2
    where = f"http://{args.host}:{args.port}"
    if runtime.demo is not None:
        demo = runtime.demo.directory
        sys.stderr.write(
            f"embedded defaults: demo root, centre TRP-01, trust list, revocation list and "
            f"bundle in {demo}/ (verifier state in {settings.data_dir}/state)\n"
            f"try: curl -s {where}/v1/verify -H 'Content-Type: text/plain' "
            f"--data-binary @{demo}/payload.txt\n")
        # The workers load this very chain as configured trust data (no second demo).
        os.environ["VERIFIER_ROOT"] = str(demo / "root.pem")
        os.environ["VERIFIER_BUNDLE"] = str(demo / "bundle.cbor")
        os.environ["VERIFIER_ANONYMOUS"] = str(settings.anonymous_allowed).lower()
    sys.stderr.write(f"serving on {where} (API docs: {where}/docs)\n")
    uvicorn.run("verifier_service._asgi:app", host=args.host, port=args.port,
                workers=args.workers, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
