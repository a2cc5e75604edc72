"""X-Pagination: the metadata flask-smorest documents, for every page of a list, the empty list and past the end."""

from __future__ import annotations

import json

import flask_smorest
import pytest

from app.common.api import Blueprint


@pytest.mark.parametrize(
    ("page", "page_size", "total"),
    [(1, 20, 0), (3, 20, 0), (1, 20, 1), (1, 20, 20), (1, 20, 21), (2, 20, 21), (2, 10, 35), (4, 10, 35), (9, 10, 35)],
)
def test_the_metadata_is_flask_smorests(page, page_size, total):
    ours = Blueprint._make_pagination_metadata(page, page_size, total)

    assert json.dumps(ours) == json.dumps(flask_smorest.Blueprint._make_pagination_metadata(page, page_size, total))


def test_a_list_tells_its_pages(manager):
    for n in range(5):
        assert (
            manager.post("/api/v1/customers", json={"name": f"Client {n}", "phone": f"+7916123450{n}"}).status_code
            == 201
        )

    pages = [manager.get("/api/v1/customers", query_string={"page": n, "page_size": 2}) for n in (1, 2, 3, 4)]

    assert [json.loads(page.headers["X-Pagination"]) for page in pages] == [
        {"total": 5, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 1, "next_page": 2},
        {"total": 5, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 2, "previous_page": 1, "next_page": 3},
        {"total": 5, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 3, "previous_page": 2},
        {"total": 5, "total_pages": 3, "first_page": 1, "last_page": 3},
    ]
    assert [len(page.json) for page in pages] == [2, 2, 1, 0]
