"""The street and house of a delivery address, and nothing more: the tracking page never shows a flat, an
entrance, a floor, an intercom code, a city or a postal code.

Addresses are free text typed by managers ("Москва, ул. Ленина, д. 5, кв. 12, под. 3", "Ленина 5-12",
"Flat 3, 12 Baker Street, London"), so the helper keeps only what it recognises as a street and its house,
and shows nothing when it recognises nothing: a missing street is better than a leaked flat.
"""

from __future__ import annotations

import re

# Where the private part starts: a flat, an entrance, a floor, an office, an intercom or door code ...
PRIVATE_PART = re.compile(
    r"\b(?:кв|квартира|подъезд|под|п-д|пд|эт|этаж|домофон|код|офис|оф|комн|комната|помещение|пом"
    r"|apt|apartment|flat|unit|suite|ste|floor|fl|entrance|entr|door|intercom|buzzer|code|room|rm|office)\b\.?"
    r"|#",
    re.IGNORECASE,
)
STREET_WORD = re.compile(
    r"\b(?:ул|улица|пр|пр-т|пр-кт|просп|проспект|пер|переулок|б-р|бул|бульвар|ш|шоссе|наб|набережная|пл|площадь"
    r"|проезд|тупик|аллея|линия|мкр|микрорайон|street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way"
    r"|place|square|sq|court|ct|terrace|crescent|close|row|highway|hwy)\b",
    re.IGNORECASE,
)
# A house on its own: "д. 5", "дом 5а", "5", "5/2", "5 к 2", "house 7", "No. 12".
HOUSE = re.compile(
    r"^(?:(?:д|дом|house|no)\.?\s*)?\d+[а-яёa-z]?(?:\s*/\s*\d+[а-яёa-z]?)?"
    r"(?:\s*(?:к|корп|корпус|стр|строение|bldg|building)\.?\s*\d+[а-яёa-z]?)*$",
    re.IGNORECASE,
)
# "Ленина 5-12": Russian shorthand for house 5, flat 12.
HOUSE_DASH_FLAT = re.compile(r"(\d+[а-яёa-z]?)\s*-\s*\d+\s*$", re.IGNORECASE)
HOUSE_FIRST = re.compile(r"^\d+[a-z]?\s", re.IGNORECASE)
HOUSE_LAST = re.compile(r"\s\d+[а-яёa-z]?$", re.IGNORECASE)
HAS_LETTER = re.compile(r"[^\W\d_]")
MAX_LENGTH = 120


def _without_private(part: str) -> tuple[str, bool]:
    """The part before any flat/entrance/floor word, and whether the rest of the address goes too: a part that
    only names a flat ("Flat 3, 12 Baker Street") goes alone; one that names it after the house ends it."""
    found = PRIVATE_PART.search(part)
    if found:
        part = part[: found.start()]
    part = HOUSE_DASH_FLAT.sub(r"\1", part.strip(" \t,.;:-"))
    part = part.strip(" \t,.;:-")
    return part, found is not None and bool(part)


def _is_street(part: str) -> bool:
    return bool(HAS_LETTER.search(part)) and (bool(STREET_WORD.search(part)) or any(c.isdigit() for c in part))


def street_and_house(address: str | None) -> str | None:
    """ "ул. Ленина, д. 5" out of "Москва, ул. Ленина, д. 5, кв. 12, под. 3"; None when no street is found."""
    if not address:
        return None
    parts: list[str] = []
    for raw in re.split(r"[,;\n]", address):
        part, private_follows = _without_private(raw)
        if part:
            parts.append(part)
        if private_follows:
            break  # whatever comes after a flat or an entrance is no street of ours
    for index, part in enumerate(parts):
        if HOUSE.match(part) or not _is_street(part):
            continue
        shown = part
        numbered = HOUSE_FIRST.match(part) or HOUSE_LAST.search(part)  # "12 Baker Street", "Тверская 7"
        if index + 1 < len(parts) and HOUSE.match(parts[index + 1]) and not numbered:
            shown = f"{part}, {parts[index + 1]}"
        return shown[:MAX_LENGTH]
    return None
