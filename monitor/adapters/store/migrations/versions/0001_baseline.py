"""Baseline: the schema of media-monitor at commit 2e02678, the last made without migrations.

On a new database it creates every table. On a database made by earlier code
(never stamped: ``monitor db upgrade`` runs this revision on it) it adopts what is
there, keeping every row: tables added since are created, columns and indexes added
by hand-written schema changes since are added (feed.item_hashes,
article.matched_prefix, ix_delivery_article_id), and the leftovers of older code go
(the ``story_key`` table, unread since story_band replaced it, and the B-tree
``ix_story_band_published`` that the BRIN index replaced).

The tables are written out here, not imported from the models: this revision must
stay what it is when the models change.

Revision ID: 0001
Revises:
Create Date: 2025-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Str = sa.String
Time = sa.DateTime(timezone=True)
schema = sa.MetaData()


def _col(name, type_, nullable=False, **kw):
    return sa.Column(name, type_, nullable=nullable, **kw)


sa.Table(
    "feed", schema,
    _col("id", sa.Integer, primary_key=True),
    _col("url", Str(2048), unique=True),
    _col("name", Str),
    _col("language", Str, True),
    _col("tags", sa.JSON),
    _col("interval", sa.Integer),
    _col("enabled", sa.Boolean),
    _col("updates", sa.Boolean),
    _col("fulltext", sa.Boolean),
    _col("next_poll_at", Time, index=True),
    _col("last_polled_at", Time, True),
    _col("last_success_at", Time, True),
    _col("last_error", Str, True),
    _col("last_status", sa.Integer, True),
    _col("consecutive_failures", sa.Integer),
    _col("etag", Str, True),
    _col("last_modified", Str, True),
    _col("body_hash", Str, True),
    _col("item_hashes", sa.LargeBinary, True),
    _col("articles_seen", sa.Integer),
    _col("created_at", Time),
)
sa.Table(
    "article", schema,
    _col("id", sa.Integer, primary_key=True),
    _col("key", Str(1100), unique=True),
    _col("feed_id", sa.Integer, index=True),
    _col("guid", Str, True),
    _col("url", Str),
    _col("title", Str),
    _col("text", Str),
    _col("author", Str, True),
    _col("published_at", Time, True),
    _col("language", Str, True),
    _col("content_hash", Str),
    _col("update_of", sa.Integer, True),
    _col("fetched_at", Time, index=True),
    _col("matched_at", Time, True, index=True),
    _col("story_id", sa.Integer, True, index=True),
    _col("story_sig", sa.LargeBinary, True),
    _col("story_size", sa.Integer, True),
    _col("story_entities", Str, True),
    _col("matched_prefix", sa.Integer, True),
    sa.ForeignKeyConstraint(["feed_id"], ["feed.id"]),
    sa.ForeignKeyConstraint(["update_of"], ["article.id"]),
)
sa.Table(
    "article_source", schema,
    _col("id", sa.Integer, primary_key=True),
    _col("article_id", sa.Integer, index=True),
    _col("feed_id", sa.Integer),
    _col("entry_key", Str(1100)),
    _col("content_hash", Str),
    _col("seen_at", Time),
    sa.ForeignKeyConstraint(["article_id"], ["article.id"]),
    sa.ForeignKeyConstraint(["feed_id"], ["feed.id"]),
    sa.UniqueConstraint("feed_id", "entry_key", name="uq_source_feed_entry"),
)
sa.Table(
    "watch_state", schema,
    _col("id", sa.Integer, primary_key=True),
    _col("kind", Str(20)),
    _col("key", Str(2100)),
    _col("state", sa.JSON),
    _col("updated_at", Time),
    sa.UniqueConstraint("kind", "key", name="uq_watch_state"),
)
sa.Table(
    "story_band", schema,
    _col("key", sa.BigInteger, primary_key=True, autoincrement=False),
    _col("article_id", sa.Integer, primary_key=True),
    _col("story_id", sa.Integer),
    _col("published", Time),
    sa.Index("ix_story_band_published_brin", "published", postgresql_using="brin"),
)
sa.Table(
    "rule_match", schema,
    _col("id", sa.Integer, primary_key=True),
    _col("article_id", sa.Integer, index=True),
    _col("rule", Str),
    _col("terms", sa.JSON),
    _col("hits", sa.JSON),
    _col("created_at", Time),
    sa.ForeignKeyConstraint(["article_id"], ["article.id"]),
    sa.UniqueConstraint("article_id", "rule", name="uq_match_article_rule"),
)
sa.Table(
    "digest", schema,
    _col("id", sa.Integer, primary_key=True),
    _col("channel", Str, index=True),
    _col("status", Str, index=True),
    _col("attempts", sa.Integer),
    _col("last_error", Str, True),
    _col("reason", Str),
    _col("created_at", Time),
    _col("updated_at", Time),
    _col("sent_at", Time, True),
)
sa.Table(
    "delivery", schema,
    _col("id", sa.Integer, primary_key=True),
    _col("match_id", sa.Integer, index=True),
    _col("article_id", sa.Integer, index=True),
    _col("rule", Str),
    _col("channel", Str),
    _col("status", Str, index=True),
    _col("attempts", sa.Integer),
    _col("last_error", Str, True),
    _col("held_reason", Str, True),
    _col("digest_id", sa.Integer, True, index=True),
    _col("created_at", Time),
    _col("updated_at", Time, index=True),
    _col("sent_at", Time, True),
    sa.ForeignKeyConstraint(["match_id"], ["rule_match.id"]),
    sa.ForeignKeyConstraint(["article_id"], ["article.id"]),
    sa.ForeignKeyConstraint(["digest_id"], ["digest.id"]),
    sa.UniqueConstraint("rule", "article_id", "channel", name="uq_delivery"),
)
sa.Table(
    "work_attempt", schema,
    _col("task_id", Str(200), primary_key=True),
    _col("kind", Str),
    _col("attempts", sa.Integer),
    _col("updated_at", Time),
)
sa.Table(
    "dead_letter", schema,
    _col("id", sa.Integer, primary_key=True),
    _col("kind", Str(40)),
    _col("item_id", sa.Integer),
    _col("reason", Str),
    _col("attempts", sa.Integer),
    _col("created_at", Time),
    sa.UniqueConstraint("kind", "item_id", name="uq_dead_letter"),
)
# The dashboard's logins (monitor/adapters/store/websessions.py).
sa.Table(
    "web_session", schema,
    _col("id_hash", Str(64), primary_key=True),
    _col("csrf", Str(64)),
    _col("token_tag", Str(64)),
    _col("created_at", Time),
    _col("expires_at", Time, index=True),
)

# Made by earlier code and read by none since.
LEFTOVER_TABLES = ("story_key",)
LEFTOVER_INDEXES = {"story_band": ("ix_story_band_published",)}


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    # Created in dependency order, with their indexes: every table on a new database.
    schema.create_all(bind, tables=[t for t in schema.sorted_tables if t.name not in existing])
    for table in schema.sorted_tables:
        if table.name in existing:
            _adopt(bind, table)
    for name in LEFTOVER_TABLES:
        if name in existing:
            op.drop_table(name)  # its indexes go with it


def _adopt(bind, table: sa.Table) -> None:
    """Bring a table made by earlier code to the baseline, keeping its rows."""
    inspector = sa.inspect(bind)
    columns = {c["name"] for c in inspector.get_columns(table.name)}
    for column in table.columns:
        if column.name not in columns:
            if not column.nullable:
                raise RuntimeError(f"cannot adopt table {table.name}: column {column.name} is missing and "
                                   f"has no value for the rows there")
            op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))
    indexes = {i["name"] for i in inspector.get_indexes(table.name)}
    for index in table.indexes:
        if index.name not in indexes:
            index.create(bind)
    for name in LEFTOVER_INDEXES.get(table.name, ()):
        if name in indexes:
            op.drop_index(name, table_name=table.name)


def downgrade() -> None:
    for table in reversed(schema.sorted_tables):
        op.drop_table(table.name)
