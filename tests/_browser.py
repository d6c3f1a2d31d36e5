"""Shared helpers for the clerk's page and the holder's page in a real browser
(tests/test_pages.py, tests/test_pages_me.py and docs/make_screenshots.py): Debian's headless
Chromium under Selenium, the service as a process on loopback, cards issued by its demo centre,
agencies' keys and checks made over HTTP, and the pages driven the way a clerk or a card holder
uses them."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Self

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import cardlib
from cardlib import cards
from cardlib._demo import REVOKED_DOCUMENT, example_record
from cardlib.photo import prepare_portrait
from cardlib.trust import CertifiedSigner, certificate_der
from verifier_service._access import DEFAULT_ROLES, AccessStore

from ._service_fixtures import admin_key, serve
from .test_photo import synthetic_portrait, to_jpeg

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
LATIN = re.compile(r"[A-Za-z]")
#: What the page must never show: a server's traceback or the service's raw JSON.
RAW = ("Traceback", '"status"', '{"', "Internal Server Error", "[object Object]", "undefined")
WAIT = 20.0  # seconds for an answer (an image is scanned in well under a second)


def missing_browser() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    absent = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    return f"{' and '.join(absent)} missing: apt-get install chromium chromium-driver" \
        if absent else None


@contextmanager
def chromium(*, camera: Path | None = None) -> Iterator[WebDriver]:
    """Headless Chromium, driven by Debian's chromedriver given explicitly (Selenium Manager
    never downloads a browser or a driver), quit afterwards. ``camera``: a Y4M video the fake
    camera shows (permission granted without a prompt)."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    if camera is not None:
        options.add_argument("--use-fake-device-for-media-stream")
        options.add_argument("--use-fake-ui-for-media-stream")
        options.add_argument(f"--use-file-for-fake-video-capture={camera}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=DriverService(executable_path=str(CHROMEDRIVER)),
                              options=options)
    driver.set_window_size(1280, 900)
    try:
        yield driver
    finally:
        driver.quit()


@dataclass(frozen=True)
class LiveService:
    """``python -m verifier_service serve`` on loopback."""

    url: str
    data_dir: Path
    process: subprocess.Popen[str]


@contextmanager
def live_service(data_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[LiveService]:
    """The service on ``data_dir`` (no rate limits, the holder view's as high as they go;
    ``env``: more ``VERIFIER_*`` settings), stopped afterwards."""
    process, port = serve({"VERIFIER_DATA_DIR": str(data_dir), "VERIFIER_RATE_PER_KEY": "0",
                           "VERIFIER_RATE_PER_ADDRESS": "0",
                           "VERIFIER_HOLDER_ATTEMPTS_PER_HOUR": "1000",
                           "VERIFIER_HOLDER_ADDRESS_ATTEMPTS_PER_HOUR": "10000", **(env or {})})
    try:
        yield LiveService(f"http://127.0.0.1:{port}", data_dir, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def agency_key(service: LiveService, role: str, owner: str | None = None) -> str:
    """A new key of ``role`` for the agency ``owner`` (default "<role> agency"), made through
    the admin API with a first admin key made on the store."""
    request = urllib.request.Request(
        f"{service.url}/v1/admin/keys",
        data=json.dumps({"owner": owner or f"{role} agency", "role": role}).encode(),
        headers={"Content-Type": "application/json",
                 "X-API-Key": admin_key(service.data_dir)})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return str(json.load(answer)["token"])


def access_events(data_dir: Path) -> list[str | None]:
    """The purposes of the access events stored (newest first)."""
    store = AccessStore(data_dir / "access.db", DEFAULT_ROLES)
    try:
        return [event.purpose for event in store.events()]
    finally:
        store.close()


def check_card(service: LiveService, token: str, payload: str, purpose: str) -> None:
    """An agency checks ``payload`` with its key and ``purpose`` (``POST /v1/verify``), and the
    access event it leaves is stored (they are written in the background) when this returns."""
    before = len(access_events(service.data_dir))
    request = urllib.request.Request(
        f"{service.url}/v1/verify", data=payload.encode(),
        headers={"Content-Type": "text/plain", "X-API-Key": token,
                 "X-Purpose": urllib.parse.quote(purpose)})  # UTF-8, percent-encoded
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200
    deadline = time.monotonic() + 10
    while len(access_events(service.data_dir)) == before:
        assert time.monotonic() < deadline, "no access event recorded"
        time.sleep(0.05)


# --- cards ------------------------------------------------------------------------------------


def demo_holder(service: LiveService) -> tuple[str, str]:
    """The demo card's payload and its holder's personal access code (the demo's registry
    holds the card; the service printed both at start-up)."""
    demo = service.data_dir / "demo"
    return ((demo / "payload.txt").read_text("ascii").strip(),
            (demo / "access-code.txt").read_text("ascii").strip())


def issue_demo(demo: Path, **changes: Any) -> tuple[cardlib.HolderRecord, str]:
    """The example record (with ``changes``) issued by the demo centre in ``demo``."""
    signer = CertifiedSigner(
        cardlib.PrivateKey.from_pem((demo / "centre-private.pem").read_bytes()),
        certificate_der((demo / "centre.pem").read_bytes()))
    record = dataclasses.replace(example_record(), **changes)
    return record, cardlib.issue(record, signer)


@lru_cache(maxsize=1)
def portrait() -> tuple[Image.Image, bytes, cardlib.PhotoFormat]:
    """A synthetic portrait: the printed picture, and a payload copy small enough (200 bytes)
    for the QR code to fit above the MRZ at error correction L."""
    prepared = prepare_portrait(to_jpeg(synthetic_portrait(600, 768)), budget=200,
                                formats=(cardlib.PhotoFormat.WEBP,))
    return prepared.card_image, prepared.payload_bytes, prepared.payload_format


def card_with_photo(demo: Path) -> tuple[str, cards.CardImages]:
    """A card of the demo centre whose signed data holds the holder's photo."""
    picture, photo, kind = portrait()
    record, payload = issue_demo(demo, photo=photo, photo_format=kind)
    return payload, cards.render_card(record, payload, cards.default_layout(), picture,
                                      ec_level="L")


@dataclass(frozen=True)
class DemoCards:
    """Cards of a demo service's centre, to show the page."""

    payload: str  # a valid card, with the holder's photo
    back: Path  # its back, as PNG
    camera: Path  # its back, as the fake camera's video
    revoked: str  # the demo's revoked document number


def demo_cards(service: LiveService, out: Path) -> DemoCards:
    """The cards of ``service``'s demo centre, written to ``out``."""
    demo = service.data_dir / "demo"
    payload, card = card_with_photo(demo)
    _, revoked = issue_demo(demo, document_number=REVOKED_DOCUMENT)
    back = out / "back.png"
    card.back.save(back, "PNG")
    return DemoCards(payload, back, y4m(card.back, out / "card.y4m"), revoked)


def y4m(image: Image.Image, path: Path, size: tuple[int, int] = (1280, 720)) -> Path:
    """``image`` on a grey desk, as a one-frame Y4M video (Chromium's fake camera loops it)."""
    frame = Image.new("RGB", size, (96, 100, 108))
    frame.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    luma, blue, red = frame.convert("YCbCr").split()
    half = (size[0] // 2, size[1] // 2)
    out = io.BytesIO()
    out.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F10:1 Ip A1:1 C420jpeg\nFRAME\n".encode())
    for plane in (luma, blue.resize(half, Image.Resampling.BOX),
                  red.resize(half, Image.Resampling.BOX)):
        out.write(plane.tobytes())
    path.write_bytes(out.getvalue())
    return path


# --- the page --------------------------------------------------------------------------------

#: The page's labels: everything it says itself (not the card's values, not the service's
#: messages), in the language it is in. The language switch names the other language.
_LABELS = """
const seen = [];
const skip = (node) => node.closest("#lang, dd, .message, .lead, .technical p, noscript");
for (const node of document.querySelectorAll(
    "[data-t], label, button, h1, h2, h3, option, dt, summary, .lists li, .pages-title")) {
  if (!skip(node) && node.textContent.trim()) seen.push(node.textContent.trim());
}
for (const node of document.querySelectorAll("[aria-label], img[alt]")) {
  const text = node.getAttribute("aria-label") || node.getAttribute("alt");
  if (!skip(node) && text) seen.push(text);
}
seen.push(document.title);
return seen;
"""

_OVERFLOW = """
const width = document.documentElement.clientWidth;
const out = document.documentElement.scrollWidth > width ? ["the page scrolls sideways"] : [];
for (const node of document.body.querySelectorAll("*")) {
  const box = node.getBoundingClientRect();
  if (box.width && (box.left < -0.5 || box.right > width + 0.5)) {
    out.push(`${node.tagName}#${node.id}.${node.className}: ${box.left}-${box.right}`);
  }
}
return out;
"""


class ClerkPage:
    """The clerk's page in ``driver``, at the service ``url``."""

    path = "/"

    def __init__(self, driver: WebDriver, url: str) -> None:
        self.driver, self.url = driver, url

    def open(self, *, fresh: bool = True) -> None:
        """Load the page (``fresh``: as a first visit, nothing stored) and wait until it is
        ready."""
        self.driver.get(self.url + self.path)
        if fresh:
            self.driver.execute_script("localStorage.clear(); sessionStorage.clear();")
            self.driver.get(self.url + self.path)
        self.wait(lambda _: self.ready())

    def ready(self) -> bool:
        """The page knows the service's settings: the login or the work area is shown."""
        return self.shown("login") or self.shown("work")

    def wait(self, condition: Any, seconds: float = WAIT) -> Any:
        return WebDriverWait(self.driver, seconds, poll_frequency=0.05).until(condition)

    def element(self, selector: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def shown(self, element_id: str) -> bool:
        return bool(self.driver.find_element(By.ID, element_id).is_displayed())

    def text(self, selector: str = "body") -> str:
        return str(self.element(selector).text)

    def _answered(self) -> str:
        """Waits for the answer region to show an answer; its first article's class."""
        self.wait(lambda _: self.driver.find_elements(By.CSS_SELECTOR, "#answer article")
                  and not self.shown("busy"))
        return str(self.element("#answer article").get_attribute("class"))

    def clear(self) -> None:
        self.driver.execute_script("document.getElementById('answer').replaceChildren();")

    def paste(self, text: str) -> str:
        """Paste ``text`` and verify it; the answer's class (``verdict v-valid``, …)."""
        self.clear()
        box = self.element("#payload")
        box.clear()
        box.send_keys(text)
        self.element("#paste-form button[type=submit]").click()
        return self._answered()

    def upload(self, path: Path) -> str:
        """Choose the file ``path`` and verify it; the answer's class."""
        self.clear()
        self.element("#file").send_keys(str(path))
        return self._answered()

    def camera(self) -> str:
        """Start the camera and wait for it to find a card; the answer's class."""
        self.clear()
        self.element("#camera-start").click()
        return self._answered()

    def switch_language(self) -> None:
        before = self.driver.execute_script("return document.documentElement.lang")
        self.element("#lang").click()
        self.wait(lambda d: d.execute_script("return document.documentElement.lang") != before)

    def sign_in(self, token: str) -> None:
        field = self.element("#api-key")
        field.clear()
        field.send_keys(token)
        self.element("#login-form button[type=submit]").click()
        self.wait(lambda _: self.shown("work") or self.text("#login-error")
                  not in ("", "جارٍ التحقق من المفتاح…", "Checking the key…"))

    def choose_purpose(self, value: str, details: str = "") -> None:
        self.driver.execute_script(
            "const s = document.getElementById('purpose'); s.value = arguments[0];"
            "s.dispatchEvent(new Event('change'));", value)
        if details:
            self.element("#purpose-text").send_keys(details)

    def labels(self) -> list[str]:
        return list(self.driver.execute_script(_LABELS))

    def switched_labels(self) -> list[str]:
        """Switches the Arabic page to English and returns its labels, checking that each
        label was Arabic, and is now English (as many as before), with ``lang`` and ``dir``."""
        arabic = self.labels()
        assert [label for label in arabic if LATIN.search(label)] == []
        self.switch_language()
        html = self.element("html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("en", "ltr")
        english = self.labels()
        assert len(english) == len(arabic)  # the same labels, each in English
        assert [label for label in english if ARABIC.search(label)] == []
        return english

    def phone(self, width: int = 360, height: int = 760) -> None:
        """A phone's viewport (CSS pixels); :meth:`desktop` ends it."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 0, "mobile": True})

    def desktop(self) -> None:
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def overflow(self) -> list[str]:
        """What sticks out of the viewport sideways (scrolling the page, or clipped by a box
        around it): [] when nothing does."""
        return list(self.driver.execute_script(_OVERFLOW))

    def phone_overflow(self, answer: Callable[[], object], *, english: bool) -> list[str]:
        """On a 360 px phone (in English, or Arabic), what sticks out before and after
        ``answer()`` fills the page."""
        self.phone(360)
        if english:
            self.switch_language()
        assert self.driver.execute_script("return window.innerWidth") == 360
        before = self.overflow()
        answer()
        return before + self.overflow()

    @contextmanager
    def opened(self) -> Iterator[Self]:
        """The page opened afresh (:meth:`open`); its console holds no error at the end
        (:meth:`problems`), and it is left in the desktop's size."""
        self.problems()  # what came before
        self.open()
        yield self
        self.desktop()
        assert self.problems() == []

    def raw(self) -> list[str]:
        """What the page shows that it never should (:data:`RAW`): [] when it speaks in words."""
        shown = self.text()
        return [marker for marker in RAW if marker in shown]

    def problems(self) -> list[str]:
        """The browser's console errors since the last call: script errors, Content-Security-
        Policy violations (a refused 4xx answer's "Failed to load resource" is expected)."""
        log = self.driver.get_log("browser")  # type: ignore[no-untyped-call]  # untyped there
        return [entry["message"] for entry in log if entry["level"] == "SEVERE"
                and not re.search(r"Failed to load resource: the server responded with a "
                                  r"status of 4\d\d", entry["message"])]


class HolderPage(ClerkPage):
    """The holder's own page (``/me``): the card read as on the clerk's page, with the
    personal access code typed first."""

    path = "/me"

    def ready(self) -> bool:
        return bool(self.text("#lang"))  # its script ran: the language is applied

    def read(self, payload: str, code: str | None = None) -> str:
        """Type ``code`` (none: the box left empty) and paste ``payload``; the answer's class."""
        box = self.element("#access-code")
        box.clear()
        if code is not None:
            box.send_keys(code)
        return self.paste(payload)

    def sections(self) -> list[str]:
        """The record's sections shown with the card (history, looks), by class."""
        return [str(node.get_attribute("class")) for node in
                self.driver.find_elements(By.CSS_SELECTOR, "#answer section.record")]
