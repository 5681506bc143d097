"""outboxes and deliveries: pages keep room so a claim's lease is a HOT update

A relay's claim sets `lease_until` and `attempts` on every row it hands out, and notify's delivery run does
the same on deliveries. None of those columns is indexed, yet with full pages (the default fillfactor 100:
the rows arrive in bulk, one page after another) PostgreSQL writes each new row version to another page and
adds an entry to every index of the table (four on an outbox). With a tenth of each page left free the lease
version stays on its page (a heap-only tuple): no index entry, less WAL, and the pending indexes the claims
read stay small. Existing pages keep what they hold; new pages are filled to 90 %.

Revision ID: 0029
Revises: 0028
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

TABLES = ("intake.outbox", "cases.outbox", "notify.outbox", "notify.deliveries")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = 90)")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
