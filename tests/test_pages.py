"""The clerk's page (``/``) in a real browser: Debian's headless Chromium under Selenium, against
the service as a process on loopback (one browser and two services per module).

* **demo**: the embedded defaults (anonymous verification, fresh lists, document LY0009999
  revoked). Cards are issued by its demo centre and rendered by cardlib; the fake camera shows
  one of them.
* **checkpoint**: an edge node whose line is down (its upstream is a loopback port nothing
  listens on), holding a chain published 30 days ago (its revocation list's next update has
  passed), with anonymous verification off and a purpose required.

After each test the browser's console holds no error: no script error, no Content-Security-Policy
violation.
"""

from __future__ import annotations

import re
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatch
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from selenium.webdriver.chrome.webdriver import WebDriver

from cardlib._demo import make_demo
from verifier_service import create_app

from ._browser import (
    ClerkPage,
    DemoCards,
    LiveService,
    access_events,
    agency_key,
    chromium,
    demo_cards,
    live_service,
    missing_browser,
)
from ._service_fixtures import free_port, service_settings
from .conftest import ROOT, require

WEB = ROOT / "verifier_service" / "_web"
NAME_AR = "محمد علي سالم الورفلي"
NAME_LATIN = "Mohamed Ali Salem Elwarfali"


@dataclass(frozen=True)
class Checkpoint:
    service: LiveService
    token: str  # a key of the checkpoint role, made through the admin API
    payload: str  # the old chain's card


@pytest.fixture(scope="module")
def chromium_present() -> None:
    reason = missing_browser()
    require("Chromium", reason is None, reason or "")


@pytest.fixture(scope="module")
def demo(chromium_present: None, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[LiveService]:
    with live_service(tmp_path_factory.mktemp("pages-demo")) as service:
        yield service


@pytest.fixture(scope="module")
def cards(demo: LiveService, tmp_path_factory: pytest.TempPathFactory) -> DemoCards:
    return demo_cards(demo, tmp_path_factory.mktemp("pages-cards"))


@pytest.fixture(scope="module")
def checkpoint(chromium_present: None, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Checkpoint]:
    chain = tmp_path_factory.mktemp("pages-old-chain")
    old = make_demo(chain, datetime.now(UTC).replace(microsecond=0) - timedelta(days=30))
    data_dir = tmp_path_factory.mktemp("pages-checkpoint")
    env = {"VERIFIER_ROOT": str(chain / "root.pem"), "VERIFIER_BUNDLE": str(chain / "bundle.cbor"),
           "VERIFIER_ANONYMOUS": "false", "VERIFIER_REQUIRE_PURPOSE": "true",
           "VERIFIER_UPSTREAM": f"http://127.0.0.1:{free_port()}"}
    with live_service(data_dir, env) as service:
        token = agency_key(service, "checkpoint")
        yield Checkpoint(service, token, old.payload)


@pytest.fixture(scope="module")
def browser(chromium_present: None, cards: DemoCards) -> Iterator[WebDriver]:
    with chromium(camera=cards.camera) as driver:
        yield driver


@pytest.fixture
def page(browser: WebDriver, demo: LiveService) -> Iterator[ClerkPage]:
    """The page on the demo service, opened afresh (Arabic, nothing stored)."""
    with ClerkPage(browser, demo.url).opened() as opened:
        yield opened


@pytest.fixture
def checkpoint_page(browser: WebDriver, checkpoint: Checkpoint) -> Iterator[ClerkPage]:
    with ClerkPage(browser, checkpoint.service.url).opened() as opened:
        yield opened


def _assert_plain(page: ClerkPage) -> None:
    assert page.raw() == [], page.text()


# --- verdicts -------------------------------------------------------------------------------


def test_an_uploaded_card_image_is_valid_with_the_holders_names_and_photo(
        page: ClerkPage, cards: DemoCards) -> None:
    assert page.upload(cards.back) == "verdict v-valid"
    answer = page.text("#answer")
    assert "البطاقة صالحة" in answer
    assert NAME_AR in answer and NAME_LATIN in answer
    assert "تطابق البيانات الموقّعة" in answer  # the MRZ read from the image agrees
    states = {name: page.text(f'#answer dd[data-element="{name}"]')
              for name in ("qr", "code128", "mrz_numbers", "mrz_name")}
    assert states == {"qr": "يطابق", "code128": "لم يُقرأ", "mrz_numbers": "يطابق",
                      "mrz_name": "يطابق"}  # each printed element; the front is not in view
    assert "TRP-01" in page.text("#answer .check")  # the signing centre
    photo = page.element("#answer img.photo")
    assert photo.get_attribute("src").startswith("data:image/webp;base64,")
    assert page.driver.execute_script(  # decoded and shown: allowed by the page's CSP
        "return arguments[0].complete && arguments[0].naturalWidth", photo) > 0
    assert page.element("#answer").get_attribute("aria-live") == "polite"
    assert page.driver.execute_script("return document.activeElement.id") == "answer"
    _assert_plain(page)


def test_a_revoked_card_shows_its_reason(page: ClerkPage, cards: DemoCards) -> None:
    assert page.paste(cards.revoked) == "verdict v-revoked"
    answer = page.text("#answer")
    assert "البطاقة ملغاة" in answer
    assert "سبب الإلغاء: مفقودة" in answer  # revocation.reason "lost"
    assert NAME_AR in answer


def test_the_camera_reads_a_card_and_stops(page: ClerkPage) -> None:
    # Headless Chromium on Linux has no BarcodeDetector: still frames go to /v1/verify/image.
    assert page.driver.execute_script("return 'BarcodeDetector' in window") is False
    assert page.camera() == "verdict v-valid"
    assert NAME_LATIN in page.text("#answer")
    assert not page.shown("camera")
    assert page.driver.execute_script("return document.getElementById('video').srcObject") is None


def test_garbage_gets_a_plain_message_never_raw_json(page: ClerkPage, tmp_path: Path) -> None:
    assert page.paste("garbage, not a card") == "verdict v-invalid"
    answer = page.text("#answer")
    assert "البطاقة غير صالحة" in answer
    assert "رمز البطاقة تالف" in answer  # the service's own Arabic message (base45_invalid)
    _assert_plain(page)
    # A refusal (415 upload_unsupported): its message, not a verdict on a card.
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a picture", "utf-8")
    assert page.upload(text_file) == "verdict v-error"
    assert "لم يتم التحقق" in page.text("#answer")
    _assert_plain(page)
    assert page.paste(" ") == "verdict v-error"  # nothing pasted: said, nothing sent
    assert "الصق نص رمز البطاقة أولًا" in page.text("#answer")


# --- languages and sizes --------------------------------------------------------------------


def test_the_english_switch_changes_every_label_and_is_remembered(
        page: ClerkPage, cards: DemoCards) -> None:
    page.paste(cards.payload)
    assert page.element("#lang").text == "English"
    page.switched_labels()
    answer = page.text("#answer")
    assert "Valid card" in answer and "The card is valid" in answer  # the service's English
    assert NAME_AR in answer  # the card's values stay as signed

    page.open(fresh=False)  # remembered (localStorage)
    assert page.element("html").get_attribute("dir") == "ltr"
    assert page.element("#lang").text == "العربية"
    page.switch_language()
    assert page.element("html").get_attribute("dir") == "rtl"


@pytest.mark.parametrize("english", [False, True], ids=["ar", "en"])
def test_a_360_px_phone_has_no_horizontal_scroll(page: ClerkPage, cards: DemoCards,
                                                 english: bool) -> None:
    # the longest answer: the photo, every field, the print checked
    assert page.phone_overflow(lambda: page.upload(cards.back), english=english) == []


# --- an edge node with a login and a purpose ------------------------------------------------


def test_signing_in_with_an_agency_key(checkpoint_page: ClerkPage,
                                       checkpoint: Checkpoint) -> None:
    page = checkpoint_page
    assert page.shown("login") and not page.shown("work")
    page.sign_in("cvk_000000000000_" + "A" * 43)
    assert not page.shown("work")
    assert "مفتاح" in page.text("#login-error")  # the service's refusal, in Arabic

    page.sign_in(checkpoint.token)
    assert page.shown("work") and page.shown("logout")
    assert checkpoint.token not in page.driver.current_url
    assert page.driver.current_url == checkpoint.service.url + "/"
    stored = page.driver.execute_script(
        "return [sessionStorage.getItem('cardlib.apiKey'), JSON.stringify(localStorage)]")
    assert stored[0] == checkpoint.token and checkpoint.token not in stored[1]

    page.element("#logout").click()
    assert page.shown("login") and not page.shown("work")
    assert page.driver.execute_script("return sessionStorage.length") == 0


def test_a_required_purpose_blocks_verification_until_chosen(
        checkpoint_page: ClerkPage, checkpoint: Checkpoint) -> None:
    page = checkpoint_page
    page.sign_in(checkpoint.token)
    assert page.shown("purpose-box")
    before = access_events(checkpoint.service.data_dir)
    page.element("#payload").send_keys(checkpoint.payload)
    page.element("#paste-form button[type=submit]").click()
    assert "اختر الغرض" in page.text("#purpose-error")
    assert page.driver.execute_script("return document.activeElement.id") == "purpose"
    assert page.text("#answer") == ""

    page.choose_purpose("other", "فتح ملف طبي")  # Arabic: sent UTF-8, percent-encoded
    assert page.paste(checkpoint.payload) == "verdict v-unknown"
    deadline = time.monotonic() + 10  # access events are written in the background
    while (events := access_events(checkpoint.service.data_dir)) == before:
        assert time.monotonic() < deadline, "no access event recorded"
        time.sleep(0.1)
    assert events[0] == "فتح ملف طبي"


def test_stale_lists_cannot_confirm_and_the_edge_says_it_is_offline(
        checkpoint_page: ClerkPage, checkpoint: Checkpoint) -> None:
    page = checkpoint_page
    page.sign_in(checkpoint.token)
    page.choose_purpose("checkpoint")
    assert page.paste(checkpoint.payload) == "verdict v-unknown"
    answer = page.text("#answer")
    assert "تعذّر التأكيد: بيانات الإلغاء قديمة أو غير متوفرة" in answer
    stale = page.text("#answer .lists li.stale")
    assert "قائمة البطاقات الملغاة" in stale and "قديمة" in stale and "صدرت قبل 30 يومًا" in stale
    assert NAME_AR in answer
    assert "119850012347" not in answer  # the checkpoint role does not see the national number
    service = page.text("#service")
    assert "عقدة طرفية" in service and "غير متصلة" in service and "لم تتم بعد" in service


# --- without a browser: the files, their headers, /v1/status -------------------------------


def test_every_page_file_ships_in_the_wheel() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    shipped = pyproject["tool"]["setuptools"]["package-data"]["verifier_service"]
    files = [f"_web/{path.name}" for path in WEB.iterdir()]
    assert files and [f for f in files if not any(fnmatch(f, g) for g in shipped)] == []


@pytest.mark.parametrize("path", ["/", "/me"], ids=["clerk", "holder"])
def test_the_page_and_its_files_come_from_the_service(tmp_path: Path, path: str) -> None:
    with TestClient(create_app(service_settings(tmp_path))) as client:
        page = client.get(path, headers={"Accept-Encoding": "identity"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self';" in policy
        assert "img-src 'self' data:;" in policy and "unsafe" not in policy
        assert page.headers["permissions-policy"].startswith("camera=(self)")
        assert "<!-- include" not in page.text and 'id="paste-form"' in page.text  # ways.html
        loaded = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
        script = re.findall(r'<script type="module" src="([^"]+)"', page.text)
        loaded += re.findall(r'from "(/[^"]+)"', client.get(script[0]).text)  # its imports
        assert loaded and all(url.startswith("/") and not url.startswith("//") for url in loaded)
        for url in loaded:  # every file the page loads, from here, gzipped when asked
            plain = client.get(url, headers={"Accept-Encoding": "identity"})
            zipped = client.get(url, headers={"Accept-Encoding": "gzip"})  # decoded by httpx
            assert (plain.status_code, zipped.headers["content-encoding"]) == (200, "gzip")
            assert zipped.content == plain.content
            assert "content-security-policy" in plain.headers  # the service's own, unchanged
            again = client.get(url, headers={"Accept-Encoding": "gzip",
                                             "If-None-Match": zipped.headers["etag"]})
            assert (again.status_code, again.content) == (304, b"")
            assert plain.headers["cache-control"] == "no-cache"
        assert path not in client.get("/openapi.json").json()["paths"]


def test_v1_status_says_what_the_page_must_ask(tmp_path: Path) -> None:
    with TestClient(create_app(service_settings(tmp_path / "demo"))) as client:
        status = client.get("/v1/status").json()
    assert {k: v for k, v in status.items() if k != "lists"} == {
        "anonymous": True, "require_purpose": False, "edge": False, "upstream": None}
    assert [(item["kind"], item["stale"]) for item in status["lists"]] == [
        ("trust_list", False), ("revocation_list", False)]
    edge = service_settings(tmp_path / "edge", anonymous=False, require_purpose=True,
                            upstream=f"http://127.0.0.1:{free_port()}")  # nothing listens
    with TestClient(create_app(edge)) as client:
        deadline = time.monotonic() + 10
        while (status := client.get("/v1/status").json())["upstream"]["reachable"] is None:
            assert time.monotonic() < deadline, "the first sync was not tried"
            time.sleep(0.05)
    assert {k: v for k, v in status.items() if k != "lists"} == {
        "anonymous": False, "require_purpose": True, "edge": True,
        "upstream": {"reachable": False, "synced_at": None}}
