"""Photograph the clerk's page and the holder's for the README: docs/screenshots/*.png.

Run: .venv/bin/python docs/make_screenshots.py (needs Debian's chromium and chromium-driver).
It starts the service on the embedded defaults in a temporary directory, issues cards from its
demo centre (one with the holder's photo in the signed data, one for the demo's revoked
document number), and photographs the page in headless Chromium the way a clerk sees it: on
an office screen (1280 px, the whole page) and on a phone (360 px, its first screen), in Arabic
and in English. A second service holds lists published 30 days ago, for the amber "cannot
confirm". The holder's page (/me) is photographed with the demo holder's access code after two
agencies' keys checked the card (on an office screen in Arabic, on a phone in English). The
helpers are the browser tests' (tests/_browser.py).
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selenium.webdriver.chrome.webdriver import WebDriver  # noqa: E402

from cardlib._demo import make_demo  # noqa: E402
from tests._browser import (  # noqa: E402
    ClerkPage,
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

OUT = ROOT / "docs" / "screenshots"
DESKTOP, PHONE = 1280, 360


def shoot(page: ClerkPage, name: str, width: int, at: str | None = None) -> None:
    """An office screen: the whole page, however long; a phone: its first screen (360 x 780
    CSS pixels, 2 device pixels each), what the clerk sees when the answer arrives, or the
    screen from the element ``at`` (a CSS selector) down."""
    phone = width == PHONE
    page.driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0);")
    metrics = {"width": width, "height": 780, "deviceScaleFactor": 2 if phone else 1,
               "mobile": phone}
    page.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    if at is not None:
        page.driver.execute_script(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'start'});"
            "window.scrollBy(0, -12);", at)
    if not phone:
        height = page.driver.execute_script("return document.documentElement.scrollHeight")
        page.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    metrics | {"height": height})
    (OUT / name).write_bytes(page.driver.get_screenshot_as_png())
    page.desktop()
    print(f"wrote {OUT / name}")


def holder(driver: WebDriver, demo: LiveService, payload: str) -> None:
    """The holder's page after a bank's and a clinic's looks at the card (with the photo)."""
    for agency, purpose in (("مصرف الصحارى", "banking"),
                            ("Tripoli Medical Centre", "health care: outpatient visit")):
        check_card(demo, agency_key(demo, "verifier", agency), payload, purpose)
    page = HolderPage(driver, demo.url)
    page.open()  # nothing stored: Arabic
    page.read(payload, demo_holder(demo)[1])
    shoot(page, "me-events-ar.png", DESKTOP)
    page.switch_language()
    shoot(page, "me-phone-en.png", PHONE, at="#answer .history")


def main() -> int:
    reason = missing_browser()
    if reason is not None:
        sys.stderr.write(f"make_screenshots: {reason}\n")
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        old = make_demo(work / "old-chain",
                        datetime.now(UTC).replace(microsecond=0) - timedelta(days=30))
        stale_env = {"VERIFIER_ROOT": str(old.directory / "root.pem"),
                     "VERIFIER_BUNDLE": str(old.directory / "bundle.cbor"),
                     "VERIFIER_ANONYMOUS": "true"}
        with live_service(work / "demo") as demo, \
                live_service(work / "stale", stale_env) as stale:
            cards = demo_cards(demo, work)
            with chromium() as driver:
                page = ClerkPage(driver, demo.url)
                page.open()
                page.upload(cards.back)
                shoot(page, "clerk-valid-ar.png", DESKTOP)
                shoot(page, "clerk-phone-valid-ar.png", PHONE)
                page.paste(cards.revoked)
                shoot(page, "clerk-revoked-ar.png", DESKTOP)
                page.switch_language()
                page.paste(cards.payload)
                shoot(page, "clerk-valid-en.png", DESKTOP)
                page = ClerkPage(driver, stale.url)
                page.open()  # another origin: Arabic again, until switched
                page.switch_language()
                page.paste(old.payload)
                shoot(page, "clerk-phone-unknown-en.png", PHONE)
                holder(driver, demo, cards.payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
