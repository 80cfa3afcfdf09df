"""catalog indexes: one per listing sort (alone and per category), trigram search; built without locking writes

Revision ID: 0002_catalog_indexes
Revises: 0001_initial
Create Date: 2026-12-02 17:00:00

On PostgreSQL every index is built with CREATE INDEX CONCURRENTLY inside Alembic's autocommit
block (CONCURRENTLY cannot run in a transaction): the shop keeps selling while a large catalog is
indexed. A concurrent build that failed half-way (a deploy killed mid-migration) leaves an INVALID
index under the name; it is dropped and built again, so re-running the migration repairs it.
pg_trgm is a trusted extension on PostgreSQL 13+ (RDS included): the database owner may create
it. On SQLite (development) the B-tree indexes are plain CREATE INDEX and search has no index.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_catalog_indexes'
down_revision = '0001_initial'
branch_labels = None
depends_on = None

ACTIVE = sa.text("is_active")
# (name, columns): every one partial on the active products, ending in the id tie-breaker.
LISTING_INDEXES = [
    ("ix_products_active_name_id", ["name", "id"]),
    ("ix_products_active_price_id", ["price_paisa", "id"]),
    ("ix_products_active_price_desc_id", [sa.text("price_paisa DESC"), "id"]),
    ("ix_products_active_created_id", ["created_at", "id"]),
    ("ix_products_active_category_name_id", ["category_id", "name", "id"]),
    ("ix_products_active_category_price_id", ["category_id", "price_paisa", "id"]),
    ("ix_products_active_category_price_desc_id", ["category_id", sa.text("price_paisa DESC"), "id"]),
    ("ix_products_active_category_created_id", ["category_id", "created_at", "id"]),
]
SEARCH_INDEX = "ix_products_search_trgm"
# The very expression catalog/listing.py's search_text() renders, so the planner matches it.
SEARCH_EXPRESSION = "lower((name || ' ') || description) gin_trgm_ops"
OLD_INDEX = ("ix_products_active_name", ["is_active", "name"])


def _drop_if_invalid(name):
    # A failed CONCURRENTLY build leaves an index that is not used but still maintained.
    invalid = op.get_bind().execute(sa.text(
        "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = :name AND NOT i.indisvalid"), {"name": name}).first()
    if invalid:
        op.drop_index(name, table_name="products", postgresql_concurrently=True)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        for name, columns in LISTING_INDEXES:
            op.create_index(name, "products", columns, sqlite_where=ACTIVE)
        op.drop_index(OLD_INDEX[0], table_name="products")
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.get_context().autocommit_block():
        for name, columns in LISTING_INDEXES:
            _drop_if_invalid(name)
            op.create_index(name, "products", columns, postgresql_where=ACTIVE,
                            postgresql_concurrently=True, if_not_exists=True)
        _drop_if_invalid(SEARCH_INDEX)
        op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {SEARCH_INDEX} ON products "
                   f"USING gin ({SEARCH_EXPRESSION})")
        # Superseded by ix_products_active_name_id.
        op.drop_index(OLD_INDEX[0], table_name="products", postgresql_concurrently=True, if_exists=True)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(*OLD_INDEX, table_name="products")
        for name, _ in reversed(LISTING_INDEXES):
            op.drop_index(name, table_name="products")
        return
    with op.get_context().autocommit_block():
        op.create_index(OLD_INDEX[0], "products", OLD_INDEX[1], postgresql_concurrently=True,
                        if_not_exists=True)
        op.drop_index(SEARCH_INDEX, table_name="products", postgresql_concurrently=True, if_exists=True)
        for name, _ in reversed(LISTING_INDEXES):
            op.drop_index(name, table_name="products", postgresql_concurrently=True, if_exists=True)
    # pg_trgm stays: other objects may use it, and it holds no data.
