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
    serve.add_argument("--root", metavar="FILE", help="the pinned root certificate "
                       "(VERIFIER_ROOT)")
    serve.add_argument("--bundle", metavar="FILE", help="verify from this offline bundle "
                       "(VERIFIER_BUNDLE)")
    serve.add_argument("--upstream", metavar="URL", help="edge mode: refresh from this central "
                       "service and ship access events to it (VERIFIER_UPSTREAM; its key: "
                       "VERIFIER_UPSTREAM_KEY)")
    admin = commands.add_parser("admin", help="manage API keys (the admin API's operations)")
    keys = admin.add_subparsers(dest="keys", required=True).add_parser(
        "keys", help="create, list or revoke API keys").add_subparsers(dest="action",
                                                                        required=True)
    create = keys.add_parser("create", help="create a key; its token is printed once")
    create.add_argument("--owner", required=True, help="the agency the key belongs to")
    create.add_argument("--role", required=True, help="admin, verifier, checkpoint, …")
    keys.add_parser("list", help="list the keys (never their secrets)")
    revoke = keys.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    args = parser.parse_args(argv)
    if args.command == "admin":
        return _admin(args)
    import uvicorn

    for option, name in (("root", "VERIFIER_ROOT"), ("bundle", "VERIFIER_BUNDLE"),
                         ("upstream", "VERIFIER_UPSTREAM")):
        if getattr(args, option) is not None:  # the workers read their settings from here too
            os.environ[name] = str(getattr(args, option))
    settings = Settings()
    try:
        runtime = load_runtime(settings)  # created once here, so the start-up lines can say where
        runtime.close()
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
            f"--data-binary @{demo}/payload.txt\n"
            f"the demo card's holder view: {where}/me with that payload and the personal "
            f"access code {runtime.access_code}\n")
        # The workers load this very chain as configured trust data (no second demo).
        os.environ["VERIFIER_ROOT"] = str(demo / "root.pem")
        os.environ["VERIFIER_BUNDLE"] = str(demo / "bundle.cbor")
        os.environ["VERIFIER_ROOT_KEY"] = str(demo / "root-private.pem")
        os.environ["VERIFIER_ANONYMOUS"] = str(settings.anonymous_allowed).lower()
        if runtime.registry is not None and settings.registry is None:
            os.environ["VERIFIER_REGISTRY"] = runtime.registry
    sys.stderr.write(f"serving on {where} (API docs: {where}/docs)\n")
    uvicorn.run("verifier_service._asgi:app", host=args.host, port=args.port,
                workers=args.workers, log_level="warning", access_log=False,
                server_header=False)  # no banner naming the server and its version
    return 0


def _admin(args: argparse.Namespace) -> int:
    """The key operations of the admin API, on the data directory's store (as the operator)."""
    import json
    from datetime import UTC, datetime

    from ._gate import Caller, Gate

    settings = Settings()
    gate = Gate(settings)  # the store of VERIFIER_DATABASE_URL, or of the data directory
    operator = Caller(None, gate.roles["admin"], "command line")
    try:
        if args.action == "create":
            key, token = gate.audited(
                "api_key_created", operator,
                lambda: gate.store.create_key(args.owner, args.role, now=datetime.now(UTC)),
                lambda made: {"key_id": made[0].id}, owner=args.owner, role=args.role)
            print(json.dumps({"key": key.to_json(), "token": token}))
            sys.stderr.write("the token is shown this once; keep it secret\n")
        elif args.action == "list":
            print(json.dumps({"keys": [key.to_json() for key in gate.store.api_keys()]}))
        else:
            key = gate.audited("api_key_revoked", operator,
                               lambda: gate.store.revoke_key(args.key_id, now=datetime.now(UTC)),
                               lambda done: {"owner": done.owner}, key_id=args.key_id)
            print(json.dumps({"key": key.to_json()}))
    except CardError as err:
        sys.stderr.write(f"verifier_service: {err.message} ({err.code})\n")
        return 2
    finally:
        gate.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
