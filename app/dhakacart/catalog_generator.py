"""A reproducible large catalog for benchmarks and tests: `flask --app dhakacart seed --products N`.

Product number k (1, 2, ...) is a pure function of (k, seed): the same command makes the same rows
on every machine, and a larger N only appends (seeding 1,000 and then 100,000 gives the first 1,000
of the 100,000). About a third of the names are in Bangla (বাংলা), the rest in English, all from
the demo catalog's seven categories, with taka prices, stock (some sold out) and creation times
spread over two years, so every filter and sort has realistic work to do.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from .extensions import db
from .models import Category, Product
from .seed_data import category_image_url

SLUG_PREFIX = "gen-"  # generated products' slugs: gen-<k>-<english words>
BANGLA_SHARE = 0.35
BATCH = 2_000
EPOCH = datetime(2024, 12, 1, tzinfo=UTC)  # creation times fall in the two years after this

# category slug -> (items as (English, Bangla), price range in taka)
ITEMS: dict[str, tuple[list[tuple[str, str]], tuple[int, int]]] = {
    "sarees-textiles": ([("Jamdani Saree", "জামদানি শাড়ি"), ("Tangail Saree", "টাঙ্গাইল শাড়ি"),
                         ("Silk Saree", "রেশম শাড়ি"), ("Cotton Panjabi", "সুতি পাঞ্জাবি"),
                         ("Gamcha", "গামছা"), ("Lungi", "লুঙ্গি"), ("Shawl", "শাল"),
                         ("Nakshi Orna", "নকশি ওড়না")], (300, 25_000)),
    "fish-seafood": ([("Hilsa", "ইলিশ মাছ"), ("Rui Fish", "রুই মাছ"), ("Golda Prawns", "গলদা চিংড়ি"),
                      ("Bagda Shrimp", "বাগদা চিংড়ি"), ("Pabda Fish", "পাবদা মাছ"),
                      ("Loitta Shutki", "লইট্টা শুটকি"), ("Koi Fish", "কই মাছ")], (250, 4_000)),
    "fruits": ([("Himsagar Mango", "হিমসাগর আম"), ("Langra Mango", "ল্যাংড়া আম"), ("Lychee", "লিচু"),
                ("Jackfruit", "কাঁঠাল"), ("Guava", "পেয়ারা"), ("Orange", "কমলা"),
                ("Banana", "কলা"), ("Pineapple", "আনারস")], (80, 2_500)),
    "handicrafts": ([("Nakshi Kantha", "নকশি কাঁথা"), ("Jute Bag", "পাটের ব্যাগ"),
                     ("Shital Pati", "শীতল পাটি"), ("Terracotta Plaque", "পোড়ামাটির ফলক"),
                     ("Brass Bowl", "পিতলের বাটি"), ("Bamboo Basket", "বাঁশের ঝুড়ি"),
                     ("Rickshaw Art Tray", "রিকশা আর্ট ট্রে")], (150, 12_000)),
    "tea-spices": ([("Black Tea", "কালো চা"), ("Green Tea", "সবুজ চা"), ("Red Chilli Powder", "মরিচ গুঁড়া"),
                    ("Turmeric Powder", "হলুদ গুঁড়া"), ("Panch Phoron", "পাঁচফোড়ন"),
                    ("Cumin", "জিরা"), ("Cardamom", "এলাচ")], (60, 1_500)),
    "sweets-snacks": ([("Roshogolla", "রসগোল্লা"), ("Mishti Doi", "মিষ্টি দই"), ("Chomchom", "চমচম"),
                       ("Sandesh", "সন্দেশ"), ("Chanachur", "চানাচুর"), ("Pitha", "পিঠা"),
                       ("Jilapi", "জিলাপি")], (50, 1_200)),
    "rice-grocery": ([("Chinigura Rice", "চিনিগুড়া চাল"), ("Kalijira Rice", "কালিজিরা চাল"),
                      ("Miniket Rice", "মিনিকেট চাল"), ("Mustard Oil", "সরিষার তেল"),
                      ("Khejur Gur", "খেজুর গুড়"), ("Honey", "মধু"), ("Moshur Dal", "মসুর ডাল")],
                     (60, 2_000)),
}
# (English, Bangla) places the goods come from.
ORIGINS = [("Dhaka", "ঢাকা"), ("Rajshahi", "রাজশাহী"), ("Sylhet", "সিলেট"), ("Khulna", "খুলনা"),
           ("Bogura", "বগুড়া"), ("Chattogram", "চট্টগ্রাম"), ("Tangail", "টাঙ্গাইল"), ("Natore", "নাটোর"),
           ("Dinajpur", "দিনাজপুর"), ("Jessore", "যশোর"), ("Barishal", "বরিশাল"), ("Cumilla", "কুমিল্লা")]
QUALITIES = [("Premium", "প্রিমিয়াম"), ("Fresh", "তাজা"), ("Classic", "ক্লাসিক"), ("Organic", "অর্গানিক"),
             ("Handmade", "হাতে তৈরি"), ("Family Pack", "পারিবারিক প্যাক"), ("Festive", "উৎসবের")]
SIZES = ["250 g", "500 g", "1 kg", "2 kg", "5 kg", "1 pc", "2 pcs", "Pair", "Set of 3", "Large"]


def _slug_words(text: str) -> str:
    return "-".join("".join(c for c in word.lower() if c.isascii() and c.isalnum())
                    for word in text.split() if any(c.isascii() and c.isalnum() for c in word))


def generated_product(k: int, seed: int, category_slugs: list[str]) -> dict[str, Any]:
    """Product number k (1-based) of the catalog made with `seed`: the same values every time."""
    rng = random.Random(f"{seed}:{k}")  # noqa: S311 (test data: reproducible on purpose, not secret)
    category = category_slugs[rng.randrange(len(category_slugs))]
    items, (low, high) = ITEMS[category]
    english_item, bangla_item = rng.choice(items)
    english_origin, bangla_origin = rng.choice(ORIGINS)
    english_quality, bangla_quality = rng.choice(QUALITIES)
    size = rng.choice(SIZES)
    english_name = f"{english_quality} {english_origin} {english_item} ({size})"
    if rng.random() < BANGLA_SHARE:
        name = f"{bangla_quality} {bangla_origin} {bangla_item} ({size})"
        description = f"{bangla_origin} থেকে {bangla_item}: {english_name}."
    else:
        name = english_name
        description = (f"{english_quality} {english_item.lower()} from {english_origin}, {size}; "
                       f"{bangla_item}.")
    price_taka = rng.randint(low, high)
    return {
        "category": category,
        "slug": f"{SLUG_PREFIX}{k}-{_slug_words(english_name)}"[:120].rstrip("-"),
        "name": name[:200],
        "description": description,
        "price_paisa": (price_taka * 100) // 500 * 500 or 500,  # whole 5 taka, never free
        "stock": 0 if rng.random() < 0.05 else rng.randint(1, 500),
        "created_at": EPOCH + timedelta(seconds=rng.randrange(2 * 365 * 24 * 3600)),
    }


def _rows(first: int, last: int, seed: int, categories: dict[str, int]) -> Iterator[dict[str, Any]]:
    slugs = sorted(categories)
    for k in range(first, last + 1):
        product = generated_product(k, seed, slugs)
        category = product.pop("category")
        yield {**product, "category_id": categories[category], "image_url": category_image_url(category),
               "is_active": True, "updated_at": product["created_at"]}


def generate_catalog(products: int, seed: int = 16, progress=None) -> int:
    """Add generated products until the catalog holds at least `products` in all; return how many.

    Needs the demo categories (seed_catalog() first). Rows go in batches of BATCH with one
    executemany each (psycopg pipelines them), so 100,000 products take seconds, not minutes.
    """
    categories = {slug: cid for cid, slug in db.session.execute(select(Category.id, Category.slug))}
    missing = sorted(set(ITEMS) - set(categories))
    if missing:
        raise RuntimeError(f"categories {missing} are missing: run `flask --app dhakacart seed` first")
    existing = db.session.scalar(select(func.count(Product.id))) or 0
    generated = db.session.scalar(
        select(func.count(Product.id)).where(Product.slug.like(f"{SLUG_PREFIX}%"))) or 0
    wanted = max(0, products - existing)
    first, last = generated + 1, generated + wanted
    created = 0
    batch: list[dict[str, Any]] = []
    for row in _rows(first, last, seed, categories):
        batch.append(row)
        if len(batch) == BATCH:
            created += _insert(batch, progress)
            batch = []
    if batch:
        created += _insert(batch, progress)
    return created


def _insert(batch: list[dict[str, Any]], progress) -> int:
    db.session.execute(insert(Product), batch)
    db.session.commit()
    if progress:
        progress(len(batch))
    return len(batch)
