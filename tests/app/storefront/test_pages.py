"""Every storefront page renders, for a visitor and for a customer, as accessible, CSP-clean HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient

from tests.support.storefront_forms import add_to_cart, checkout_form

PUBLIC_PAGES = ["/", "/products", "/products?q=mango", "/products/padma-hilsa-1kg", "/login", "/register"]
CUSTOMER_PAGES = ["/cart", "/checkout", "/account/orders"]


class PageAudit(HTMLParser):
    """Collects what the accessibility and CSP checks need from one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_styles: list[str] = []
        self.inline_scripts = 0
        self.style_blocks = 0
        self.event_handlers: list[str] = []
        self.images_without_alt: list[str] = []
        self.controls: list[dict[str, str]] = []
        self.label_targets: set[str] = set()
        self.ids: list[str] = []
        self.assets: list[str] = []
        self.lang = None
        self.has_main = False
        self.h1_count = 0
        self._in_script_without_src = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if "style" in a:
            self.inline_styles.append(f"<{tag} style={a['style']!r}>")
        self.event_handlers += [f"<{tag} {name}>" for name in a if name.startswith("on")]
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "main":
            self.has_main = True
        elif tag == "h1":
            self.h1_count += 1
        elif tag == "script":
            if "src" in a:
                self.assets.append(a["src"])
            else:
                self.inline_scripts += 1
        elif tag == "style":
            self.style_blocks += 1
        elif tag == "img":
            if "alt" not in a:
                self.images_without_alt.append(a.get("src", "?"))
            self.assets.append(a["src"])
        elif tag == "link" and a.get("rel") in ("stylesheet", "icon"):
            self.assets.append(a["href"])
        elif tag == "label" and "for" in a:
            self.label_targets.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append(a)


def audit(html: str) -> PageAudit:
    parser = PageAudit()
    parser.feed(html)
    return parser


def assert_accessible_and_csp_clean(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    assert response.mimetype == "text/html"
    page = audit(response.text)
    assert page.lang == "en"
    assert page.has_main and page.h1_count == 1, f"{url}: one <main> and exactly one <h1>"
    assert 'class="skip-link" href="#main"' in response.text
    # The CSP has no 'unsafe-inline': inline styles, scripts and handlers would be blocked.
    assert page.inline_styles == [] and page.style_blocks == 0, page.inline_styles
    assert page.inline_scripts == 0 and page.event_handlers == []
    assert page.images_without_alt == [], f"{url}: images without alt text"
    for control in page.controls:
        labelled = control.get("id") in page.label_targets or control.get("aria-label")
        assert labelled, f"{url}: form control without a label: {control}"
    assert len(page.ids) == len(set(page.ids)), f"{url}: duplicate ids"
    for asset in page.assets:
        assert asset.startswith("/static/"), f"{url}: {asset} is not bundled (no CDN)"
        assert client.get(asset).status_code == 200, f"{url}: {asset} is missing"


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_render_accessible_csp_clean_html(client: FlaskClient, url: str) -> None:
    assert_accessible_and_csp_clean(client, url)


@pytest.mark.parametrize("url", CUSTOMER_PAGES)
def test_customer_pages_render_accessible_csp_clean_html(client: FlaskClient, customer, url: str) -> None:
    add_to_cart(client, "tangail-cotton-saree")
    assert_accessible_and_csp_clean(client, url)


def test_order_page_renders_accessible_csp_clean_html(client: FlaskClient, customer) -> None:
    add_to_cart(client, "tangail-cotton-saree")
    placed = client.post("/checkout", data=checkout_form(client))
    assert_accessible_and_csp_clean(client, placed.headers["Location"])


def test_home_shows_every_category_and_featured_products(client: FlaskClient) -> None:
    from dhakacart.seed_data import CATEGORIES

    html = client.get("/").text
    for slug, name, _ in CATEGORIES:
        assert f'href="/products?category={slug}"' in html
        assert f"/static/img/categories/{slug}.svg" in html
        assert name.replace("&", "&amp;") in html
    assert html.count('class="product-card"') == 8


def test_prices_are_shown_in_taka_with_thousands_separators(client: FlaskClient) -> None:
    html = client.get("/products/dhakai-jamdani-saree-red").text
    assert "৳18,500.00" in html  # seeded at "18500.00" taka
    assert "18500" not in html


def test_unknown_product_is_a_404_page(client: FlaskClient) -> None:
    response = client.get("/products/no-such-thing")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("url", ["/", "/products", "/login", "/products/padma-hilsa-1kg"])
def test_pages_carry_the_security_headers(client: FlaskClient, url: str) -> None:
    headers = client.get(url).headers
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]


def test_category_illustrations_exist_for_every_seeded_category(client: FlaskClient) -> None:
    from dhakacart.seed_data import CATEGORIES

    for slug, _, _ in CATEGORIES:
        response = client.get(f"/static/img/categories/{slug}.svg")
        assert response.status_code == 200, slug
        assert response.mimetype == "image/svg+xml"


def test_home_features_products_from_several_categories(client: FlaskClient) -> None:
    categories = re.findall(r'<span class="product-card-category">([^<]+)</span>', client.get("/").text)
    assert len(categories) == 8
    assert len(set(categories)) >= 6  # the seed has 7 categories; the window shows the range


def test_error_pages_use_the_shop_layout_and_say_what_happened(client: FlaskClient) -> None:
    html = client.get("/products/no-such-thing").text
    assert "<h1>Page not found</h1>" in html
    assert 'class="skip-link"' in html and "Back to the shop" in html
