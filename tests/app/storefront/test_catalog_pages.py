"""The product listing: search, category filter, sort and pagination, as a visitor sees them."""

from __future__ import annotations

import re
from html import unescape

from dhakacart.seed_data import PRODUCTS
from flask.testing import FlaskClient

PER_PAGE = 12


def card_names(html: str) -> list[str]:
    return [unescape(n) for n in re.findall(r'<span class="product-card-name">([^<]+)</span>', html)]


def card_prices(html: str) -> list[int]:
    prices = re.findall(r'<p class="price">৳([\d,]+)\.(\d\d)</p>', html)
    return [int(taka.replace(",", "")) * 100 + int(paisa) for taka, paisa in prices]


def test_search_finds_matching_products_only(client: FlaskClient) -> None:
    html = client.get("/products?q=MANGO").text
    expected = sorted(p[2] for p in PRODUCTS if "mango" in f"{p[2]} {p[3]}".lower())
    assert len(expected) >= 2
    assert sorted(card_names(html)) == expected
    assert f"{len(expected)} products matching “MANGO”" in html


def test_search_without_matches_says_so(client: FlaskClient) -> None:
    html = client.get("/products?q=snowboard").text
    assert card_names(html) == []
    assert "Nothing matches" in html


def test_category_filter_lists_that_category_only(client: FlaskClient) -> None:
    html = client.get("/products?category=fish-seafood").text
    expected = sorted(p[2] for p in PRODUCTS if p[0] == "fish-seafood")
    assert sorted(card_names(html)) == expected
    assert "<h1>Fish &amp; Seafood</h1>" in html
    assert '<option value="fish-seafood" selected>' in html


def test_sort_by_price_orders_cards_cheapest_first(client: FlaskClient) -> None:
    prices = card_prices(client.get("/products?sort=price").text)
    assert len(prices) == PER_PAGE
    assert prices == sorted(prices)
    descending = card_prices(client.get("/products?sort=-price").text)
    assert descending == sorted(descending, reverse=True)
    assert descending[0] > prices[0]


def test_unknown_sort_falls_back_to_name(client: FlaskClient) -> None:
    response = client.get("/products?sort=DROP TABLE")
    assert response.status_code == 200
    names = card_names(response.text)
    assert names == sorted(names)


def test_pagination_walks_every_product_once(client: FlaskClient) -> None:
    seen: list[str] = []
    page_count = -(-len(PRODUCTS) // PER_PAGE)
    for page in range(1, page_count + 1):
        html = client.get(f"/products?page={page}").text
        assert f"Page {page} of {page_count}" in html
        seen += card_names(html)
    assert len(seen) == len(PRODUCTS) == len(set(seen))


def test_pagination_links_keep_the_search_and_filters(client: FlaskClient) -> None:
    html = client.get("/products?category=sarees-textiles&sort=-price&page=1").text
    # 7 sarees/textiles fit on one page: no pagination; the full catalog does paginate.
    assert 'rel="next"' not in html
    html = client.get("/products?sort=-price").text
    assert 'href="/products?page=2&amp;sort=-price"' in html


def test_out_of_range_page_shows_an_empty_page_not_an_error(client: FlaskClient) -> None:
    response = client.get("/products?page=999")
    assert response.status_code == 200
    assert card_names(response.text) == []
    response = client.get("/products?page=-3")
    assert response.status_code == 200
    assert len(card_names(response.text)) == PER_PAGE
