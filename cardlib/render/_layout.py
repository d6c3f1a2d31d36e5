"""The card layout configuration: issuer, colours, logo and labels come from data, not code."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .._errors import ImageError, LayoutError
from ._images import logo_image

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
MAX_LAYOUT_BYTES = 2 * 1024 * 1024
LABELS = ("name", "mother", "birth", "sex", "nationality", "national_number", "admin_number",
          "document_number", "issue_date", "expiry_date", "address", "scan")
COLOURS = ("primary", "on_primary", "accent", "background", "text", "label")


@dataclass(frozen=True, slots=True)
class Bilingual:
    ar: str
    en: str


@dataclass(frozen=True, slots=True)
class Layout:
    country: Bilingual
    issuer: Bilingual
    title: Bilingual
    colours: Mapping[str, str]
    labels: Mapping[str, Bilingual]
    sex_names: Mapping[str, Bilingual]
    logo_png: bytes | None
    mrz: bool


def _bilingual(data: Any, path: str, problems: list[str]) -> Bilingual:
    if (isinstance(data, Mapping) and set(data) == {"ar", "en"}
            and all(isinstance(v, str) and 0 < len(v) <= 80 for v in data.values())):
        return Bilingual(data["ar"], data["en"])
    problems.append(f"{path} must be {{\"ar\": text, \"en\": text}} (1-80 characters each)")
    return Bilingual("", "")


def layout_from_json(text: str | bytes) -> Layout:
    """Read a layout; raise :class:`LayoutError` listing every problem."""
    if len(text) > MAX_LAYOUT_BYTES:
        raise LayoutError(f"a layout is at most {MAX_LAYOUT_BYTES} bytes")
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                duplicates.append(key[:40])
            out[key] = value
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except (ValueError, RecursionError) as err:
        message = "nested too deeply" if isinstance(err, RecursionError) else str(err)[:200]
        raise LayoutError(f"the layout is not JSON: {message}") from None
    if duplicates:
        raise LayoutError(f"the layout gives {', '.join(duplicates)} more than once")
    if not isinstance(data, Mapping):
        raise LayoutError("the layout must be a JSON object")
    problems: list[str] = []
    known = {"country", "issuer", "title", "colours", "labels", "sex_names", "logo_png_base64",
             "mrz"}
    problems.extend(f"unknown layout member {k!r}"[:100] for k in data if k not in known)
    colours = data.get("colours")
    if not (isinstance(colours, Mapping) and set(colours) == set(COLOURS)
            and all(isinstance(v, str) and _COLOUR.fullmatch(v) for v in colours.values())):
        problems.append(f"colours must give exactly {', '.join(COLOURS)} as #rrggbb")
        colours = {}
    labels_in = data.get("labels")
    labels: dict[str, Bilingual] = {}
    if isinstance(labels_in, Mapping) and set(labels_in) == set(LABELS):
        labels = {k: _bilingual(labels_in[k], f"labels.{k}", problems) for k in LABELS}
    else:
        problems.append(f"labels must give exactly: {', '.join(LABELS)}")
    sexes_in = data.get("sex_names")
    sexes: dict[str, Bilingual] = {}
    if isinstance(sexes_in, Mapping) and set(sexes_in) == {"male", "female"}:
        sexes = {k: _bilingual(v, f"sex_names.{k}", problems) for k, v in sexes_in.items()}
    else:
        problems.append("sex_names must give male and female")
    logo: bytes | None = None
    raw_logo = data.get("logo_png_base64")
    if raw_logo is not None:
        try:
            logo = base64.b64decode(raw_logo, validate=True) if isinstance(raw_logo, str) else None
        except (binascii.Error, ValueError):
            logo = None
        if not logo or not logo.startswith(b"\x89PNG\r\n\x1a\n"):
            problems.append("logo_png_base64 must be a Base64 PNG image or null")
        else:
            try:
                logo_image(logo)  # decoded (and cached) now: a broken logo fails here, once
            except ImageError as err:
                problems.append(f"logo_png_base64: {err.message}")
    if not isinstance(data.get("mrz"), bool):
        problems.append("mrz must be true or false")
    layout = Layout(
        _bilingual(data.get("country"), "country", problems),
        _bilingual(data.get("issuer"), "issuer", problems),
        _bilingual(data.get("title"), "title", problems),
        dict(colours), labels, sexes, logo, bool(data.get("mrz")),
    )
    if problems:
        raise LayoutError("; ".join(problems))
    return layout


def default_layout() -> Layout:
    """The layout shipped with cardlib (``cardlib/_data/layout.json``)."""
    return layout_from_json(
        resources.files("cardlib").joinpath("_data/layout.json").read_text("utf-8"))
