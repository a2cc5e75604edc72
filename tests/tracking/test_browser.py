"""The tracking page in a real browser (headless chromium at a phone's size) against a real server on the
test database: in Russian and in English, on the way, then delivered while the page is open (it polls and
updates itself), then expired (410); the Content-Security-Policy holds (no console errors)."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import literal_column, update

from app.extensions import db
from app.orders.models import OrderStatusChange
from tests.production.workshop import DELIVERIES, ok
from tests.tracking.browser import (
    chromium,
    console_errors,
    images_loaded,
    require_chromium,
    screenshot,
    served,
    wait_for,
)
from tests.tracking.flow import STREET_AND_HOUSE, bouquet_photo, on_the_way

pytestmark = pytest.mark.committed  # the server thread reads what the test wrote over its own connection


def _picture(colour: tuple[int, int, int], size=(640, 480)) -> bytes:
    """A photo stand-in that looks like something in a screenshot: flowers on a soft background."""
    image = Image.new("RGB", size, (246, 238, 240))
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle((width * 0.44, height * 0.55, width * 0.56, height), fill=(86, 140, 70))
    for index, (x, y) in enumerate([(0.5, 0.35), (0.38, 0.42), (0.62, 0.42), (0.44, 0.25), (0.56, 0.25)]):
        r = 70 - index * 4
        shade = tuple(max(0, c - index * 12) for c in colour)
        draw.ellipse((width * x - r, height * y - r, width * x + r, height * y + r), fill=shade)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


@pytest.fixture
def browser_app(app):
    require_chromium()
    previous = app.config["TRACKING_POLL_SECONDS"]
    app.config["TRACKING_POLL_SECONDS"] = 1  # the page checks every second here, every 20 s in real life
    yield app
    app.config["TRACKING_POLL_SECONDS"] = previous


@pytest.mark.parametrize(
    ("country", "zone", "on_the_way_text", "delivered_text", "gone_text"),
    [
        ("RU", "Europe/Moscow", "Курьер в пути", "Доставлен в ", "Ссылка больше не действует"),
        ("GB", "Europe/London", "The courier is on the way", "Delivered at ", "This link has expired"),
    ],
    ids=["ru", "en"],
)
def test_the_page_follows_the_order_to_the_door_and_then_expires(
    browser_app, shop, front, boss, as_role, tmp_media, country, zone, on_the_way_text, delivered_text, gone_text
):
    shop.country, shop.timezone = country, zone
    shop.name = "Цветы на Тверской" if country == "RU" else "Bloom & Stem"
    shop.settings = {
        **(shop.settings or {}),
        "public_phone": "+7 495 123-45-67" if country == "RU" else "+44 20 7946 0000",
    }
    db.session.commit()
    tracked = on_the_way(front, boss, as_role, with_bouquet_photo=False)
    ok(bouquet_photo(boss, tracked.task_id, _picture((214, 70, 110))))
    language = country == "RU" and "ru" or "en"

    with served(browser_app) as base, chromium() as driver:
        driver.get(f"{base}{tracked.path}")
        assert wait_for(driver, "#on-the-way").text == on_the_way_text
        assert driver.find_element("css selector", "html").get_attribute("lang") == language
        assert STREET_AND_HOUSE in driver.find_element("css selector", "#address").text
        assert driver.find_element("css selector", "#bouquet img").is_displayed()
        assert all(images_loaded(driver))
        # Made for a phone: nothing wider than the screen.
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        if language == "ru":
            screenshot(driver, "tracking-ru")

        # The courier hands the flowers over while the customer looks at the page.
        ok(
            tracked.courier.put(
                f"{DELIVERIES}/{tracked.order_id}/photo",
                data={"photo": (io.BytesIO(_picture((240, 180, 60))), "door.jpg")},
                content_type="multipart/form-data",
            )
        )
        ok(tracked.courier.post(f"{DELIVERIES}/{tracked.order_id}/deliver", json={}))

        delivered = wait_for(driver, "#delivered", timeout=20)  # no reload by hand: the page polls
        assert delivered.text.startswith(delivered_text)
        assert driver.find_element("css selector", "#proof img").is_displayed()
        assert all(images_loaded(driver)) and len(images_loaded(driver)) == 2
        steps = [li.text for li in driver.find_elements("css selector", "#timeline li")]
        assert len(steps) == 6 and delivered_text.split()[0] in steps[0]
        if language == "en":
            screenshot(driver, "tracking-en")

        # Fifteen days later the link has died: the open page turns into the 410 page by itself.
        db.session.execute(
            update(OrderStatusChange)
            .where(OrderStatusChange.order_id == tracked.order_id)
            .values(created_at=OrderStatusChange.created_at - literal_column("interval '15 days'"))
        )
        db.session.commit()
        assert wait_for(driver, "#gone", timeout=20).text == gone_text
        assert driver.find_element("css selector", "html").get_attribute("lang") == language

        driver.get(f"{base}/t/{'n' * 32}")
        assert wait_for(driver, "#not-found").text == "Ссылка не найдена"

        errors = console_errors(driver)
        # The 410 and 404 pages answer with those statuses: the console names them; nothing else may be there.
        problems = [e for e in errors if "410" not in e and "404" not in e]
        assert problems == [], problems
        assert not any("Content Security Policy" in e or "Refused to" in e for e in errors), errors


def test_the_page_loads_nothing_from_elsewhere_and_no_inline_code(browser_app, shop, front, boss, as_role, tmp_media):
    tracked = on_the_way(front, boss, as_role)
    with served(browser_app) as base, chromium() as driver:
        driver.get(f"{base}{tracked.path}")
        wait_for(driver, "#on-the-way")
        resources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(function (r) { return r.name; });"
        )
        assert resources and all(name.startswith(base) for name in resources), resources
        # An injected inline script is refused by the policy, and the browser says so.
        driver.execute_script(
            "var s = document.createElement('script'); s.textContent = 'window.__ran = 1;';"
            " document.body.appendChild(s);"
        )
        assert driver.execute_script("return window.__ran === undefined")
        assert any("Content Security Policy" in e for e in console_errors(driver))
