"""The tracking page's address: the street and the house at most, never the flat, the entrance, the floor,
the intercom code, the city or the postal code; nothing at all when no street is recognised."""

from __future__ import annotations

import pytest

from app.tracking.address import street_and_house


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("Москва, ул. Ленина, д. 5, кв. 12, под. 3", "ул. Ленина, д. 5"),
        ("Москва, ул. Тверская, д. 7, кв. 45, подъезд 3, этаж 9, домофон 45К", "ул. Тверская, д. 7"),
        ("123456, г. Москва, Тверская 7 кв 3 домофон 12", "Тверская 7"),
        ("Ленина 5-12", "Ленина 5"),  # house 5, flat 12
        ("ул. Ленина, 5, 12", "ул. Ленина, 5"),  # an unnamed number after the house is a flat
        ("Москва, 3-я улица Строителей, 25, кв. 12", "3-я улица Строителей, 25"),
        ("Москва, Ленинский проспект, д. 5 к. 2, подъезд 4, этаж 7", "Ленинский проспект, д. 5 к. 2"),
        ("СПб, Невский пр., 28, оф. 5", "Невский пр, 28"),
        ("кв. 12, ул. Ленина, 5", "ул. Ленина, 5"),
        ("ул. Подольская, 10", "ул. Подольская, 10"),  # "под" inside a word is no entrance
        ("Moscow, Arbat 10, flat 5", "Arbat 10"),
        ("12 Baker Street, Apt 4B, London", "12 Baker Street"),
        ("Flat 3, 12 Baker Street, London", "12 Baker Street"),
        ("12 Baker Street, 4", "12 Baker Street"),
        ("221B Baker St #4, London NW1", "221B Baker St"),
        ("12 Baker Street; entrance from the yard; code 1234", "12 Baker Street"),
        ("Москва", None),
        ("123456", None),
        ("", None),
        (None, None),
    ],
)
def test_only_the_street_and_the_house_are_kept(address, shown):
    assert street_and_house(address) == shown


def test_what_is_shown_is_never_long():
    assert len(street_and_house("ул. " + "Очень" * 60 + " 5")) <= 120
