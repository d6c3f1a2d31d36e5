"""The holder record: the card's "information bag", as immutable values."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, fields, replace
from datetime import date
from enum import IntEnum


class Sex(IntEnum):
    """Sex as on the national number's first digit (Claim 169 gender 1 and 2)."""

    MALE = 1
    FEMALE = 2


class HolderCategory(IntEnum):
    CITIZEN = 1
    RESIDENT = 2


class PhotoFormat(IntEnum):
    """Claim 169 photoFormat values."""

    JPEG = 1
    JPEG2000 = 2
    AVIF = 3
    WEBP = 4


@dataclass(frozen=True, slots=True)
class FourPartName:
    """A four-part name: first, father's, grandfather's and family name."""

    first: str
    father: str
    grandfather: str
    family: str

    @property
    def parts(self) -> tuple[str, str, str, str]:
        return (self.first, self.father, self.grandfather, self.family)

    @property
    def full(self) -> str:
        return " ".join(self.parts)


@dataclass(frozen=True, slots=True)
class HolderRecord:
    """Everything a card carries about its holder.

    Citizens carry ``national_number``; foreign residents carry ``admin_number`` instead.
    Build one with :func:`cardlib.record_from_json` (which reports every problem at once) or
    directly; :func:`cardlib.issue` validates it before signing.
    """

    category: HolderCategory
    name_ar: FourPartName
    name_latin: FourPartName
    mother_name_ar: str
    date_of_birth: date
    place_of_birth: str
    sex: Sex
    nationality: str
    address: str
    document_number: str
    centre_code: str
    issue_date: date
    expiry_date: date
    national_number: str | None = None
    admin_number: str | None = None
    mother_name_latin: str | None = None
    phone: str | None = None
    email: str | None = None
    photo: bytes | None = None
    photo_format: PhotoFormat | None = None

    def normalised(self) -> HolderRecord:
        """This record with every text value in Unicode NFC (what :func:`cardlib.issue` signs)."""
        changes: dict[str, object] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, str):
                changes[spec.name] = unicodedata.normalize("NFC", value)
            elif isinstance(value, FourPartName):
                changes[spec.name] = FourPartName(*(
                    unicodedata.normalize("NFC", part) if isinstance(part, str) else part
                    for part in value.parts
                ))
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def identifier(self) -> str:
        """The holder's number: national number (citizen) or administrative number (resident)."""
        number = (
            self.national_number if self.category is HolderCategory.CITIZEN else self.admin_number
        )
        return number or ""
