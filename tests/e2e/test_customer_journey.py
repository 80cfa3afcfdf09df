"""A new customer's whole journey in real headless Chromium against the shop under gunicorn:
browse -> search -> product -> add to cart (registering on the way) -> cart -> checkout ->
confirmation -> my orders. Each step asserts what a person sees; any console error, page error or
failed request fails the test (see the `page` fixture).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_new_customer_browses_searches_buys_and_finds_the_order(page: Page, screenshots_dir: Path) -> None:
    # Home: categories and featured products.
    page.goto("/")
    expect(page).to_have_title(re.compile("DhakaCart"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fresh from the haor")
    categories = page.get_by_role("region", name="Shop by category")
    expect(categories.get_by_role("link", name="Fish & Seafood")).to_be_visible()
    expect(page.get_by_role("region", name="Featured products").locator(".product-card")).to_have_count(8)
    expect(page.get_by_test_id("cart-count")).to_have_text("0")
    page.screenshot(path=str(screenshots_dir / "home.png"), full_page=True)

    # Browse a category.
    categories.get_by_role("link", name="Fish & Seafood").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fish & Seafood")
    expect(page.locator(".product-card-name")).to_contain_text(["Padma Hilsa (1 kg)"], ignore_case=False)

    # Search from the header.
    search = page.get_by_role("search").get_by_label("Search products")
    search.fill("hilsa")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/products\?q=hilsa"))
    expect(page.get_by_role("status").filter(has_text="matching")).to_contain_text("matching “hilsa”")
    expect(page.locator(".product-card-name")).to_have_text(
        ["Chandpur Hilsa (Pair, 1.5 kg)", "Padma Hilsa (1 kg)"]
    )

    # The product page.
    page.get_by_role("link", name=re.compile("Padma Hilsa")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Padma Hilsa (1 kg)")
    expect(page.locator(".price-large")).to_have_text("৳2,200.00")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()

    # Not logged in: the shop asks to log in, and the customer registers instead.
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("status").filter(has_text="log in")).to_have_text("Please log in first.")
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
    email = f"ayesha.{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("Full name").fill("Ayesha Siddiqua")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mobile number").fill("01712 345678")
    page.get_by_label("Password", exact=True).fill("jamdani-and-hilsa")
    page.get_by_label("Repeat password").fill("jamdani-and-hilsa")
    page.get_by_role("button", name="Create account").click()

    # Back on the product, logged in.
    expect(page.get_by_role("heading", level=1)).to_have_text("Padma Hilsa (1 kg)")
    expect(page.get_by_text("Welcome to DhakaCart, Ayesha Siddiqua!")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="My orders")).to_be_visible()
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()

    # The cart.
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
    expect(page.get_by_text("Added 2 × Padma Hilsa (1 kg) to your cart.")).to_be_visible()  # noqa: RUF001
    expect(page.get_by_test_id("cart-count")).to_have_text("2")
    expect(page.get_by_test_id("cart-total")).to_have_text("৳4,400.00")
    page.get_by_label("Quantity of Padma Hilsa (1 kg)").fill("3")
    page.get_by_role("button", name="Update Padma Hilsa (1 kg)").click()
    expect(page.get_by_text("Cart updated.")).to_be_visible()
    expect(page.get_by_test_id("cart-total")).to_have_text("৳6,600.00")
    page.get_by_role("link", name="Proceed to checkout").click()

    # Checkout: name and phone come from the account; the rest is typed.
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    expect(page.get_by_label("Recipient's name")).to_have_value("Ayesha Siddiqua")
    expect(page.get_by_label("Mobile number")).to_have_value("+8801712345678")
    page.get_by_label("Address").fill("Flat 4B, House 27, Road 11, Banani")
    page.get_by_label("City or district").fill("Dhaka")
    page.get_by_label("Postal code").fill("1213")
    expect(page.get_by_label("Cash on delivery")).to_be_checked()
    page.get_by_role("button", name=re.compile(r"Place order · ৳6,600\.00")).click()

    # Confirmation.
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"Thank you! Order #\d+ is placed"))
    order_number = re.search(r"#(\d+)", heading.inner_text()).group(1)
    expect(page.get_by_test_id("order-total")).to_have_text("৳6,600.00")
    expect(page.get_by_text("Flat 4B, House 27, Road 11, Banani")).to_be_visible()
    expect(page.get_by_test_id("cart-count")).to_have_text("0")
    page.screenshot(path=str(screenshots_dir / "confirmation.png"), full_page=True)

    # My orders.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My orders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My orders")
    row = page.get_by_role("row").filter(has_text=f"Order #{order_number}")
    expect(row).to_contain_text("Pending")
    expect(row).to_contain_text("৳6,600.00")

    # And out again.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")).to_be_visible()


def test_keyboard_users_can_skip_straight_to_the_content(page: Page) -> None:
    page.goto("/products")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#main$"))
    expect(page.locator("main")).to_be_focused()


def test_pages_fit_a_phone_screen_without_sideways_scrolling(page: Page, screenshots_dir: Path) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    for path in ("/", "/products", "/products/dhakai-jamdani-saree-red", "/login"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than a 375px phone screen"
    page.goto("/")
    page.screenshot(path=str(screenshots_dir / "home-phone.png"), full_page=True)
