"""The ``cardlib`` command line: keygen, issue, verify, inspect, demo. I/O lives here."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from ._errors import (
    EXIT_CODES,
    AuditTamperedError,
    CardError,
    HistoryNotFoundError,
    RevocationListRollbackError,
    TrustListRollbackError,
)
from ._files import write_all as _write_all
from ._messages import message_for
from ._pipeline import inspect, issue
from ._result import error_to_json, invalid
from ._state import VerifierState, default_state_directory
from ._values import iso
from ._verifier import Policy, Verifier
from .keys import PrivateKey, PublicKey, SymmetricKey
from .profile import record_from_json_text
from .trust import certificate_der, root_public_key

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
MAX_INPUT_BYTES = 1 << 20


class UsageError(Exception):
    """Bad arguments or unreadable files: exit code 2."""


def _emit(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _report(args: argparse.Namespace, data: Any) -> None:
    """JSON with --json (for scripts), else the same facts as readable lines (for people)."""
    if getattr(args, "json", True):
        _emit(data)
        return
    sys.stdout.write("".join(_lines(data, 0)))


def _lines(value: Any, indent: int) -> list[str]:
    """Readable ``key: value`` lines: nested objects indented, list items as ``- …``, and no
    Python spellings (null is ``—``, booleans ``yes``/``no``)."""
    pad = "  " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                out.append(f"{pad}{key}:\n")
                out.extend(_lines(item, indent + 1))
            else:
                out.append(f"{pad}{key}: {_shown(item)}\n")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                out.append(f"{pad}- " + ", ".join(f"{k}={_shown(v)}" for k, v in item.items())
                           + "\n")
            else:
                out.append(f"{pad}- {_shown(item)}\n")
    else:
        out.append(f"{pad}{_shown(value)}\n")
    return out


def _shown(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _warn(text: str) -> None:
    sys.stderr.write(f"cardlib: {text}\n")


MAX_IMAGE_BYTES = 32 * 1024 * 1024
MAX_BATCH_STDIN = 256 * 1024 * 1024


def _read_bytes(name: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """A file's bytes (or stdin's for '-'), refusing more than ``limit``."""
    try:
        if name == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with open(name, "rb") as handle:
                data = handle.read(limit + 1)
    except OSError as err:
        raise UsageError(f"cannot read {name}: {err.strerror or err}") from err
    if len(data) > limit:
        raise UsageError(f"{'standard input' if name == '-' else name} is larger than "
                         f"{limit} bytes")
    return data


def _read_bytes_large(name: str) -> bytes:
    """An image or photo file (up to 32 MiB)."""
    return _read_bytes(name, MAX_IMAGE_BYTES)


def _payload(arg: str) -> str:
    """A payload given inline, or '-' for stdin; a trailing newline is not part of it."""
    if arg != "-":
        return arg
    raw = _read_bytes("-")
    try:
        return raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise UsageError("the payload on standard input is not UTF-8 text") from err


def _passphrase(path: str | None, *, confirm: bool = False, prompt: bool = True) -> bytes | None:
    if path is not None:
        data = _read_bytes(path).rstrip(b"\r\n")
        if not data:
            raise UsageError(f"the passphrase file {path} is empty")
        return data
    if not prompt or not sys.stdin.isatty():
        return None
    first = getpass.getpass("Passphrase (empty for none): ").encode()
    if first and confirm and getpass.getpass("Repeat passphrase: ").encode() != first:
        raise UsageError("the passphrases do not match")
    return first or None


def _now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise UsageError(
            f"--now must be an ISO-8601 time such as 2026-05-01T12:00:00Z: {err}"
        ) from err
    try:
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise UsageError(f"--now {text} is outside the years a UTC time can name") from None
    if not 1970 <= moment.year <= 9998:
        raise UsageError("--now must lie between 1970 and 9998")
    return moment


def _seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from None
    if not 0 <= value <= 86_400 * 366:
        raise argparse.ArgumentTypeError("give 0 to 31622400 seconds")
    return value


def _budget(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of bytes: {text!r}") from None
    if not 100 <= value <= 65536:
        raise argparse.ArgumentTypeError("the photo budget must be 100-65536 bytes")
    return value


def _load_private(path: str, passphrase_file: str | None) -> PrivateKey:
    data = _read_bytes(path)
    passphrase = _passphrase(passphrase_file, prompt=b"ENCRYPTED" in data)
    return PrivateKey.from_pem(data, passphrase)


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def cmd_keygen(args: argparse.Namespace) -> int:
    out = Path(args.out)
    private_path, public_path = out / "private.pem", out / "public.pem"
    for path in (private_path, public_path):
        if path.exists():
            raise UsageError(f"{path} exists; refusing to overwrite a key")
    passphrase = _passphrase(args.passphrase_file, confirm=True)
    key = PrivateKey.generate(args.alg)
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write(private_path, key.to_pem(passphrase), 0o600)
        _write(public_path, key.public_key.to_pem(), 0o644)
    except OSError as err:
        raise UsageError(f"cannot write the key files in {out}: {err.strerror or err}") from err
    if passphrase is None:
        _warn(f"warning: {private_path} is NOT encrypted (owner-only permissions); "
              "use --passphrase-file to encrypt it")
    _report(args, {"algorithm": key.algorithm, "kid": key.kid.hex(),
                   "private_key": str(private_path), "public_key": str(public_path),
                   "encrypted": passphrase is not None})
    return EXIT_OK


def _signer(args: argparse.Namespace, now: datetime) -> Any:
    """The private key, named by its centre certificate when --certificate is given; the
    certificate is checked first (a centre's card-signing certificate for exactly this key,
    valid now, and with --root issued by that root): nothing is signed or recorded with a
    certificate that would make the card fail."""
    key = _load_private(args.key, args.passphrase_file)
    if args.certificate is None:
        if args.root is not None:
            raise UsageError("--root checks the --certificate: give both")
        return key
    from .trust import CertifiedSigner

    root = None if args.root is None else _load_file(args.root, _pinned_root)
    return _load_file(args.certificate, lambda data: CertifiedSigner.checked(
        key, certificate_der(data), now=now, root_der=root))


def _signer_options(parser: argparse.ArgumentParser) -> None:
    """The signer options of every command that issues (issue, render, batch)."""
    parser.add_argument("--key", required=True, metavar="PRIVATE.pem",
                        help="the signing key (a centre's key, with --certificate)")
    parser.add_argument("--passphrase-file", metavar="F", help="the key's passphrase")
    parser.add_argument("--certificate", metavar="CENTRE.pem",
                        help="the key's centre certificate: the card's kid becomes its kid, and "
                        "the record's centre_code must be the certificate's centre")
    parser.add_argument("--root", metavar="ROOT.pem",
                        help="with --certificate: check it was issued by this national root")


def cmd_issue(args: argparse.Namespace) -> int:
    """Sign the record; with --registry, record the card and set the holder's new access code
    (its hash) in one transaction. The bare payload goes to stdout (a pipe or a file that
    travels with the card), the access code to stderr, shown once; --json has both."""
    if args.registry is None and (args.replaces is not None or args.operation != "replace"):
        raise UsageError("--replaces and --operation record a reissue in the registry: give "
                         "--registry URL")
    now = _now(args.now) or datetime.now(UTC)
    signer = _signer(args, now)
    record = record_from_json_text(_read_bytes(args.record))
    encrypt_key = None if args.encrypt_key is None else _symmetric_keys([args.encrypt_key])[0]
    payload = issue(record, signer, now=now, issuer=args.issuer, encrypt_key=encrypt_key)
    code = None
    if args.registry is not None:  # record the card first: a refused card is never printed
        code = _register(args, record, signer, payload, now)
    if args.json:
        _emit({"payload": payload, "document_number": record.document_number,
               "kid": signer.kid.hex(), "recorded": args.registry is not None,
               "access_code": code})
    else:
        sys.stdout.write(payload + "\n")
        if code is not None:
            sys.stderr.write(_access_code_line(code))
    return EXIT_OK


def _access_code_line(code: str) -> str:
    return f"access code (give to the holder, shown once): {code}\n"


def _register(args: argparse.Namespace, record: Any, signer: Any, payload: str,
              now: datetime) -> str:
    """Record the card (a first issue, or --replaces with --operation) with a new access code
    for its holder, in one transaction; the code, for the holder."""
    from ._batch import registry_card
    from .store import generate_access_code

    card = registry_card(record, signer, payload, now)
    code = generate_access_code()
    with _open_registry(args.registry) as registry:
        if args.replaces is None:
            registry.record_issue(card, access_code=code)
        else:
            operation = {"replace": registry.replace, "renew": registry.renew,
                         "correct": registry.correct}[args.operation]
            operation(args.replaces, card, now=now, access_code=code)
    return code


def _open_registry(url: str, *, create: bool = False) -> Any:
    """The issuance registry at ``url``, for every command that uses one. It must exist
    (``registry_not_found`` otherwise): only ``cardlib registry init`` passes ``create``."""
    from .store import open_registry

    return open_registry(url, create=create)


def cmd_registry_init(args: argparse.Namespace) -> int:
    """Create the issuance registry at URL (or migrate it if it exists): the only command that
    creates one, so a mistyped --registry elsewhere never makes a new, empty registry."""
    with _open_registry(args.url, create=True) as registry:
        report = {"registry": registry.where, "created": registry.created,
                  "schema_version": registry.schema_version}
    _report(args, report)
    return EXIT_OK


def cmd_registry_reset_code(args: argparse.Namespace) -> int:
    """Set a new personal access code for a holder (at a centre, the holder present): the old
    one stops working; the new one is printed this once (only its hash is kept)."""
    now = _now(args.now) or datetime.now(UTC)
    with _open_registry(args.registry) as registry:
        code = registry.new_access_code(args.holder, centre_code=args.centre, now=now)
    report = {"holder": args.holder, "centre": args.centre, "set_at": iso(now)}
    if args.json:
        _emit(report | {"access_code": code})
    else:
        sys.stdout.write("".join(_lines(report, 0)) + _access_code_line(code))
    return EXIT_OK


def cmd_revoke(args: argparse.Namespace) -> int:
    with _open_registry(args.registry) as registry:
        card = registry.revoke(args.document_number, args.reason,
                               now=_now(args.now) or datetime.now(UTC))
    _report(args, {"document_number": card.document_number, "status": card.status,
           "reason": card.revocation_reason,
           "revoked_at": iso(card.revoked_at)})
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    """The holder's own view: every event about their cards, given their national number and
    one of their own document numbers (the number alone does not open someone's history)."""
    with _open_registry(args.registry) as registry:
        events = registry.history(args.holder)
    if not any(event.document_number == args.document for event in events):
        raise HistoryNotFoundError("no history for this national number and document number")
    _report(args, {"holder": args.holder, "events": [
        {"seq": e.seq, "event": e.event, "document_number": e.document_number,
         "at": iso(e.at), "reason": e.reason, "replaces": e.replaces} for e in events]})
    return EXIT_OK


def _load_file(path: str, load: Any) -> Any:
    """Read the caller's trust file and load it; an error in the file names it (it is the
    file's fault, never the card's)."""
    data = _read_bytes(path, MAX_IMAGE_BYTES)
    try:
        return load(data)
    except CardError as err:
        if err.category == "input":
            err.message = f"{path}: {err.message}"
            err.args = (err.message,)
        raise


def _symmetric_keys(paths: Sequence[str] | None) -> list[SymmetricKey]:
    """AES-GCM keys from files (hex text or raw bytes), for encrypted cards."""
    return [_load_file(path, SymmetricKey.load) for path in paths or ()]


def _pinned_root(data: bytes) -> bytes:
    """The pinned root certificate's DER, checked to be a usable root (CA, signing key)."""
    der = certificate_der(data)
    root_public_key(der)
    return der


def _verifier(args: argparse.Namespace, now: datetime | None) -> Verifier:
    """The Verifier that ``verify`` and ``scan`` use: bare --key files and/or the pinned --root
    with its trust list, revocation lists (a full list, then deltas) or bundle; the highest list
    sequences it has seen are remembered in the state directory (per user), so an older list
    is refused next time."""
    keys = [_load_file(path, PublicKey.from_pem) for path in args.key or ()]
    given = [(option, path) for option, paths in (("--bundle", [args.bundle]),
                                                   ("--trust-list", [args.trust_list]),
                                                   ("--revocation-list", args.revocation_list))
             for path in paths or () if path is not None]
    if given and args.root is None:
        raise UsageError(f"{given[0][0]} needs --root ROOT.pem (the pinned national root "
                         "certificate)")
    if not keys and args.trust_list is None and args.bundle is None:
        raise UsageError("give the issuer's key (--key PUBLIC.pem), or the pinned root with a "
                         "trust list or bundle (--root ROOT.pem --trust-list FILE | --bundle "
                         "FILE)")
    if args.no_state and args.state_dir is not None:
        raise UsageError("--state-dir and --no-state contradict each other")
    state = None
    if args.root is not None and not args.no_state:
        state = VerifierState(args.state_dir or default_state_directory())
    policy = Policy(skew=timedelta(seconds=args.skew), grace=timedelta(seconds=args.grace),
                    require_revocation=not args.no_revocation)
    root = None if args.root is None else _load_file(args.root, _pinned_root)
    verifier = Verifier(keys=keys, root=root, policy=policy, state=state,
                        decryption_keys=_symmetric_keys(args.decrypt_key))
    try:
        with verifier.update(now=now) as update:
            if args.bundle is not None:
                _load_file(args.bundle, update.load_bundle)
            if args.trust_list is not None:
                _load_file(args.trust_list, update.load_trust_list)
            for path in args.revocation_list or ():
                _load_file(path, update.load_revocation_list)
    except (TrustListRollbackError, RevocationListRollbackError) as err:
        # Judged on the update as a whole (at its end): name every file it was made of.
        err.message = f"{', '.join(path for _, path in given)}: {err.message}"
        err.args = (err.message,)
        raise
    return verifier


def cmd_verify(args: argparse.Namespace) -> int:
    now = _now(args.now)
    verifier = _verifier(args, now)
    result = verifier.check(_payload(args.payload), now=now)
    _report(args, result.to_json())
    return result.exit_code


def cmd_inspect(args: argparse.Namespace) -> int:
    secrets = _symmetric_keys(args.decrypt_key)  # a bad key file is a usage error, not a card's
    try:
        _report(args, inspect(_payload(args.payload), decryption_keys=secrets))
    except CardError as err:
        _report(args, {"verified": False} | invalid(err, datetime.now(UTC)).to_json())
        return EXIT_INVALID
    return EXIT_OK


def _write_atomic(path: Path, data: bytes) -> None:
    _write_all({path: data})


def _png(image: Any) -> bytes:
    import io

    out = io.BytesIO()
    image.save(out, "PNG", compress_level=3)
    return out.getvalue()


def _cards() -> Any:
    try:
        from . import cards
    except ImportError as err:
        raise UsageError(f"card printing and scanning need the extra: pip install "
                         f"'cardlib[cards]' ({err})") from err
    return cards


def _layout(cards: Any, path: str | None, no_mrz: bool) -> Any:
    import dataclasses

    layout = cards.default_layout() if path is None else cards.layout_from_json(_read_bytes(path))
    return dataclasses.replace(layout, mrz=False) if no_mrz else layout


def cmd_render(args: argparse.Namespace) -> int:
    import dataclasses

    cards = _cards()
    from .photo import fit_portrait
    from .render import back_capacity, back_qr

    now = _now(args.now) or datetime.now(UTC)
    key = _signer(args, now)
    record = record_from_json_text(_read_bytes(args.record))
    layout = _layout(cards, args.layout, args.no_mrz)
    sealing = None if args.encrypt_key is None else _symmetric_keys([args.encrypt_key])[0]
    portrait = None
    report: dict[str, Any] = {}
    if args.photo is not None:
        plain = record

        def with_photo(prepared: Any) -> Any:
            return dataclasses.replace(plain, photo=prepared.payload_bytes,
                                       photo_format=prepared.payload_format)

        # The largest photo, up to --photo-budget, whose payload still fits the card back.
        prepared = fit_portrait(
            _read_bytes_large(args.photo), back_capacity(layout),
            lambda p: len(issue(with_photo(p), key, now=now, issuer=args.issuer,
                                encrypt_key=sealing)),
            budget=args.photo_budget)
        record = with_photo(prepared)
        portrait = prepared.card_image
        report["photo"] = {"format": prepared.payload_format.name.lower(),
                           "bytes": prepared.payload_size, "pixels": list(prepared.dimensions)}
    payload = issue(record, key, now=now, issuer=args.issuer, encrypt_key=sealing)
    images = cards.render_card(record, payload, layout, portrait)
    symbol = back_qr(payload, layout)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write_all({out / "payload.txt": (payload + "\n").encode("ascii"),
                    out / "front.png": _png(images.front), out / "back.png": _png(images.back),
                    out / "card.pdf": cards.card_pdf(images)})
    except OSError as err:
        raise UsageError(f"cannot write the card files in {out}: {err.strerror or err}") from err
    report.update(payload_chars=len(payload), qr_version=symbol.version,
                  qr_error_level=symbol.ec_level,
                  files=[str(out / n) for n in ("payload.txt", "front.png", "back.png",
                                                "card.pdf")])
    _report(args, report)
    return EXIT_OK


def _issued_cards(batch: Path) -> list[Path]:
    """The card directories a batch finished: those with an "issued" line in its manifest."""
    names: dict[str, None] = {}
    try:
        lines = (batch / "manifest.jsonl").read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read {batch / 'manifest.jsonl'}: {err}") from err
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash: that card is not finished
        if isinstance(entry, dict) and entry.get("status") == "issued":
            names[str(entry.get("document_number"))] = None
    return [batch / "cards" / name for name in names]


def _card_dirs(paths: Sequence[str]) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        found.extend(_issued_cards(path) if (path / "manifest.jsonl").is_file() else [path])
    return found


def _side(cards: Any, path: Path) -> Any:
    image = cards.load_image(_read_bytes_large(str(path)))
    if image.size != (1011, 638):
        raise UsageError(f"{path} is {image.width}×{image.height} px, not a card side rendered "
                         "by cardlib (1011×638)")
    return image.convert("RGB")


def cmd_render_sheet(args: argparse.Namespace) -> int:
    cards = _cards()
    folders = _card_dirs(args.cards)
    if not folders:
        raise UsageError("no cards given: pass card directories (each with front.png and "
                         "back.png) or a batch output directory")
    sides = (cards.CardImages(_side(cards, f / "front.png"), _side(cards, f / "back.png"))
             for f in folders)
    try:
        pdf = cards.sheet_pdf(sides)
    except ValueError as err:
        raise UsageError(str(err)) from err
    _write_atomic(Path(args.out), pdf)
    _report(args, {"cards": len(folders), "sheets": -(-len(folders) // 8), "pdf": args.out})
    return EXIT_OK


def cmd_scan(args: argparse.Namespace) -> int:
    _cards()  # a clear usage error when the cards extra is missing
    now = _now(args.now)
    verifier = _verifier(args, now)
    result = verifier.check_image(_read_bytes_large(args.image), now=now, backend=args.backend,
                                  mrz=not args.no_mrz)
    _report(args, result.to_json())
    return result.exit_code


def _progress_bar() -> Any:
    """A progress bar on stderr when it is a terminal; silent otherwise (logs stay clean)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def cmd_batch(args: argparse.Namespace) -> int:
    from . import _batch

    now = _now(args.now) or datetime.now(UTC)
    key = _signer(args, now)
    sealing = None if args.encrypt_key is None else _symmetric_keys([args.encrypt_key])[0]
    layout = None
    if not args.no_render:
        layout = _layout(_cards(), args.layout, args.no_mrz)
    source: Any = Path(args.input) if args.input != "-" else _read_bytes("-", MAX_BATCH_STDIN)
    registry = None
    if args.registry is not None:
        registry = _open_registry(args.registry)
    try:
        summary = _batch.run_batch(source, Path(args.out), key, fmt=args.format,
                                   now=now, layout=layout, render=not args.no_render,
                                   progress=_progress_bar(), issuer=args.issuer,
                                   registry=registry, encrypt_key=sealing)
    finally:
        if registry is not None:
            registry.close()
    _report(args, {"total": summary.total, "issued": summary.issued, "skipped": summary.skipped,
           "errors": [{"line": e.line, "code": e.code, "message": e.message}
                      for e in summary.errors],
           "elapsed_seconds": round(summary.elapsed, 3),
           "manifest": str(Path(args.out) / "manifest.jsonl")})
    return EXIT_INVALID if summary.errors else EXIT_OK


# --- trust: national root, centre certificates, trust lists (issue 4) ---------------------------


def _save_private(path: Path, key: PrivateKey, passphrase: bytes | None) -> None:
    _write(path, key.to_pem(passphrase), 0o600)
    if passphrase is None:
        _warn(f"warning: {path} is NOT encrypted (owner-only permissions); use --passphrase-file")


def cmd_ca_init(args: argparse.Namespace) -> int:
    from .trust import certificate_pem, create_root, kid_for_certificate

    out = Path(args.out)
    key_path, cert_path = out / "root-private.pem", out / "root.pem"
    for path in (key_path, cert_path):
        if path.exists():
            raise UsageError(f"{path} exists; refusing to overwrite a root")
    passphrase = _passphrase(args.passphrase_file, confirm=True)
    key = PrivateKey.generate(args.alg)
    der = create_root(args.name, key, now=_now(args.now) or datetime.now(UTC), days=args.days)
    out.mkdir(parents=True, exist_ok=True)
    _save_private(key_path, key, passphrase)
    _write(cert_path, certificate_pem(der), 0o644)
    _report(args, {"root_certificate": str(cert_path), "root_private_key": str(key_path),
           "kid": kid_for_certificate(der).hex(), "algorithm": key.algorithm})
    return EXIT_OK


def _root(ca: str, passphrase_file: str | None) -> tuple[PrivateKey, bytes]:
    from .trust import certificate_der

    folder = Path(ca)
    key = _load_private(str(folder / "root-private.pem"), passphrase_file)
    return key, certificate_der(_read_bytes(str(folder / "root.pem")))


def cmd_centre_enrol(args: argparse.Namespace) -> int:
    from .trust import certificate_pem, certify_centre, kid_for_certificate

    _check_audit(args.audit, args.audit_trust)  # before anything is written
    root_key, root_der = _root(args.ca, args.ca_passphrase_file)
    out = Path(args.out)
    cert_path = out / "centre.pem"
    if cert_path.exists():
        raise UsageError(f"{cert_path} exists; refusing to overwrite a certificate")
    key = None
    if args.public is not None:  # a key held elsewhere (an HSM): certify its public key
        public = PublicKey.from_pem(_read_bytes(args.public))
    else:
        key = PrivateKey.generate(args.alg)
        public = key.public_key
    start = _now(args.now) or datetime.now(UTC)
    # Certify first: a refused centre code or window leaves no key file behind.
    der = certify_centre(root_key, root_der, public, centre_code=args.centre,
                         not_before=start, not_after=start + timedelta(days=args.days))
    out.mkdir(parents=True, exist_ok=True)
    if key is not None:
        _save_private(out / "private.pem", key, _passphrase(args.passphrase_file, confirm=True))
    _write(cert_path, certificate_pem(der), 0o644)
    _audit_key_event(args.audit, start, {"action": "centre_enrolled", "centre": args.centre,
                                         "kid": kid_for_certificate(der).hex()})
    _report(args, {"centre": args.centre, "certificate": str(cert_path),
           "kid": kid_for_certificate(der).hex(), "algorithm": public.algorithm})
    return EXIT_OK


def cmd_trust_publish(args: argparse.Namespace) -> int:
    from .trust import KeyRevocation, certificate_der, publish_trust_list

    _check_audit(args.audit, args.audit_trust)

    root_key, root_der = _root(args.ca, args.ca_passphrase_file)
    centres = [certificate_der(_read_bytes(path)) for path in args.certificates]
    revoked: dict[bytes, KeyRevocation] = {}
    usage = ("--revoke takes KID_HEX=ISO-8601,REASON with REASON compromised or superseded")
    for item in args.revoke or ():
        kid_hex, _, rest = item.partition("=")
        when, _, reason = rest.rpartition(",")
        try:
            kid = bytes.fromhex(kid_hex)
        except ValueError as err:
            raise UsageError(f"{usage}, not {item!r}") from err
        moment = _now(when) if when else None
        if moment is None or not kid or reason not in ("compromised", "superseded"):
            raise UsageError(f"{usage}, not {item!r}")
        if kid in revoked:
            raise UsageError(f"--revoke names {kid_hex} twice")
        revoked[kid] = KeyRevocation(moment, reason)
    issued = _now(args.now) or datetime.now(UTC)
    next_update = _now(args.next_update)
    assert next_update is not None
    data = publish_trust_list(root_key, root_der, centres, sequence=args.sequence,
                              issued=issued, next_update=next_update, revoked=revoked)
    _write_atomic(Path(args.out), data)
    _audit_key_event(args.audit, issued, {"action": "trust_list_published",
                                          "sequence": args.sequence,
                                          "revoked": sorted(kid.hex() for kid in revoked)})
    _report(args, {"trust_list": args.out, "sequence": args.sequence, "centres": len(centres),
           "revoked": len(revoked), "bytes": len(data)})
    return EXIT_OK


def cmd_revocation_publish(args: argparse.Namespace) -> int:
    """Sign a full revocation list from JSON Lines entries
    ``{"document_number": …, "reason": "lost", "revoked_at": ISO-8601}`` and/or the registry's
    revoked cards, over the previous list (--previous): an entry of it is left out only with
    --allow-drop, and each one left out is reported."""
    from functools import partial

    from .revocation import (
        Reason,
        RevocationEntry,
        dropped_entries,
        load_revocation_list,
        publish_revocation_list,
    )

    if not args.previous and not args.first:
        raise UsageError("give the list this one replaces (--previous FILE, and --previous for "
                         "each delta after it), so no revocation is dropped by mistake; or "
                         "--first for the first list under this root")
    if args.previous and args.first:
        raise UsageError("--first and --previous contradict each other")
    if args.allow_drop and args.first:
        raise UsageError("--allow-drop needs --previous (the list whose entries it drops)")
    if args.entries is None and args.registry is None:
        raise UsageError("give the entries (ENTRIES.jsonl) or --registry URL")
    root_key, root_der = _root(args.ca, args.ca_passphrase_file)
    issued = _now(args.now) or datetime.now(UTC)
    previous = None
    for path in args.previous or ():  # the full list, then its deltas, checked against the root
        previous = _load_file(path, partial(load_revocation_list, root_der=root_der,
                                            now=issued, previous=previous))
    # The CA folder remembers the last list it published: --first is refused after it, and so
    # is a --previous older than it (either would silently drop the revocations since).
    published = _last_published(Path(args.ca))
    if published is not None and previous is None:
        raise UsageError(f"revocation list {published} was already published from {args.ca}: "
                         "give it (and its deltas) with --previous, not --first")
    if published is not None and previous is not None and previous.sequence < published:
        raise UsageError(f"--previous is revocation list {previous.sequence}, but list "
                         f"{published} was published since from {args.ca}: give the newest")
    entries = []
    if args.registry is not None:  # every revoked, unexpired card the registry holds
        with _open_registry(args.registry) as registry:
            for card in registry.revoked_cards(now=issued):
                assert card.revocation_reason is not None and card.revoked_at is not None
                entries.append(RevocationEntry(card.document_number,
                                               Reason[card.revocation_reason.upper()],
                                               card.revoked_at))
    text = "" if args.entries is None else _read_bytes(args.entries, MAX_BATCH_STDIN).decode(
        "utf-8", errors="strict")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            reason = Reason[str(item["reason"]).upper()]
            when = _now(str(item["revoked_at"]))
            assert when is not None
            entries.append(RevocationEntry(str(item["document_number"]), reason, when))
        except (ValueError, KeyError, TypeError, AssertionError) as err:
            raise UsageError(f"{args.entries} line {number}: not a revocation entry "
                             f"(document_number, reason, revoked_at): {err}") from err
    next_update = _now(args.next_update)
    assert next_update is not None
    base = None if previous is None else previous.sequence
    dropped = () if previous is None else dropped_entries(previous, entries)
    allowed = [entry.document_number for entry in dropped] if args.allow_drop else []
    data = publish_revocation_list(root_key, root_der, entries, sequence=args.sequence,
                                   issued=issued, next_update=next_update, previous=previous,
                                   allow_drop=allowed)
    _write_atomic(Path(args.out), data)
    _write_atomic(Path(args.ca) / _PUBLISHED, json.dumps({"sequence": args.sequence}).encode())
    for entry in dropped:  # only reached with --allow-drop: each one is said out loud
        _warn(f"--allow-drop: dropped {entry.document_number} ({entry.reason.name.lower()}, "
              f"revoked {entry.revoked_at:%Y-%m-%d}) of revocation list {base}")
    _report(args, {"revocation_list": args.out, "sequence": args.sequence, "entries": len(entries),
           "previous_sequence": base,
           "dropped": [{"document_number": entry.document_number,
                        "reason": entry.reason.name.lower(),
                        "revoked_at": entry.revoked_at.date().isoformat()} for entry in dropped],
           "bytes": len(data)})
    return EXIT_OK


_PUBLISHED = "revocation-published.json"


def _last_published(ca: Path) -> int | None:
    """The sequence of the last revocation list published from this CA folder, or None."""
    try:
        data = json.loads((ca / _PUBLISHED).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise UsageError(f"{ca / _PUBLISHED} cannot be read ({err}); it records the last "
                         "revocation list published: restore it") from None
    sequence = data.get("sequence") if isinstance(data, dict) else None
    if type(sequence) is not int:
        raise UsageError(f"{ca / _PUBLISHED} is damaged; restore it")
    return sequence


def cmd_bundle_export(args: argparse.Namespace) -> int:
    from ._errors import BundleError, RevocationListError, TrustListError
    from .bundle import export_bundle

    root = _load_file(args.root, _pinned_root)
    trust_list = _read_bytes(args.trust_list, MAX_IMAGE_BYTES)
    revocations = _read_bytes(args.revocation_list, MAX_IMAGE_BYTES)
    try:
        data = export_bundle(trust_list, revocations, root_der=root)
    except (TrustListError, RevocationListError, BundleError) as err:
        path = args.trust_list if isinstance(err, TrustListError) else args.revocation_list
        err.message = f"{path}: {err.message}"
        err.args = (err.message,)
        raise
    _write_atomic(Path(args.out), data)
    _report(args, {"bundle": args.out, "bytes": len(data)})
    return EXIT_OK


def _sync_options(args: argparse.Namespace) -> None:
    """Which sides of a sync this run does, and that it has the options each side needs."""
    if args.batch is not None and args.out is not None:
        raise UsageError("--batch (apply a signed batch) and --out (write one) contradict each "
                         "other")
    sides = []
    if args.batch is None:  # the sending side: export the centre's own cards and sign them
        sides.append(("--centre", args.centre))
        sides += [("--from", args.centre_registry), ("--key", args.key),
                  ("--certificate", args.certificate)]
    else:
        for option, value in (("--centre", args.centre), ("--from", args.centre_registry),
                              ("--key", args.key), ("--certificate", args.certificate),
                              ("--since", args.since)):
            if value is not None:
                raise UsageError(f"{option} belongs to the sending side; a --batch file is "
                                 "already exported and signed (it names its centre)")
    if args.out is None:  # the central side: check the batch against the root, then apply
        sides += [("--to", args.central), ("--root", args.root),
                  ("--trust-list", args.trust_list)]
    elif args.central is None and args.since is None:
        raise UsageError("--out needs --since SEQ, or --to CENTRAL_URL to start at the "
                         "central's cursor for the centre")
    missing = [option for option, value in sides if value is None]
    if missing:
        raise UsageError(f"sync needs {', '.join(missing)} (sending side: --centre, --from, "
                         "--key, --certificate; central side: --to, --root, --trust-list)")


def cmd_sync(args: argparse.Namespace) -> int:
    """Send a centre's records (issued offline) to the central registry, signed by the centre's
    certified key and checked at the central against the root's trust list before anything is
    applied: only the centre's own cards, idempotent, conflicts stored and reported, nothing
    lost. One run does both sides, or --out writes the signed batch and --batch applies it."""
    from .store import apply_changes, export_changes, sign_changes, sync_cursor
    from .trust import CertifiedSigner, load_trust_list

    _sync_options(args)
    now = _now(args.now) or datetime.now(UTC)
    root = None if args.root is None else _load_file(args.root, _pinned_root)
    trust_list = None
    if args.out is None:  # the central's trust data first: a bad file fails before any work
        assert root is not None  # checked by _sync_options
        pinned: bytes = root
        trust_list = _load_file(args.trust_list,
                                lambda data: load_trust_list(data, pinned, now=now))
    with contextlib.ExitStack() as stack:
        central = None if args.central is None else stack.enter_context(
            _open_registry(args.central))
        since = None
        if args.batch is None:
            key = _load_private(args.key, args.passphrase_file)
            certificate = _load_file(args.certificate, certificate_der)
            # The key's own certificate, valid now (and the root's, when --root is given).
            signer = _load_file(args.certificate, lambda _: CertifiedSigner.checked(
                key, certificate, now=now, root_der=root))
            local = stack.enter_context(_open_registry(args.centre_registry))
            since = args.since
            if since is None:  # where the central's cursor for this centre stands
                assert central is not None  # checked by _sync_options
                since = sync_cursor(central, args.centre)
            batch = export_changes(local, centre=args.centre, since=since)
            signed = sign_changes(batch, signer)
            if args.out is not None:
                _write_atomic(Path(args.out), signed)
                _report(args, {"centre": batch.centre, "since": batch.since,
                               "until": batch.until, "events": len(batch.events),
                               "cards": len(batch.cards),
                               "access_codes": len(batch.access_codes),
                               "signer_kid": signer.kid.hex(),
                               "batch": args.out, "bytes": len(signed)})
                return EXIT_OK
        else:
            signed = _read_bytes(args.batch, MAX_BATCH_STDIN)
        assert central is not None and trust_list is not None  # checked by _sync_options
        report = apply_changes(central, signed, trust_list=trust_list, now=now)
    _report(args, {"centre": report.centre, "since": since, "cursor": report.cursor,
           "signer_kid": report.signer_kid.hex(),
           "applied": len(report.applied), "skipped": len(report.skipped),
           "access_codes_applied": len(report.access_codes_applied),
           "access_codes_skipped": len(report.access_codes_skipped),
           "conflicts": [{"kind": c.kind, "document_number": c.document_number,
                          "holder": c.holder_identifier, "incoming_centre": c.incoming_centre,
                          "central_document_number": c.central_document_number,
                          "central_centre": c.central_centre,
                          "already_recorded": c.already_recorded}
                         for c in report.conflicts]})
    return EXIT_INVALID if report.conflicts else EXIT_OK


_UNCHECKED_CHECKPOINTS = (
    "the audit log has checkpoints signed by the registry key: give {option} "
    "REGISTRY_PUBLIC.pem so their signatures are checked before the log is extended (a log "
    "rewritten with recomputed hashes passes every other check)")


def _check_audit(path: str | None, trust: Sequence[str] | None = None) -> None:
    """Refuse an audit log that does not check before a command writes anything else; a log
    with checkpoints is checked against the registry key(s) given."""
    if path is None or not Path(path).exists():
        return
    from .audit import read_log
    from .keys import TrustStore

    keys = [PublicKey.from_pem(_read_bytes(key)) for key in trust or ()]
    report, _ = read_log(path, TrustStore(keys) if keys else None)
    if report.checkpoints and not keys:
        raise UsageError(_UNCHECKED_CHECKPOINTS.format(option="--audit-trust"))


def _audit_key_event(path: str | None, now: datetime, data: dict[str, Any]) -> None:
    """Append a key event (a centre enrolled, a trust list published) to the audit log, after
    checking its whole chain (no registry key here: every check but checkpoint signatures)."""
    if path is None:
        return
    from .audit import AuditLog, read_log

    if Path(path).exists():
        read_log(path)  # never extend a log that does not check (AuditTamperedError)
    with AuditLog.open(path) as log:
        log.append("key", now=now, data=data)


def cmd_audit_sync(args: argparse.Namespace) -> int:
    """Mirror the registry's events into the hash-chained audit log (crash-safe: the registry is
    the source of truth and a re-run appends only what is missing), then optionally seal the
    log with a checkpoint signed by the registry key. A log that does not verify (its whole
    chain; checkpoint signatures when a key is known; the anchor if given) is refused and
    nothing is written."""
    from .audit import AuditAnchor, AuditEntry, AuditLog, AuditReport, read_log
    from .keys import TrustStore
    from .store import open_registry

    signer = None if args.key is None else _load_private(args.key, args.passphrase_file)
    keys = [PublicKey.from_pem(_read_bytes(path)) for path in args.trust or ()]
    keys += [] if signer is None else [signer.public_key]
    anchor = _audit_anchor(args)
    report: AuditReport | None = None
    entries: tuple[AuditEntry, ...] = ()
    if anchor is not None or Path(args.log).exists():  # a missing log is a new one
        try:
            report, entries = read_log(args.log, TrustStore(keys) if keys else None,
                                       anchor=anchor)
        except AuditTamperedError as err:
            _fail(EXIT_INVALID, error_to_json(err) | err.details)
        if report is not None and report.checkpoints and not keys:
            raise UsageError(_UNCHECKED_CHECKPOINTS.format(option="--trust"))
    last = 0
    for entry in entries:
        seq = entry.data.get("registry_seq") if entry.data else None
        if isinstance(seq, int) and seq > last:
            last = seq
    with open_registry(args.registry) as registry:  # first: a mistyped URL leaves no log
        events = registry.events_since(last)
    with AuditLog.open(args.log) as log:
        for event in events:
            data: dict[str, Any] = {"registry_seq": event.seq}
            if event.reason is not None:
                data["reason"] = event.reason
            if event.replaces is not None:
                data["replaces"] = event.replaces
            log.append(event.event, now=event.at, holder=event.holder_identifier,
                       document_number=event.document_number, data=data)
        sealed = None
        if signer is not None:
            sealed = log.checkpoint(signer, now=_now(args.now) or datetime.now(UTC))
    kept = AuditAnchor.of(sealed) if sealed is not None else (
        None if report is None else report.anchor)
    _report(args, {"log": args.log, "appended": len(events),
                   "registry_seq": events[-1].seq if events else last,
                   "checkpoint_seq": None if sealed is None else sealed.seq,
                   "anchored": anchor is not None, "anchor": str(kept) if kept else None})
    return EXIT_OK


def _audit_anchor(args: argparse.Namespace) -> Any:
    """The anchor of --anchor (SEQ:HASH or a checkpoint's line) or --anchor-file, else None."""
    from .audit import MAX_LINE_BYTES, parse_anchor

    if args.anchor_file is not None:
        return parse_anchor(_read_bytes(args.anchor_file, MAX_LINE_BYTES + 64))
    return None if args.anchor is None else parse_anchor(args.anchor)


def _audit_anchor_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--anchor", metavar="SEQ:HASH",
                       help="the anchor kept elsewhere, as `audit verify` or `audit sync` "
                       "printed it: the log must still hold that entry unchanged, so entries "
                       "cut from its end are caught (audit_truncated). Without it they cannot "
                       "be detected")
    group.add_argument("--anchor-file", metavar="FILE",
                       help="a file holding the anchor: SEQ:HASH, or a checkpoint's line (its "
                       "signature is checked too)")


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Re-check the audit log's hash chain and checkpoint signatures; point at the first
    tampered entry."""
    from .audit import verify_log
    from .keys import TrustStore

    trusted = TrustStore(PublicKey.from_pem(_read_bytes(path)) for path in args.key)
    try:
        report = verify_log(Path(args.log), trusted, anchor=_audit_anchor(args))
    except AuditTamperedError as err:  # AuditTruncatedError too (audit_truncated)
        _report(args, error_to_json(err) | err.details)
        return EXIT_INVALID
    _report(args, report.to_json())
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """The README's demo: a national root and one centre (TRP-01), the trust list, a revocation
    list and the offline bundle, the example record issued by the centre, verified the way a
    checkpoint does (root + bundle), and the card rendered."""
    from ._demo import make_demo

    out = Path(args.out)
    try:
        demo = make_demo(out, datetime.now(UTC).replace(microsecond=0))
        rendered = _demo_card(demo.record, demo.payload, out)
    except OSError as err:
        raise UsageError(f"cannot write the demo files in {out}: {err.strerror or err}") from err
    result = Verifier(root=demo.root, bundle=demo.bundle, now=demo.now).check(demo.payload,
                                                                              now=demo.now)
    sys.stderr.write(
        f"demo root, centre TRP-01, trust list, revocation list and bundle in {out}/; payload: "
        f"{len(demo.payload)} Base45 characters, saved to {out}/payload.txt\n"
        f"try: cardlib verify --root {out}/root.pem --bundle {out}/bundle.cbor - < "
        f"{out}/payload.txt\n")
    _report(args, {"payload": demo.payload, "verification": result.to_json(),
                   "files": [str(path) for path in demo.public_files],
                   "card_files": rendered})
    return EXIT_OK


def _demo_card(record: Any, payload: str, out: Path) -> list[str]:
    """Render the demo card when the cards extra is installed (``make demo`` installs it)."""
    try:
        from . import cards
    except ImportError:
        sys.stderr.write("cardlib: the cards extra is not installed; no card image rendered\n")
        return []
    images = cards.render_card(record, payload, cards.default_layout())
    files = {out / "front.png": _png(images.front), out / "back.png": _png(images.back),
             out / "card.pdf": cards.card_pdf(images)}
    _write_all(files)
    return [str(path) for path in files]


def _verify_options(parser: argparse.ArgumentParser) -> None:
    """The options verify and scan share: revocation data, the policy and the state."""
    parser.add_argument("--revocation-list", metavar="FILE", action="append",
                        help="a root-signed revocation list, checked against --root; repeat for "
                        "deltas (applied in order, also on top of a --bundle's list)")
    parser.add_argument("--skew", type=_seconds, default=300, metavar="SECONDS",
                        help="clock tolerance for exp/nbf/iat (default 300)")
    parser.add_argument("--grace", type=_seconds, default=0, metavar="SECONDS",
                        help="how long a list past its next update still counts as fresh "
                        "(default 0: stale data gives 'unknown')")
    parser.add_argument("--no-revocation", action="store_true",
                        help="no revocation list is published here: a card can be valid "
                        "without one (otherwise it is 'unknown')")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="where the highest list sequences seen are kept (default: "
                        "$CARDLIB_STATE_DIR, else $XDG_STATE_HOME/cardlib or "
                        "~/.local/state/cardlib)")
    parser.add_argument("--no-state", action="store_true",
                        help="do not read or write the state (older lists are then not refused "
                        "across runs)")
    _decrypt_option(parser)


def _decrypt_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--decrypt-key", action="append", metavar="FILE",
                        help="an AES-GCM key (hex or raw 16/24/32 bytes) that opens encrypted "
                        "cards (COSE_Encrypt0); repeat for several")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cardlib", description="Issue and verify signed Claim 169 identity-card payloads.")
    sub = parser.add_subparsers(dest="command", required=True)

    keygen = sub.add_parser("keygen", help="create a signing key pair")
    keygen.add_argument("--alg", choices=("EdDSA", "ES256"), default="EdDSA")
    keygen.add_argument("--out", required=True, metavar="DIR")
    keygen.add_argument("--passphrase-file", metavar="F", help="encrypt private.pem with this")
    keygen.set_defaults(func=cmd_keygen)

    iss = sub.add_parser("issue", help="sign a holder record (JSON) and print the payload")
    _signer_options(iss)
    iss.add_argument("--registry", metavar="URL",
                     help="record the card (sqlite:///file.db or postgresql://…) with a new "
                     "access code for the holder, printed once on stderr (--json: "
                     "access_code)")
    iss.add_argument("--replaces", metavar="DOCUMENT_NUMBER",
                     help="with --registry: the card this one supersedes")
    iss.add_argument("--operation", choices=("replace", "renew", "correct"), default="replace",
                     help="with --replaces: what kind of reissue (default replace)")
    iss.add_argument("--issuer", default="LBY", help="the CWT iss claim (default: LBY)")
    iss.add_argument("--encrypt-key", metavar="FILE",
                     help="also encrypt the signed card (COSE_Encrypt0) with this AES-GCM key "
                     "(hex or raw 16/24/32 bytes), shared with authorised verifiers only")
    iss.add_argument("--now", metavar="ISO-8601", help="issue time (default: now)")
    iss.add_argument("record", metavar="RECORD.json", help="holder record, or - for stdin")
    iss.add_argument("--json", action="store_true", help="print JSON with the payload")
    iss.set_defaults(func=cmd_issue)

    ver = sub.add_parser("verify", help="verify a payload; prints JSON; exit 0 valid, 1 invalid "
                         "or revoked, 3 unknown (stale or missing lists), 2 your input, 4 the "
                         "environment")
    ver.add_argument("--key", action="append", metavar="PUBLIC.pem",
                     help="a trusted issuer key (repeat for several)")
    ver.add_argument("--trust-list", metavar="FILE", help="a root-signed trust list")
    ver.add_argument("--root", metavar="ROOT.pem", help="the pinned national root certificate")
    ver.add_argument("--bundle", metavar="FILE",
                     help="an offline bundle (trust list + revocation list) checked against --root")
    ver.add_argument("--now", metavar="ISO-8601", help="check validity at this time")
    _verify_options(ver)
    ver.add_argument("payload", metavar="PAYLOAD", help="Base45 payload, or - for stdin")
    ver.set_defaults(func=cmd_verify)

    ins = sub.add_parser("inspect", help="dump every layer of a payload (UNVERIFIED)")
    _decrypt_option(ins)
    ins.add_argument("payload", metavar="PAYLOAD", help="Base45 payload, or - for stdin")
    ins.set_defaults(func=cmd_inspect)

    render = sub.add_parser("render", help="issue a record and render its card (PNG + PDF)")
    _signer_options(render)
    render.add_argument("--issuer", default="LBY")
    render.add_argument("--encrypt-key", metavar="FILE",
                        help="also encrypt the signed card (COSE_Encrypt0) with this AES-GCM "
                        "key (hex or raw 16/24/32 bytes), shared with authorised verifiers only")
    render.add_argument("--now", metavar="ISO-8601")
    render.add_argument("--layout", metavar="LAYOUT.json", help="issuer, colours, logo, labels")
    render.add_argument("--photo", metavar="PORTRAIT", help="JPEG/PNG portrait to print and sign")
    render.add_argument("--photo-budget", type=_budget, default=600, metavar="BYTES",
                        help="payload photo size limit, 100-65536 bytes (default 600); the "
                             "photo is made smaller when the card back has less room")
    render.add_argument("--no-mrz", action="store_true",
                        help="leave the MRZ off the back (room for a larger photo)")
    render.add_argument("--out", required=True, metavar="DIR")
    render.add_argument("record", metavar="RECORD.json")
    render.set_defaults(func=cmd_render)

    sheet = sub.add_parser("render-sheet", help="lay out rendered cards on A4 PDF sheets")
    sheet.add_argument("--out", required=True, metavar="SHEET.pdf")
    sheet.add_argument("cards", nargs="+", metavar="CARD_DIR",
                       help="card directories (front.png, back.png) or a batch output directory")
    sheet.set_defaults(func=cmd_render_sheet)

    scan = sub.add_parser("scan", help="read a card image, verify it, cross-check the print; "
                          "exit codes as verify")
    scan.add_argument("--key", action="append", metavar="PUBLIC.pem")
    scan.add_argument("--trust-list", metavar="FILE", help="a root-signed trust list")
    scan.add_argument("--root", metavar="ROOT.pem", help="the pinned national root certificate")
    scan.add_argument("--bundle", metavar="FILE", help="an offline bundle, checked against --root")
    scan.add_argument("--backend", choices=("zxing", "zbar"), default="zxing")
    scan.add_argument("--now", metavar="ISO-8601")
    _verify_options(scan)
    scan.add_argument("--no-mrz", action="store_true", help="do not read the MRZ (faster)")
    scan.add_argument("image", metavar="IMAGE")
    scan.set_defaults(func=cmd_scan)

    batch = sub.add_parser("batch", help="issue (and render) one card per CSV / JSON Lines row; "
                           "resumable")
    _signer_options(batch)
    batch.add_argument("--format", required=True, choices=("csv", "jsonl"))
    batch.add_argument("--issuer", default="LBY")
    batch.add_argument("--encrypt-key", metavar="FILE",
                       help="also encrypt every signed card (COSE_Encrypt0) with this AES-GCM "
                       "key (hex or raw 16/24/32 bytes), shared with authorised verifiers only")
    batch.add_argument("--now", metavar="ISO-8601")
    batch.add_argument("--layout", metavar="LAYOUT.json")
    batch.add_argument("--no-render", action="store_true", help="payloads only, no PNGs")
    batch.add_argument("--registry", metavar="URL", help="record every card in the registry")
    batch.add_argument("--no-mrz", action="store_true",
                       help="leave the MRZ off the backs (room for a QR with a photo)")
    batch.add_argument("--out", required=True, metavar="DIR")
    batch.add_argument("input", metavar="INPUT", help="CSV or JSON Lines file, or - for stdin")
    batch.set_defaults(func=cmd_batch)

    registry = sub.add_parser("registry", help="the issuance registry")
    registry_sub = registry.add_subparsers(dest="registry_command", required=True)
    rinit = registry_sub.add_parser("init", help="create the issuance registry (the only command "
                                    "that creates one; the others refuse a missing registry)")
    rinit.add_argument("url", metavar="URL", help="sqlite:///path/registry.db or postgresql://…")
    rinit.add_argument("--json", action="store_true", help="print JSON")
    rinit.set_defaults(func=cmd_registry_init)
    reset = registry_sub.add_parser("reset-code", help="set a new personal access code for a "
                                    "holder (the holder present) and print it once; the old "
                                    "code stops working")
    reset.add_argument("--registry", required=True, metavar="URL")
    reset.add_argument("--holder", required=True, metavar="NATIONAL_NUMBER")
    reset.add_argument("--centre", required=True, metavar="CODE",
                       help="the centre where the code is reset, e.g. TRP-01")
    reset.add_argument("--now", metavar="ISO-8601")
    reset.add_argument("--json", action="store_true", help="print JSON")
    reset.set_defaults(func=cmd_registry_reset_code)

    revoke = sub.add_parser("revoke", help="revoke a card in the issuance registry")
    revoke.add_argument("--registry", required=True, metavar="URL")
    revoke.add_argument("--reason", required=True,
                        choices=("lost", "stolen", "replaced", "fraud", "data_correction"))
    revoke.add_argument("--now", metavar="ISO-8601")
    revoke.add_argument("document_number", metavar="DOCUMENT_NUMBER")
    revoke.add_argument("--json", action="store_true", help="print JSON")
    revoke.set_defaults(func=cmd_revoke)

    history = sub.add_parser("history", help="a holder's own view of every event about their "
                             "cards")
    history.add_argument("--registry", required=True, metavar="URL")
    history.add_argument("--holder", required=True, metavar="NATIONAL_NUMBER")
    history.add_argument("--document", required=True, metavar="DOCUMENT_NUMBER",
                         help="one of the holder's own document numbers")
    history.add_argument("--json", action="store_true", help="print JSON")
    history.set_defaults(func=cmd_history)

    sync = sub.add_parser("sync", help="send a centre's offline records, signed by the centre, "
                          "to the central registry")
    sync.add_argument("--centre", metavar="CODE", help="the sending centre: only its own cards "
                      "are sent")
    sync.add_argument("--from", dest="centre_registry", metavar="CENTRE_URL",
                      help="the centre's registry")
    sync.add_argument("--key", metavar="CENTRE_PRIVATE.pem",
                      help="the centre's signing key: it signs the batch")
    sync.add_argument("--passphrase-file", metavar="F")
    sync.add_argument("--certificate", metavar="CENTRE.pem",
                      help="the key's centre certificate (the central looks it up by its kid)")
    sync.add_argument("--to", dest="central", metavar="CENTRAL_URL",
                      help="the central registry")
    sync.add_argument("--root", metavar="ROOT.pem",
                      help="central side: the pinned national root certificate")
    sync.add_argument("--trust-list", metavar="FILE",
                      help="central side: the root-signed trust list that lists the centre's "
                      "certificate")
    sync.add_argument("--out", metavar="FILE",
                      help="write the signed batch to FILE instead of applying it")
    sync.add_argument("--batch", metavar="FILE",
                      help="apply a signed batch written with --out (instead of --from)")
    sync.add_argument("--since", type=int, metavar="SEQ",
                      help="default: where the central's cursor for this centre stands")
    sync.add_argument("--now", metavar="ISO-8601")
    sync.add_argument("--json", action="store_true", help="print JSON")
    sync.set_defaults(func=cmd_sync)

    audit = sub.add_parser("audit", help="the append-only, hash-chained audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    averify = audit_sub.add_parser("verify", help="re-check the chain and the checkpoints")
    averify.add_argument("--key", required=True, action="append", metavar="REGISTRY_PUBLIC.pem")
    _audit_anchor_options(averify)
    averify.add_argument("log", metavar="AUDIT_LOG")
    averify.add_argument("--json", action="store_true", help="print JSON")
    averify.set_defaults(func=cmd_audit_verify)
    async_ = audit_sub.add_parser("sync", help="append the registry's new events to the log")
    async_.add_argument("--registry", required=True, metavar="URL")
    async_.add_argument("--key", metavar="REGISTRY_PRIVATE.pem",
                        help="seal the log with a checkpoint signed by this key")
    async_.add_argument("--passphrase-file", metavar="F")
    async_.add_argument("--trust", action="append", metavar="REGISTRY_PUBLIC.pem",
                        help="also accept checkpoints signed by this key (an earlier registry "
                        "key); repeatable. Checkpoint signatures are checked when --key or "
                        "--trust is given")
    async_.add_argument("--now", metavar="ISO-8601")
    _audit_anchor_options(async_)
    async_.add_argument("log", metavar="AUDIT_LOG")
    async_.add_argument("--json", action="store_true", help="print JSON")
    async_.set_defaults(func=cmd_audit_sync)

    ca = sub.add_parser("ca", help="the national root (kept offline)")
    ca_sub = ca.add_subparsers(dest="ca_command", required=True)
    ca_init = ca_sub.add_parser("init", help="create the root key and certificate")
    ca_init.add_argument("--out", required=True, metavar="DIR")
    ca_init.add_argument("--alg", choices=("EdDSA", "ES256"), default="EdDSA")
    ca_init.add_argument("--name", default="National Number Registry Root")
    ca_init.add_argument("--days", type=int, default=7305)
    ca_init.add_argument("--now", metavar="ISO-8601")
    ca_init.add_argument("--passphrase-file", metavar="F")
    ca_init.add_argument("--json", action="store_true", help="print JSON")
    ca_init.set_defaults(func=cmd_ca_init)

    centre = sub.add_parser("centre", help="registration centres' signing keys")
    centre_sub = centre.add_subparsers(dest="centre_command", required=True)
    enrol = centre_sub.add_parser("enrol", help="create (or take) a centre key and certify it")
    enrol.add_argument("--ca", required=True, metavar="CA_DIR")
    enrol.add_argument("--ca-passphrase-file", metavar="F")
    enrol.add_argument("--centre", required=True, metavar="CODE")
    enrol.add_argument("--out", required=True, metavar="DIR")
    enrol.add_argument("--alg", choices=("EdDSA", "ES256"), default="EdDSA")
    enrol.add_argument("--public", metavar="PUBLIC.pem", help="certify this key (e.g. in an HSM)")
    enrol.add_argument("--days", type=int, default=1826)
    enrol.add_argument("--now", metavar="ISO-8601")
    enrol.add_argument("--passphrase-file", metavar="F", help="encrypt the centre key with this")
    enrol.add_argument("--audit", metavar="AUDIT_LOG", help="record the key event in this log")
    enrol.add_argument("--audit-trust", action="append", metavar="REGISTRY_PUBLIC.pem",
                        help="the registry key that signed the log's checkpoints (checked first)")
    enrol.add_argument("--json", action="store_true", help="print JSON")
    enrol.set_defaults(func=cmd_centre_enrol)

    trust = sub.add_parser("trust", help="trust lists")
    trust_sub = trust.add_subparsers(dest="trust_command", required=True)
    publish = trust_sub.add_parser("publish", help="sign a trust list with the root")
    publish.add_argument("--ca", required=True, metavar="CA_DIR")
    publish.add_argument("--ca-passphrase-file", metavar="F")
    publish.add_argument("--sequence", required=True, type=int)
    publish.add_argument("--next-update", required=True, metavar="ISO-8601")
    publish.add_argument("--now", metavar="ISO-8601")
    publish.add_argument("--revoke", action="append", metavar="KID_HEX=ISO-8601,REASON",
                         help="a revoked centre key (one of the listed certificates), since "
                         "when, and why: compromised (every card of the key is refused) or "
                         "superseded (cards signed before stay valid)")
    publish.add_argument("--out", required=True, metavar="FILE")
    publish.add_argument("certificates", nargs="+", metavar="CENTRE.pem")
    publish.add_argument("--audit", metavar="AUDIT_LOG", help="record the key event in this log")
    publish.add_argument("--audit-trust", action="append", metavar="REGISTRY_PUBLIC.pem",
                        help="the registry key that signed the log's checkpoints (checked first)")
    publish.add_argument("--json", action="store_true", help="print JSON")
    publish.set_defaults(func=cmd_trust_publish)

    revocation = sub.add_parser("revocation", help="card revocation lists")
    revocation_sub = revocation.add_subparsers(dest="revocation_command", required=True)
    rpublish = revocation_sub.add_parser("publish", help="sign a full revocation list")
    rpublish.add_argument("--ca", required=True, metavar="CA_DIR")
    rpublish.add_argument("--ca-passphrase-file", metavar="F")
    rpublish.add_argument("--sequence", required=True, type=int)
    rpublish.add_argument("--next-update", required=True, metavar="ISO-8601")
    rpublish.add_argument("--now", metavar="ISO-8601")
    rpublish.add_argument("--out", required=True, metavar="FILE")
    rpublish.add_argument("--registry", metavar="URL",
                          help="take every revoked, unexpired card from the issuance registry")
    rpublish.add_argument("--previous", action="append", metavar="FILE",
                          help="the list this one replaces (its full list, then --previous for "
                          "each delta after it), checked against the root: no entry of it is "
                          "left out unless --allow-drop")
    rpublish.add_argument("--first", action="store_true",
                          help="the first list under this root: there is no previous list")
    rpublish.add_argument("--allow-drop", action="store_true",
                          help="leave out the previous list's entries missing from the new "
                          "one (e.g. cards past their expiry); each is reported")
    rpublish.add_argument("entries", metavar="ENTRIES.jsonl", nargs="?",
                          help='lines of {"document_number", "reason", "revoked_at"}')
    rpublish.add_argument("--json", action="store_true", help="print JSON")
    rpublish.set_defaults(func=cmd_revocation_publish)

    bundle = sub.add_parser("bundle", help="offline bundles for verifiers")
    bundle_sub = bundle.add_subparsers(dest="bundle_command", required=True)
    bexport = bundle_sub.add_parser("export", help="trust list + revocation list in one file")
    bexport.add_argument("--root", required=True, metavar="ROOT.pem",
                         help="the national root both parts must be signed by (checked)")
    bexport.add_argument("--trust-list", required=True, metavar="FILE")
    bexport.add_argument("--revocation-list", required=True, metavar="FILE")
    bexport.add_argument("--out", required=True, metavar="FILE")
    bexport.add_argument("--json", action="store_true", help="print JSON")
    bexport.set_defaults(func=cmd_bundle_export)

    demo = sub.add_parser(
        "demo", help="create demo keys, issue the example record, verify it, render the card")
    demo.add_argument("--out", default=".demo", metavar="DIR")
    demo.set_defaults(func=cmd_demo)
    for command in _leaf_parsers(parser):  # every command: readable lines, or JSON
        if not any("--json" in action.option_strings for action in command._actions):
            command.add_argument("--json", action="store_true",
                                 help="print JSON (for scripts) instead of readable lines")
        for action in command._actions:  # every option says what it is for
            if action.help is None:
                action.help = _HELP.get(action.dest)
    return parser


#: The help of options that mean the same in every command that has them.
_HELP: dict[str, str] = {
    "now": "the time to act at, ISO 8601 (default: now; a time without a zone is UTC)",
    "out": "where to write the result (created; an existing key or root is never overwritten)",
    "registry": "the issuance registry: sqlite:///FILE.db or postgresql://user@host/db",
    "issuer": "the CWT iss claim (default: LBY)",
    "alg": "the key algorithm: EdDSA (Ed25519) or ES256 (P-256)",
    "key": "a key file (PEM)",
    "passphrase_file": "a file holding the key's passphrase (without it: asked on a terminal)",
    "ca": "the root's folder (root-private.pem, root.pem), made by `cardlib ca init`",
    "ca_passphrase_file": "a file holding the root key's passphrase",
    "centre": "the registration centre's code, e.g. TRP-01",
    "sequence": "the list's sequence number: it must grow with every list published",
    "next_update": "when the next list is due, ISO 8601 (after it this list is stale)",
    "days": "how many days the certificate is valid",
    "name": "the root certificate's name",
    "format": "the input's format: csv (a header of record member names) or jsonl",
    "layout": "a card layout file (JSON): issuer, colours, logo, labels",
    "backend": "the barcode decoder: zxing (zxing-cpp) or zbar",
    "reason": "why the card is revoked",
    "holder": "the holder's national number (or admin number)",
    "document_number": "the card's document number",
    "record": "the holder record (JSON), or - for standard input",
    "image": "a photo or scan of the card (PNG, JPEG, WebP)",
    "log": "the audit log file (JSON Lines)",
    "certificates": "the centre certificates to list (PEM or DER)",
    "trust_list": "a root-signed trust list file",
    "revocation_list": "a root-signed revocation list file",
    "centre_registry": "the centre's own registry (URL), where its cards were recorded",
    "central": "the central registry (URL)",
}


def _leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found.extend(_leaf_parsers(child) or [child])
    return found


def _fail(code: int, payload: dict[str, Any]) -> NoReturn:
    """Stop with ``code``; the error goes to stderr in the command's output form (readable
    lines, or JSON with --json)."""
    if _JSON_ERRORS[0]:
        sys.stderr.write(json.dumps(payload, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write("cardlib: error\n" + "".join(_lines(payload, 1)))
    raise SystemExit(code)


_JSON_ERRORS = [True]  # set from the arguments in main()


class _Parser(argparse.ArgumentParser):
    """argparse, whose own usage errors follow --json like every other error (exit 2)."""

    def error(self, message: str) -> NoReturn:
        if not _JSON_ERRORS[0]:
            super().error(message)
        _fail(EXIT_USAGE, _usage_json(f"{self.prog}: {message}"))


def main(argv: Sequence[str] | None = None) -> int:
    _JSON_ERRORS[0] = "--json" in (sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    _JSON_ERRORS[0] = bool(getattr(args, "json", False))
    try:
        result: int = args.func(args)
    except UsageError as err:
        _fail(EXIT_USAGE, _usage_json(str(err)))
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INVALID
    except OSError as err:  # a file or directory the user named cannot be used
        _fail(EXIT_USAGE, _usage_json(f"{getattr(err, 'filename', None) or ''}: "
                                      f"{err.strerror or err}".lstrip(": ")))
    except CardError as err:  # its category decides the exit code (specs/format.md §10)
        _fail(EXIT_CODES[err.category], error_to_json(err))
    except KeyboardInterrupt:
        _fail(130, _code_json("interrupted", "interrupted"))
    except Exception as err:  # a bug in cardlib: say so, with the internal exit code
        _fail(EXIT_CODES["internal"], _code_json("card_error", f"internal error: "
                                                 f"{type(err).__name__}: {err}"[:500]))
    return result


def _code_json(code: str, detail: str) -> dict[str, Any]:
    text = message_for(code)
    category = {"usage": "input", "interrupted": "environment"}.get(code, "internal")
    return {"status": "error", "code": code, "message": {"en": text.en, "ar": text.ar},
            "detail": detail, "category": category}


def _usage_json(detail: str) -> dict[str, Any]:
    return _code_json("usage", detail)


if __name__ == "__main__":
    raise SystemExit(main())
