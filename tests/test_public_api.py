"""Every public name has a public path (like httpx), and packages meet only at those paths.

- The names the README and specs/format.md show (``from cardlib.x import y``, ``cardlib.x.y``)
  import from the path they are shown at, each in a fresh interpreter.
- Each public package imports on its own in a fresh interpreter, with a sorted ``__all__``
  that holds no stale name, and without the extras it does not need.
- No module of cardlib imports a private name, or a private module, of another package (an AST
  check), except the designed seams.
- ``cardlib issue --registry`` and ``cardlib batch --no-render`` run without the ``cards``
  extra (Pillow and the barcode libraries made unimportable).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cardlib

from .conftest import EXAMPLE, ISSUED, ROOT

PACKAGE = ROOT / "cardlib"
DOCS = ("README.md", "specs/format.md")

PUBLIC_PACKAGES = (
    "cardlib", "cardlib.cards", "cardlib.keys", "cardlib.profile", "cardlib.trust",
    "cardlib.revocation", "cardlib.bundle", "cardlib.audit", "cardlib.store", "cardlib.barcodes",
    "cardlib.mrz", "cardlib.photo", "cardlib.render", "cardlib.scan",
)

# The private modules every package may import: the top-level modules of cardlib itself and the
# codec seams (one module per byte layer).
SEAMS = frozenset({
    "cardlib._errors", "cardlib._limits", "cardlib._values", "cardlib._pipeline",
    "cardlib._locking",
    "cardlib.codec._cbor", "cardlib.codec._cose", "cardlib.codec._zlib", "cardlib.codec._base45",
})

# Modules allowed to import other packages' private modules: none. (Kept as a set so that a
# temporary exemption fails the test as soon as its module is clean.)
_PENDING: set[str] = set()

# Private paths specs/format.md may name: none.
_SPEC_PENDING: set[str] = set()


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (from the repository root)."""
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=False, timeout=120, cwd=ROOT)


def _is_private(dotted: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))


# --- the names the documents show ---------------------------------------------------------------

_FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)
_SPAN = re.compile(r"`([^`\n]+)`")
_DOTTED = re.compile(r"(?<![\w./-])cardlib(?:\.[A-Za-z_]\w*)+")


def _imports(source: str) -> list[str]:
    """Every ``import cardlib…`` / ``from cardlib… import …`` statement in ``source``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a fragment: try its lines one by one
        return [found for line in source.splitlines() for found in _imports(line.strip())
                if line.strip() != source.strip()]
    statements = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        if any(module.split(".")[0] == "cardlib" for module in modules):
            statements.append(ast.unparse(node))
    return statements


def _through_aliases(source: str) -> list[str]:
    """``alias.attr…`` uses of a name imported from cardlib in ``source``, as full dotted names
    (``from cardlib import cards`` then ``cards.scan(...)`` → ``cardlib.cards.scan``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cardlib"):
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    names = []
    for node in ast.walk(tree):
        chain: list[str] = []
        while isinstance(node, ast.Attribute):
            chain.insert(0, node.attr)
            node = node.value
        if chain and isinstance(node, ast.Name) and node.id in aliases:
            names.append(".".join([aliases[node.id], *chain]))
    return names


def _doc_items() -> list[tuple[str, str, str]]:
    """(document, "import" | "name", text) for every import and dotted cardlib name shown."""
    items: dict[tuple[str, str, str], None] = {}
    for doc in DOCS:
        text = (ROOT / doc).read_text("utf-8")
        code: list[str] = []
        for language, block in _FENCE.findall(text):
            if language in ("python", "py", "pycon"):
                code.append(block)
        spans = _SPAN.findall(_FENCE.sub("", text))
        code.extend(span for span in spans if span.startswith(("from cardlib", "import cardlib")))
        for source in code:
            for statement in _imports(source):
                items[(doc, "import", statement)] = None
        for source in code + spans:
            for name in _DOTTED.findall(source):
                items[(doc, "name", name)] = None
        for source in code:
            for name in _through_aliases(source):
                items[(doc, "name", name)] = None
    return list(items)


_RESOLVE = """
import importlib, sys
kind, text = sys.argv[1], sys.argv[2]
if kind == "import":
    exec(text, {})
else:
    parts = text.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        break
    for attribute in parts[cut:]:
        value = getattr(value, attribute)
"""


def test_the_documents_show_cardlib_names() -> None:
    items = _doc_items()
    assert ("README.md", "import", "from cardlib.store import IssuedCard, open_registry") in items
    assert ("README.md", "name", "cardlib.verify") in items
    assert ("README.md", "name", "cardlib.cards.prepare_portrait") in items
    assert len(items) >= 20


@pytest.mark.parametrize(("doc", "kind", "text"), _doc_items(),
                         ids=[f"{d}:{t}" for d, _, t in _doc_items()])
def test_a_name_the_documents_show_imports_from_its_public_path(doc: str, kind: str,
                                                                text: str) -> None:
    dotted = re.findall(r"cardlib[\w.]*", text)
    if doc == "specs/format.md" and text in _SPEC_PENDING:
        assert _is_private(text)
    else:
        assert not any(_is_private(path) for path in dotted), f"{doc} shows a private path: {text}"
    proc = _run(_RESOLVE, kind, text)
    assert proc.returncode == 0, f"{doc}: {text}\n{proc.stderr}"


# --- the public packages ------------------------------------------------------------------------

_CHECK_PACKAGE = """
import importlib, json, sys
module = importlib.import_module(sys.argv[1])
names = list(module.__all__)
missing = [name for name in names if not hasattr(module, name)]
print(json.dumps({"names": names, "missing": missing}))
"""


def _isort_key(name: str) -> tuple[int, str]:
    """The order of ``__all__`` in this project (ruff's): CONSTANTS, Classes, then the rest."""
    if name.isupper():
        return 0, name
    return (1 if name[0].isupper() else 2), name


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_a_public_package_imports_alone_with_a_sorted_all_and_no_stale_name(package: str) -> None:
    proc = _run(_CHECK_PACKAGE, package)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    names: list[str] = result["names"]
    assert result["missing"] == [], f"{package}.__all__ names what it does not define"
    assert names == sorted(set(names), key=_isort_key), f"{package}.__all__ is not sorted"
    assert not [name for name in names if name.startswith("_") and name != "__version__"]


def test_the_names_users_need_have_public_paths() -> None:
    expected = {
        "cardlib.store": {"open_registry", "IssuedCard", "IssuanceRegistry", "RegistryEvent",
                          "export_changes", "apply_changes", "list_conflicts", "sync_cursor",
                          "SyncBatch", "SyncReport", "SyncConflict", "sign_changes",
                          "open_changes", "VerifiedSyncBatch"},
        "cardlib.keys": {"PrivateKey", "PublicKey", "Signer", "TrustStore", "Pkcs11Signer",
                         "generate_keypair"},
        "cardlib.trust": {"publish_trust_list", "load_trust_list", "TrustList", "create_root",
                          "certify_centre", "CertifiedSigner", "certificate_der",
                          "certificate_pem", "kid_for_certificate", "check_root_key"},
        "cardlib.revocation": {"load_revocation_list", "publish_revocation_list",
                               "publish_delta", "Reason", "RevocationEntry", "CardStatus",
                               "RevocationList", "dropped_entries"},
        "cardlib.bundle": {"export_bundle", "load_bundle", "Bundle"},
        "cardlib.audit": {"AuditLog", "AuditEntry", "AuditReport", "verify_log", "events_for"},
    }
    code = ("import importlib, json, sys; print(json.dumps({p: importlib.import_module(p).__all__ "
            "for p in sys.argv[1:]}))")
    proc = _run(code, *expected)
    assert proc.returncode == 0, proc.stderr
    exported = json.loads(proc.stdout)
    for package, names in expected.items():
        assert names <= set(exported[package]), (package, names - set(exported[package]))


# A meta path finder that makes the named top-level modules unimportable, as on a machine
# without the extra that installs them. argv[1]: the blocked names, comma-separated.
_BLOCK = """
import sys
from importlib.abc import MetaPathFinder

BLOCKED = frozenset(sys.argv[1].split(","))

class Missing(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None

sys.meta_path.insert(0, Missing())

def loaded_blocked():
    return sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
"""

_CARDS_EXTRA = "PIL,zxingcpp,pyzbar,barcode,arabic_reshaper,bidi,fontpkg"


def test_cardlib_keys_imports_without_python_pkcs11() -> None:
    code = _BLOCK + """
import cardlib, cardlib.keys
from cardlib.keys import PrivateKey
assert "Pkcs11Signer" in cardlib.keys.__all__
try:
    from cardlib.keys import Pkcs11Signer
except ImportError as err:
    assert "cardlib[hsm]" in str(err), err
else:
    raise AssertionError("Pkcs11Signer imported without python-pkcs11")
assert loaded_blocked() == []
"""
    proc = _run(code, "pkcs11")
    assert proc.returncode == 0, proc.stderr


def test_cardlib_store_opens_sqlite_without_psycopg(tmp_path: Path) -> None:
    code = _BLOCK + """
from pathlib import Path
import cardlib.store
with cardlib.store.open_registry(Path(sys.argv[2]), create=True) as registry:
    assert registry.schema_version >= 1
assert loaded_blocked() == []
"""
    proc = _run(code, "psycopg", str(tmp_path / "registry.db"))
    assert proc.returncode == 0, proc.stderr


def test_the_packages_without_cards_import_without_the_cards_extra() -> None:
    code = _BLOCK + """
import cardlib, cardlib.keys, cardlib.profile, cardlib.trust, cardlib.revocation
import cardlib.bundle, cardlib.audit, cardlib.store, cardlib._batch
assert loaded_blocked() == [], loaded_blocked()
"""
    proc = _run(code, _CARDS_EXTRA)
    assert proc.returncode == 0, proc.stderr


# --- packages meet only at public paths ---------------------------------------------------------


def _module_name(path: Path) -> tuple[str, str]:
    """(module, package it belongs to) for a file under cardlib/."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def _is_module(dotted: str) -> bool:
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _owner(module: str) -> str:
    """The package a module belongs to: the part of its path before the first private name."""
    parts = module.split(".")
    for index, part in enumerate(parts):
        if _is_private(part):
            return ".".join(parts[:index])
    return module if (ROOT.joinpath(*parts) / "__init__.py").is_file() else ".".join(parts[:-1])


def _violations(path: Path, source: str) -> list[str]:
    """Imports in ``source`` (the text of ``path``, a file under cardlib/) of another package's
    private module or private name."""
    _, package = _module_name(path)
    found = []
    for node in ast.walk(ast.parse(source, str(path))):
        targets: list[tuple[str, str | None]] = []
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            if source != "cardlib" and not source.startswith("cardlib."):
                continue
            for alias in node.names:
                full = f"{source}.{alias.name}"
                targets.append((full, None) if _is_module(full) else (source, alias.name))
        else:
            targets = [(a.name, None) for a in node.names if a.name.split(".")[0] == "cardlib"]
        for target, name in targets:
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if _is_private(target) and _owner(target) != package and target not in SEAMS:
                found.append(f"{where} imports the private module {target}")
            if name is not None and _is_private(name) and _owner(target) != package:
                found.append(f"{where} imports the private name {target}.{name}")
    return found


def test_the_import_check_sees_private_imports() -> None:
    assert _module_name(PACKAGE / "store" / "_sync.py") == ("cardlib.store._sync", "cardlib.store")
    assert _owner("cardlib.trust._certs") == "cardlib.trust"
    assert _owner("cardlib.trust") == "cardlib.trust"
    assert _owner("cardlib._errors") == "cardlib"
    assert _owner("cardlib.cards") == "cardlib"
    revocation = PACKAGE / "revocation" / "_example.py"
    assert _violations(revocation, (
        "from .._errors import CardError\n"                 # a seam
        "from ..codec import _cbor\n"                       # a seam
        "from ..keys import PrivateKey\n"                   # a public path
        "from ._other import _helper\n"                     # its own package
        "from ..trust._certs import _load_root\n"           # private module and private name
        "from ..trust import _check_root_key\n"             # private name
        "from .._batch import run_batch\n"                  # a private module of cardlib
        "import cardlib.store._registry\n"                  # private module
        "def f() -> None:\n    from ..keys._keys import PublicKey\n"  # lazily: still one
    )) == [
        f"{revocation.relative_to(ROOT)}:{line} imports the private {what}" for line, what in (
            (5, "module cardlib.trust._certs"), (5, "name cardlib.trust._certs._load_root"),
            (6, "name cardlib.trust._check_root_key"), (7, "module cardlib._batch"),
            (8, "module cardlib.store._registry"), (10, "module cardlib.keys._keys"))
    ]


def test_no_module_imports_a_private_module_or_name_of_another_package() -> None:
    problems = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        found = _violations(path, path.read_text("utf-8"))
        if found:
            problems[str(path.relative_to(ROOT))] = found
    assert {name: found for name, found in problems.items() if name not in _PENDING} == {}
    clean = sorted(_PENDING - set(problems))
    assert clean == [], f"remove {clean} from _PENDING: they import only public paths now"


# --- the CLI's registry and no-render paths without the cards extra ----------------------------

_CLI = _BLOCK + """
import json
from cardlib._cli import main
code = main(sys.argv[2:])
assert loaded_blocked() == [], loaded_blocked()
sys.exit(code)
"""


@pytest.fixture
def key_pem(tmp_path: Path) -> tuple[Path, cardlib.PrivateKey]:
    key = cardlib.PrivateKey.generate("EdDSA")
    path = tmp_path / "private.pem"
    path.write_bytes(key.to_pem(None))
    path.chmod(0o600)
    return path, key


def test_issue_with_a_registry_runs_without_the_cards_extra(
    tmp_path: Path, key_pem: tuple[Path, cardlib.PrivateKey]
) -> None:
    path, key = key_pem
    database = tmp_path / "registry.db"
    init = _run(_CLI, _CARDS_EXTRA, "registry", "init", f"sqlite:///{database}")
    assert init.returncode == 0, init.stderr
    proc = _run(_CLI, _CARDS_EXTRA, "issue", "--key", str(path), "--registry",
                f"sqlite:///{database}", "--now", "2026-01-10T09:00:00Z", str(EXAMPLE))
    assert proc.returncode == 0, proc.stderr
    payload = proc.stdout.strip()
    card = cardlib.verify(payload, cardlib.TrustStore([key.public_key]), now=ISSUED)
    assert card.record is not None
    from cardlib.store import open_registry

    with open_registry(database) as registry:
        recorded = registry.get(card.record.document_number)
    assert recorded.kid == key.kid
    assert recorded.holder_identifier == card.record.national_number


def test_batch_without_rendering_runs_without_the_cards_extra(
    tmp_path: Path, key_pem: tuple[Path, cardlib.PrivateKey]
) -> None:
    path, key = key_pem
    source = tmp_path / "people.jsonl"
    source.write_text(json.dumps(json.loads(EXAMPLE.read_text("utf-8"))) + "\n", "utf-8")
    out = tmp_path / "out"
    database = tmp_path / "registry.db"
    init = _run(_CLI, _CARDS_EXTRA, "registry", "init", f"sqlite:///{database}")
    assert init.returncode == 0, init.stderr
    proc = _run(_CLI, _CARDS_EXTRA, "batch", "--json", "--key", str(path), "--format", "jsonl",
                "--no-render", "--registry", f"sqlite:///{database}",
                "--now", "2026-01-10T09:00:00Z", "--out", str(out), str(source))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["total"], summary["issued"], summary["errors"]) == (1, 1, [])
    cards = [card for card in (out / "cards").iterdir() if card.is_dir()]
    assert len(cards) == 1
    assert sorted(file.name for file in cards[0].iterdir()) == ["payload.txt"]
    payload = (cards[0] / "payload.txt").read_text("utf-8").strip()
    card = cardlib.verify(payload, cardlib.TrustStore([key.public_key]), now=ISSUED)
    assert card.record is not None and card.record.document_number == cards[0].name
    from cardlib.store import open_registry

    with open_registry(database) as registry:
        assert registry.get(cards[0].name).kid == key.kid
