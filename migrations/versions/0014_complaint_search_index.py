"""Search indexes: tracking-code fragments, words of titles and descriptions, and the
complainant's name, NIK and phone (services/complaints/search.py reads them).

SQLite: three FTS5 tables kept in sync by triggers on `complaints`:
- `complaint_text` (title, description), external content (`content='complaints'`);
- `complaint_codes` (the code without its dash), contentless, trigram tokenizer, so that any
  fragment of three characters or more is found through the index;
- `complaint_identity` (name, NIK, phone as digits with 62 read as 0), contentless, kept apart
  from the words so that a word search can never match a complainant's name.
The update trigger fires only when one of the indexed columns changes (never on a state change).

PostgreSQL: a stored generated tsvector (`search_vector`: the title weighted A, the
description B, 'simple' configuration: no stemming, Indonesian words stay as typed) with a
GIN index; a pg_trgm GIN index on the dashless code; and, for public complaints only (the only
ones whose identity may be searched), a GIN index on the name's tsvector and B-tree indexes on
the NIK and the normalised phone.

Existing complaints are indexed here (the backfill); new and edited ones by the triggers or
the generated column.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 09:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The same expressions as services/complaints/search.py (PHONE_SQL, CODE_SQL): an expression
# index serves only a query spelling the expression the same way.
DIGITS = "replace(replace(replace(replace(replace({c}, ' ', ''), '-', ''), '(', ''), ')', ''), '+', '')"
PHONE = ("CASE WHEN {d} LIKE '62%' THEN '0' || substr({d}, 3) ELSE {d} END")


def phone_sql(column: str) -> str:
    digits = DIGITS.format(c=column)
    return PHONE.format(d=digits)


def code_sql(column: str) -> str:
    return f"replace({column}, '-', '')"


def identity_values(row: str) -> str:
    return (f"{row}.id, coalesce({row}.complainant_name, ''), coalesce({row}.complainant_nik, ''), "
            f"coalesce({phone_sql(row + '.complainant_phone')}, '')")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _upgrade_sqlite():
    tokenizer = "unicode61 remove_diacritics 2"
    op.execute("CREATE VIRTUAL TABLE complaint_text USING fts5(title, description, "
               f"content='complaints', content_rowid='id', tokenize='{tokenizer}')")
    op.execute("CREATE VIRTUAL TABLE complaint_codes USING fts5(code, content='', tokenize='trigram')")
    op.execute("CREATE VIRTUAL TABLE complaint_identity USING fts5(name, nik, phone, content='', "
               f"tokenize='{tokenizer}')")
    # The backfill: every complaint filed before this migration.
    op.execute("INSERT INTO complaint_text(complaint_text) VALUES ('rebuild')")
    op.execute(f"INSERT INTO complaint_codes(rowid, code) SELECT id, {code_sql('tracking_code')} FROM complaints")
    op.execute("INSERT INTO complaint_identity(rowid, name, nik, phone) "
               f"SELECT {identity_values('complaints')} FROM complaints")
    insert_new = f"""
        INSERT INTO complaint_text(rowid, title, description) VALUES (new.id, new.title, new.description);
        INSERT INTO complaint_codes(rowid, code) VALUES (new.id, {code_sql('new.tracking_code')});
        INSERT INTO complaint_identity(rowid, name, nik, phone) VALUES ({identity_values('new')});"""
    delete_old = f"""
        INSERT INTO complaint_text(complaint_text, rowid, title, description)
            VALUES ('delete', old.id, old.title, old.description);
        INSERT INTO complaint_codes(complaint_codes, rowid, code)
            VALUES ('delete', old.id, {code_sql('old.tracking_code')});
        INSERT INTO complaint_identity(complaint_identity, rowid, name, nik, phone)
            VALUES ('delete', {identity_values('old')});"""
    op.execute(f"CREATE TRIGGER complaints_search_insert AFTER INSERT ON complaints BEGIN {insert_new} END")
    op.execute(f"CREATE TRIGGER complaints_search_delete AFTER DELETE ON complaints BEGIN {delete_old} END")
    op.execute("CREATE TRIGGER complaints_search_update AFTER UPDATE OF title, description, tracking_code, "
               "complainant_name, complainant_nik, complainant_phone ON complaints "
               f"BEGIN {delete_old} {insert_new} END")


def _upgrade_postgresql():
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("ALTER TABLE complaints ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
               "setweight(to_tsvector('simple', coalesce(title, '')), 'A') || "
               "setweight(to_tsvector('simple', coalesce(description, '')), 'B')) STORED")
    op.execute("CREATE INDEX ix_complaints_search_vector ON complaints USING gin (search_vector)")
    op.execute(f"CREATE INDEX ix_complaints_code_trgm ON complaints USING gin ({code_sql('tracking_code')} "
               "gin_trgm_ops)")
    public = "WHERE privacy = 'public'"
    op.execute("CREATE INDEX ix_complaints_identity_name ON complaints USING gin "
               f"(to_tsvector('simple', coalesce(complainant_name, ''))) {public}")
    op.execute(f"CREATE INDEX ix_complaints_identity_nik ON complaints (complainant_nik) {public}")
    op.execute(f"CREATE INDEX ix_complaints_identity_phone ON complaints (({phone_sql('complainant_phone')})) "
               f"{public}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for index in ("identity_phone", "identity_nik", "identity_name", "code_trgm", "search_vector"):
            op.execute(f"DROP INDEX IF EXISTS ix_complaints_{index}")
        op.execute("ALTER TABLE complaints DROP COLUMN IF EXISTS search_vector")
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS complaints_search_{trigger}")
    for table in ("complaint_identity", "complaint_codes", "complaint_text"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
