"""The holder's own page (``/me``) in a real browser: Debian's headless Chromium under Selenium,
against the service as a process on loopback (one browser and two services per module).

* **demo**: the embedded defaults. Its issuance registry holds the demo card and its holder's
  personal access code (``demo/payload.txt``, ``demo/access-code.txt``); an agency's key, made
  through the admin API, checks the card over HTTP as a clerk's page would.
* **closed**: a chain of its own, no issuance registry, no verification without an API key, and
  one holder-view call per client address an hour.

After each test the browser's console holds no error: no script error, no Content-Security-Policy
violation.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.chrome.webdriver import WebDriver

from cardlib._demo import make_demo

from ._browser import (
    HolderPage,
    LiveService,
    agency_key,
    check_card,
    chromium,
    demo_cards,
    demo_holder,
    live_service,
    missing_browser,
)
from .conftest import require

NAME_AR = "محمد علي سالم الورفلي"
AGENCY = "Sahara Bank"
PURPOSE = "opening a bank account"


@dataclass(frozen=True)
class Holder:
    service: LiveService
    payload: str  # the demo card
    code: str  # its holder's personal access code


@pytest.fixture(scope="module")
def chromium_present() -> None:
    reason = missing_browser()
    require("Chromium", reason is None, reason or "")


@pytest.fixture(scope="module")
def holder(chromium_present: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Holder]:
    with live_service(tmp_path_factory.mktemp("me-demo")) as service:
        yield Holder(service, *demo_holder(service))


@pytest.fixture(scope="module")
def closed(chromium_present: None, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[LiveService, str]]:
    chain = make_demo(tmp_path_factory.mktemp("me-chain"), datetime.now(UTC).replace(microsecond=0))
    env = {"VERIFIER_ROOT": str(chain.directory / "root.pem"),
           "VERIFIER_BUNDLE": str(chain.directory / "bundle.cbor"),
           "VERIFIER_ANONYMOUS": "false", "VERIFIER_HOLDER_ADDRESS_ATTEMPTS_PER_HOUR": "1"}
    with live_service(tmp_path_factory.mktemp("me-closed"), env) as service:
        yield service, chain.payload


@pytest.fixture(scope="module")
def browser(chromium_present: None) -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def page(browser: WebDriver, holder: Holder) -> Iterator[HolderPage]:
    """/me on the demo service, opened afresh (Arabic, nothing stored)."""
    with HolderPage(browser, holder.service.url).opened() as opened:
        yield opened


# --- with the code, without it, with a wrong one -----------------------------------------------


def test_a_clerks_check_a_moment_ago_is_listed_with_the_history(
        page: HolderPage, holder: Holder) -> None:
    assert page.read(holder.payload, holder.code) == "verdict v-valid"
    assert page.sections() == ["panel record history", "panel record looks"]
    assert page.text("#answer .looks .none") == "لم يتحقق أحد من هذه البطاقة بعد."

    token = agency_key(holder.service, "verifier", AGENCY)
    check_card(holder.service, token, holder.payload, PURPOSE)
    assert page.read(holder.payload, holder.code) == "verdict v-valid"
    looks = page.text("#answer .looks ol")
    assert AGENCY in looks and PURPOSE in looks and "البطاقة صالحة" in looks  # the outcome
    assert str(datetime.now(UTC).year) in page.text("#answer .looks li dd:nth-of-type(2)")  # when
    history = page.text("#answer .history ol")
    assert "صدرت البطاقة" in history and "LY0001234" in history  # the "issue" event
    assert NAME_AR in page.text("#answer article")
    assert page.driver.execute_script("return document.activeElement.id") == "answer"
    # The code and the card's text stay in the page: not in the address, not in storage.
    assert page.driver.current_url == holder.service.url + "/me"
    stored = page.driver.execute_script(
        "return JSON.stringify(localStorage) + JSON.stringify(sessionStorage)")
    assert holder.code not in stored and holder.payload[:40] not in stored
    assert page.raw() == []


def test_without_the_code_only_the_card_is_shown(page: HolderPage, holder: Holder) -> None:
    assert page.read(holder.payload) == "verdict v-valid"
    assert page.sections() == []
    answer = page.text("#answer")
    assert NAME_AR in answer and "LY0001234" in answer  # the card's own fields
    assert "يحتاجان إلى رمز الدخول الشخصي" in page.text("#answer .note")
    assert page.element("footer a").get_attribute("href") == holder.service.url + "/"
    assert page.raw() == []


def test_a_wrong_or_malformed_code_is_said_plainly(page: HolderPage, holder: Holder) -> None:
    assert page.read(holder.payload, "AAAA-AAAA-AAAA") == "verdict v-error"
    answer = page.text("#answer")
    assert "رمز الدخول الشخصي لا يطابق حامل هذه البطاقة" in answer  # the service's message
    assert "إيصال الإصدار" in answer  # what to do, from the page
    assert page.sections() == [] and NAME_AR not in answer
    assert page.element("#access-code").get_attribute("aria-invalid") == "true"
    assert page.raw() == []
    assert page.read(holder.payload, "12") == "verdict v-error"
    assert "هذا ليس رمز دخول شخصيًا" in page.text("#answer")
    assert page.raw() == []


def test_an_uploaded_card_image_opens_the_record(
        page: HolderPage, holder: Holder, tmp_path: Path) -> None:
    cards = demo_cards(holder.service, tmp_path)  # the demo card with the holder's photo
    page.element("#access-code").send_keys(holder.code)
    assert page.upload(cards.back) == "verdict v-valid"
    assert page.sections() == ["panel record history", "panel record looks"]
    photo = page.element("#answer img.photo")
    assert page.driver.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth", photo) > 0


# --- languages and sizes --------------------------------------------------------------------


def test_the_english_switch_changes_every_label(page: HolderPage, holder: Holder) -> None:
    page.read(holder.payload, holder.code)
    english = page.switched_labels()
    assert "Personal access code, from your card's issuance receipt (not printed on the card)" \
        in english
    assert {"Valid card", "History of your cards", "Who checked your card"} <= set(english)
    page.open(fresh=False)  # remembered, as on the clerk's page (the same localStorage entry)
    assert page.element("html").get_attribute("dir") == "ltr"


@pytest.mark.parametrize("english", [False, True], ids=["ar", "en"])
def test_a_360_px_phone_has_no_horizontal_scroll(page: HolderPage, holder: Holder,
                                                 english: bool) -> None:
    # the longest answer: the card, its history, the looks at it
    assert page.phone_overflow(lambda: page.read(holder.payload, holder.code),
                               english=english) == []


# --- a service without keyless reading or a registry ----------------------------------------


def test_a_service_that_cannot_read_or_open_says_so(
        browser: WebDriver, closed: tuple[LiveService, str], tmp_path: Path) -> None:
    service, payload = closed
    with HolderPage(browser, service.url).opened() as page:
        # /v1/verify/image wants an API key here (refused before the image is read): no QR text.
        picture = tmp_path / "card.png"
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), "white").save(buffer, "PNG")
        picture.write_bytes(buffer.getvalue())
        assert page.upload(picture) == "verdict v-error"
        assert "الصق نص الرمز بدلًا من ذلك" in page.text("#answer")

        assert page.read(payload, "7KQ4-M2XD-9WPR") == "verdict v-error"  # holder_view_unavailable
        assert "لا تستطيع هذه الخدمة فتح سجل البطاقات" in page.text("#answer")
        assert page.read(payload) == "verdict v-error"  # one call an hour from this address
        answer = page.text("#answer")
        assert "طلبات كثيرة جدًا" in answer and "أعد المحاولة بعد ساعة واحدة." in answer
        assert "محاولات قليلة في الساعة" in answer
        assert page.raw() == []
