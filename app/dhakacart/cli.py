"""Command-line tasks: `flask --app dhakacart seed` and `flask --app dhakacart create-admin EMAIL`."""

from __future__ import annotations

import os

import click
from flask import Flask
from sqlalchemy import func, select

from .accounts import service as accounts
from .errors import AppError
from .extensions import db
from .models import Category, Product, User
from .money import parse_amount
from .seed_data import CATEGORIES, PRODUCTS, category_image_url


def seed_catalog() -> tuple[int, int]:
    """Insert missing demo categories and products; existing rows are left as they are.

    Returns (categories created, products created); running it again creates nothing.
    """
    created_categories = created_products = 0
    categories = {c.slug: c for c in db.session.scalars(select(Category))}
    for slug, name, description in CATEGORIES:
        if slug not in categories:
            categories[slug] = Category(slug=slug, name=name, description=description)
            db.session.add(categories[slug])
            created_categories += 1
    existing = set(db.session.scalars(select(Product.slug)))
    for category_slug, slug, name, description, price, stock in PRODUCTS:
        if slug in existing:
            continue
        db.session.add(
            Product(slug=slug, name=name, description=description, price_paisa=parse_amount(price),
                    stock=stock, category=categories[category_slug],
                    image_url=category_image_url(category_slug))
        )
        created_products += 1
    db.session.commit()
    return created_categories, created_products


def register_cli(app: Flask) -> None:
    @app.cli.command("seed")
    @click.option("--products", "total", type=click.IntRange(min=0, max=5_000_000), default=None,
                  help="Also generate products until the catalog holds at least this many "
                       "(Bangla and English names; reproducible: the same rows for the same --seed).")
    @click.option("--seed", "seed", type=int, default=16, show_default=True,
                  help="Random seed of the generated products.")
    def seed_command(total: int | None, seed: int) -> None:
        """Load the demo catalog (idempotent), and with --products N a large generated one."""
        categories, products = seed_catalog()
        click.echo(f"seeded {categories} categories and {products} products "
                   f"({len(CATEGORIES)} categories and {len(PRODUCTS)} products in the catalog)")
        if total is not None:
            from .catalog_generator import generate_catalog

            created = generate_catalog(total, seed)
            count = db.session.scalar(select(func.count(Product.id)))
            click.echo(f"generated {created} products (seed {seed}); the catalog holds {count}")

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--name", default="DhakaCart Admin", show_default=True)
    @click.option("--phone", default="+8801700000000", show_default=True,
                  help="Bangladeshi mobile number of the admin.")
    def create_admin_command(email: str, name: str, phone: str) -> None:
        """Create an admin (or promote an existing account). Password from ADMIN_PASSWORD or a prompt."""
        password = os.environ.get("ADMIN_PASSWORD") or click.prompt(
            "Password", hide_input=True, confirmation_prompt=True
        )
        try:
            email_normalized = accounts.normalize_email(email)
            user = db.session.scalar(select(User).where(User.email == email_normalized))
            if user is None:
                user = accounts.register_user(email, password, name, phone, role="admin")
                click.echo(f"created admin {user.email} (id {user.id})")
            else:
                user.role = "admin"
                accounts.set_password(user, password)
                click.echo(f"promoted {user.email} (id {user.id}) to admin and set the password")
        except AppError as exc:
            details = "; ".join(f"{d['field']}: {d['message']}" for d in (exc.details or []))
            raise click.ClickException(f"{exc.message}{': ' + details if details else ''}") from None
