"""POST /v1/verify/image on the real app: the demo chain's card rendered by cardlib, saved as
PNG, JPEG, WebP and PDF, read back by the real barcode reader and PDFium; hostile uploads are
refused with a code, never a 5xx."""

from __future__ import annotations

import binascii
import dataclasses
import io
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

import cardlib
from cardlib import cards
from cardlib._demo import REVOKED_DOCUMENT, example_record
from cardlib._messages import CATALOGUE
from verifier_service import Settings, create_app

ROUTE = "/v1/verify/image"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-image")


@pytest.fixture(scope="module")
def client(data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=data_dir))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def payload(client: TestClient, data_dir: Path) -> str:
    return (data_dir / "demo" / "payload.txt").read_text("ascii").strip()


@pytest.fixture(scope="module")
def card(payload: str) -> cards.CardImages:
    return cards.render_card(example_record(), payload, cards.default_layout())


def _encoded(image: Image.Image, kind: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def _post(client: TestClient, data: bytes, content_type: str = "application/octet-stream",
          ) -> tuple[int, dict[str, Any]]:
    answer = client.post(ROUTE, content=data, headers={"Content-Type": content_type})
    body: dict[str, Any] = answer.json()
    return answer.status_code, body


def _revoked(data_dir: Path) -> tuple[cardlib.HolderRecord, str]:
    """The demo centre's card for the demo's revoked document number."""
    from cardlib.trust import CertifiedSigner, certificate_der

    demo = data_dir / "demo"
    signer = CertifiedSigner(
        cardlib.PrivateKey.from_pem((demo / "centre-private.pem").read_bytes()),
        certificate_der((demo / "centre.pem").read_bytes()))
    record = dataclasses.replace(example_record(), document_number=REVOKED_DOCUMENT)
    return record, cardlib.issue(record, signer)


def _forged_back(payload: str) -> Image.Image:
    """The genuine QR code under an MRZ reprinted for another document number."""
    other = dataclasses.replace(example_record(), document_number="LY0007777")
    return cards.render_back(other, payload, cards.default_layout())


def _pdf(pages: list[tuple[float, float]], *, encrypted: bool = False) -> bytes:
    """A small PDF written by hand: blank pages of the given sizes (points), optionally with a
    standard security handler whose user password is not empty (the O and U entries match no
    password a reader can guess)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects += [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w:g} {h:g}] >>".encode()
                for w, h in pages]
    trailer = f"/Root 1 0 R /Size {len(objects) + 1 + int(encrypted)}"
    if encrypted:
        objects.append(b"<< /Filter /Standard /V 1 /R 2 /P -4 /O <" + b"5a" * 32
                       + b"> /U <" + b"c3" * 32 + b"> >>")
        trailer += f" /Encrypt {len(objects)} 0 R /ID [<{'01' * 16}> <{'01' * 16}>]"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< {trailer} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _png_header(width: int, height: int) -> bytes:
    """A PNG signature and a well-formed IHDR (right CRC) declaring ``width`` x ``height``,
    followed by a few bytes of a data chunk: a decompression bomb's opening."""
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + ihdr + struct.pack(">I", binascii.crc32(ihdr))
    idat = b"IDAT" + b"\x78\x9c" + b"\x00" * 30
    return (b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", 32) + idat
            + struct.pack(">I", binascii.crc32(idat)))


# --- images ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "options", "declared"), [
    ("PNG", {}, "image/png"),
    ("JPEG", {"quality": 90}, "image/jpeg"),
    ("WEBP", {"quality": 90}, "image/webp"),
    ("PNG", {}, "image/jpeg"),  # a wrong Content-Type: the bytes decide
    ("JPEG", {"quality": 90}, ""),
])
def test_a_card_back_image_is_verified_with_its_print(
        client: TestClient, card: cards.CardImages, payload: str, kind: str,
        options: dict[str, Any], declared: str) -> None:
    status, body = _post(client, _encoded(card.back, kind, **options), declared)
    assert status == 200
    assert (body["status"], body["code"]) == ("valid", None)
    assert body["card"]["record"]["document_number"] == example_record().document_number
    assert [b["text"] for b in body["scan"]["barcodes"] if b["format"] == "qr"] == [payload]
    assert body["scan"]["print_agrees"] is True  # the MRZ was read and matches
    assert body["scan"]["mrz"][0].startswith("IDLBY")


def test_a_revoked_card_image(client: TestClient, data_dir: Path) -> None:
    record, revoked_payload = _revoked(data_dir)
    back = cards.render_card(record, revoked_payload, cards.default_layout()).back
    status, body = _post(client, _encoded(back, "PNG"), "image/png")
    assert status == 200
    assert (body["status"], body["revocation"]["reason"]) == ("revoked", "lost")
    assert body["scan"]["print_agrees"] is True


def test_an_altered_print_is_invalid_and_keeps_the_card(client: TestClient,
                                                        payload: str) -> None:
    status, body = _post(client, _encoded(_forged_back(payload), "PNG"), "image/png")
    assert status == 422
    assert (body["status"], body["code"]) == ("invalid", "print_mismatch")
    assert body["scan"]["print_agrees"] is False
    assert "machine-readable zone" in body["detail"]
    # the clerk still sees what was signed, next to the altered print
    assert body["card"]["record"]["document_number"] == example_record().document_number


def test_an_image_without_a_card(client: TestClient, card: cards.CardImages) -> None:
    status, body = _post(client, _encoded(card.front, "PNG"), "image/png")
    assert (status, body["status"], body["code"]) == (400, "error", "barcode_not_found")


def test_the_pixel_bound_refuses_a_larger_image(data_dir: Path,
                                                card: cards.CardImages) -> None:
    back = _encoded(card.back, "PNG")  # 1011 x 638 px: 0.65 MP
    with TestClient(create_app(Settings(data_dir=data_dir, max_image_pixels=500_000))) as small:
        status, body = _post(small, back, "image/png")
    assert (status, body["code"]) == (400, "image_invalid")
    assert "1011x638 px" in body["detail"] and "limit" in body["detail"]


# --- PDF -------------------------------------------------------------------------------------


def test_the_card_pdf_answers_page_by_page(client: TestClient, card: cards.CardImages) -> None:
    status, body = _post(client, cards.card_pdf(card), "application/pdf")
    assert status == 200
    front, back = body["pages"]
    assert list(body) == ["pages"]
    assert (front["page"], front["status"], front["code"]) == (1, "error", "barcode_not_found")
    assert front["message"]["ar"]
    assert (back["page"], back["status"], back["code"]) == (2, "valid", None)
    assert back["scan"]["print_agrees"] is True
    # an ID-1 page (85.60 x 53.98 mm) rendered at 300 dpi
    assert back["render"] == {"width": 1012, "height": 638, "dpi": 300}
    # bytes before "%PDF-" (a mail gateway's prefix), as PDF readers accept them
    status, body = _post(client, b"\r\n" + cards.card_pdf(card), "application/octet-stream")
    assert status == 200 and body["pages"][1]["status"] == "valid"


def test_a_pdf_status_follows_its_cards(client: TestClient, card: cards.CardImages,
                                        payload: str) -> None:
    forged = _forged_back(payload)
    only_forged = cards.card_pdf(cards.CardImages(card.front, forged))
    status, body = _post(client, only_forged, "application/pdf")
    assert status == 422  # every page with a card is invalid
    assert [p.get("code") for p in body["pages"]] == ["barcode_not_found", "print_mismatch"]
    mixed = cards.card_pdf(cards.CardImages(forged, card.back))
    status, body = _post(client, mixed, "application/pdf")
    assert status == 200  # one genuine card among them
    assert [p["status"] for p in body["pages"]] == ["invalid", "valid"]


def test_a_pdf_without_a_card(client: TestClient, card: cards.CardImages) -> None:
    status, body = _post(client, cards.card_pdf(cards.CardImages(card.front, card.front)))
    assert (status, body["status"], body["code"]) == (400, "error", "barcode_not_found")
    assert "2 pages" in body["detail"]
    assert [(p["page"], p["code"]) for p in body["pages"]] == [(1, "barcode_not_found"),
                                                               (2, "barcode_not_found")]


def test_too_many_pages_are_refused(client: TestClient, data_dir: Path,
                                    card: cards.CardImages) -> None:
    status, body = _post(client, _pdf([(200, 100)] * 11), "application/pdf")
    assert (status, body["code"]) == (413, "pdf_too_many_pages")
    assert "11 pages; at most 10" in body["detail"]
    with TestClient(create_app(Settings(data_dir=data_dir, max_pdf_pages=1))) as one_page:
        status, body = _post(one_page, cards.card_pdf(card), "application/pdf")
    assert (status, body["code"]) == (413, "pdf_too_many_pages")


def test_a_huge_page_is_rendered_within_the_pixel_bound(data_dir: Path,
                                                        card: cards.CardImages) -> None:
    bound = 200_000
    with TestClient(create_app(Settings(data_dir=data_dir, max_image_pixels=bound))) as small:
        # 200 x 200 inches (the largest page PDF allows): 3.6 gigapixels at 300 dpi
        status, body = _post(small, _pdf([(14_400, 14_400), (1e9, 1e9)]), "application/pdf")
        assert (status, body["code"]) == (400, "barcode_not_found")
        for page in body["pages"]:
            render = page["render"]
            assert 0 < render["width"] * render["height"] <= bound
            assert render["dpi"] < 300
        assert body["pages"][0]["render"]["width"] >= 440  # scaled down, not to nothing
        # a card page under a bound smaller than its 300 dpi rendering is rendered smaller
        status, body = _post(small, cards.card_pdf(card), "application/pdf")
    back = body["pages"][1]["render"]
    assert back["width"] * back["height"] <= bound and back["dpi"] < 300


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "declared", "status", "code", "detail"), [
    (b"", "image/png", 400, "request_invalid", "empty"),
    (b"\x00\x01garbage\xff" * 50, "image/png", 415, "upload_unsupported", "unknown data"),
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif", 415, "upload_unsupported", "GIF"),
    (b"II*\x00" + b"\x00" * 64, "image/tiff", 415, "upload_unsupported", "TIFF"),
    (b"BMx\x00\x00\x00\x00\x00\x00\x00" + b"\x00" * 40, "image/bmp", 415,
     "upload_unsupported", "BMP"),
    (b"Hello, this is not a card.\n", "application/pdf", 415, "upload_unsupported",
     "application/pdf"),
    (b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\n\x89PNG\r\n--x--\r\n',
     "multipart/form-data; boundary=x", 415, "upload_unsupported", "multipart"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png", 400, "image_invalid", "readable"),
    # declared sizes judged from the header: the few bytes after it are never decoded
    (_png_header(10_000, 5_000), "image/png", 400, "image_invalid", "10000x5000 px"),
    (_png_header(100_000, 100_000), "image/png", 400, "image_invalid", "readable"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "image/jpeg", 400, "image_invalid", ""),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 20, "image/webp", 400, "image_invalid", ""),
    (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "application/pdf", 400,
     "pdf_invalid", "damaged"),
    (_pdf([]), "application/pdf", 400, "pdf_invalid", "no pages"),
    (_pdf([(200, 100)], encrypted=True), "application/pdf", 400, "pdf_invalid", "password"),
    (_pdf([(200, 100)])[:60], "application/pdf", 400, "pdf_invalid", "damaged"),
], ids=["empty", "garbage", "gif", "tiff", "bmp", "text", "multipart", "png-damaged",
        "png-over-bound", "png-bomb", "jpeg-damaged", "webp-damaged", "pdf-damaged",
        "pdf-no-pages", "pdf-password", "pdf-truncated"])
def test_unusable_uploads_are_refused_with_a_code(client: TestClient, data: bytes,
                                                  declared: str, status: int, code: str,
                                                  detail: str) -> None:
    answer = client.post(ROUTE, content=data, headers={"Content-Type": declared})
    body = answer.json()
    assert (answer.status_code, body["status"], body["code"]) == (status, "error", code)
    assert detail in body["detail"]
    assert body["message"] == {"en": CATALOGUE[code].en, "ar": CATALOGUE[code].ar}


def test_a_truncated_card_png(client: TestClient, card: cards.CardImages) -> None:
    whole = _encoded(card.back, "PNG")
    status, body = _post(client, whole[: len(whole) // 2], "image/png")
    assert (status, body["code"]) == (400, "image_invalid")
    assert "damaged or truncated" in body["detail"]


def test_an_image_answer_follows_the_role_and_records_the_look(
        tmp_path: Path, data_dir: Path, card: cards.CardImages) -> None:
    """The image route answers like /v1/verify: the caller's role decides the fields, and a
    keyed look is an access event (PDF pages too, one event a card)."""
    from datetime import UTC, datetime

    from verifier_service._access import AccessStore

    demo = data_dir / "demo"
    settings = Settings(data_dir=tmp_path, root=demo / "root.pem", bundle=demo / "bundle.cbor")
    with TestClient(create_app(settings)) as keyed:
        store: AccessStore = keyed.app.state.gate.store  # type: ignore[attr-defined]
        _, token = store.create_key("Border post", "checkpoint", now=datetime.now(UTC))
        headers = {"X-API-Key": token, "Content-Type": "image/png", "X-Purpose": "entry"}
        answer = keyed.post(ROUTE, content=_encoded(card.back, "PNG"), headers=headers)
        assert answer.status_code == 200 and answer.json()["status"] == "valid"
        record = answer.json()["card"]["record"]
        assert "name_latin" in record and "address" not in record
        scan = answer.json()["scan"]  # the QR text and the MRZ carry the numbers: not shown
        assert scan["mrz"] is None and scan["barcodes"]
        assert all(barcode["text"] is None for barcode in scan["barcodes"])
        assert answer.json()["scan"]["print_agrees"] is True
        pdf = keyed.post(ROUTE, content=cards.card_pdf(card),
                         headers={**headers, "Content-Type": "application/pdf"})
        assert pdf.status_code == 200
        assert keyed.post(ROUTE, content=_encoded(card.back, "PNG"),
                          headers={"Content-Type": "image/png"}).status_code == 401
        assert keyed.app.state.gate.writer.flush()  # type: ignore[attr-defined]
        events = store.events()
        assert [(e.agency, e.purpose, e.status) for e in events] == [
            ("Border post", "entry", "valid")] * 2


def test_a_covered_qr_code_still_yields_the_mrz_marked_unsigned(
        client: TestClient, tmp_path: Path, data_dir: Path, card: cards.CardImages) -> None:
    """A back whose QR code is covered: 400 barcode_not_found, with the MRZ read by its own
    lines as ``unsigned_mrz``, for a caller who sees every field; a checkpoint key's role does
    not see the numbers and names, so it does not get the lines either."""
    from datetime import UTC, datetime

    from PIL import ImageDraw

    from verifier_service._access import AccessStore

    covered = card.back.copy()
    ImageDraw.Draw(covered).rectangle((0, 0, 440, 470), fill=(205, 175, 150))
    data = _encoded(covered, "PNG")
    status, body = _post(client, data, "image/png")
    assert (status, body["code"]) == (400, "barcode_not_found")
    assert body["unsigned_mrz"] == list(cards.td1_lines(example_record()))
    demo = data_dir / "demo"
    settings = Settings(data_dir=tmp_path, root=demo / "root.pem", bundle=demo / "bundle.cbor")
    with TestClient(create_app(settings)) as keyed:
        store: AccessStore = keyed.app.state.gate.store  # type: ignore[attr-defined]
        _, token = store.create_key("Border post", "checkpoint", now=datetime.now(UTC))
        answer = keyed.post(ROUTE, content=data, headers={
            "X-API-Key": token, "Content-Type": "image/png", "X-Purpose": "entry"})
        assert answer.status_code == 400 and answer.json()["code"] == "barcode_not_found"
        assert "unsigned_mrz" not in answer.json()
