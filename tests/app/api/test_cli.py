"""`flask --app dhakacart seed` and `create-admin EMAIL`."""

from pathlib import Path

import dhakacart
from dhakacart.extensions import db
from dhakacart.models import Category, Product, User
from sqlalchemy import func, select

STATIC = Path(dhakacart.__file__).parent / "static"


def counts(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count(Category.id))),
            db.session.scalar(select(func.count(Product.id))),
        )


def test_seed_loads_the_bangladeshi_catalog_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    categories, products = counts(app)
    assert categories >= 6 and products >= 40
    again = runner.invoke(args=["seed"])
    assert again.exit_code == 0 and "seeded 0 categories and 0 products" in again.output
    assert counts(app) == (categories, products)


def test_seeded_products_have_taka_prices_stock_and_bundled_images(app):
    app.test_cli_runner().invoke(args=["seed"])
    with app.app_context():
        for product in db.session.scalars(select(Product)):
            assert product.price_paisa > 0 and product.stock > 0
            assert product.image_url == f"/static/img/categories/{product.category.slug}.svg"
            assert (STATIC / product.image_url.removeprefix("/static/")).is_file(), product.image_url


def test_create_admin_with_password_from_the_environment(app, client):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "Boss@Example.com"], env={"ADMIN_PASSWORD": "very-secret-pass"}
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(User.role).where(User.email == "boss@example.com")) == "admin"
    login = client.post(
        "/api/v1/auth/login", json={"email": "boss@example.com", "password": "very-secret-pass"}
    )
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    assert client.get("/api/v1/admin/orders", headers=headers).status_code == 200


def test_create_admin_prompts_and_promotes_an_existing_customer(app, customer):
    result = app.test_cli_runner().invoke(
        args=["create-admin", customer.email],
        input="new-admin-pass\nnew-admin-pass\n",
        env={"ADMIN_PASSWORD": ""},
    )
    assert result.exit_code == 0, result.output
    assert "promoted" in result.output
    with app.app_context():
        assert db.session.scalar(select(User.role).where(User.id == customer.user_id)) == "admin"


def test_create_admin_explains_bad_input(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "not-an-email"], env={"ADMIN_PASSWORD": "very-secret-pass"}
    )
    assert result.exit_code != 0
    assert "invalid e-mail address" in result.output
    short = app.test_cli_runner().invoke(
        args=["create-admin", "a@example.com"], env={"ADMIN_PASSWORD": "short"}
    )
    assert short.exit_code != 0 and "password" in short.output
