"""room on each page for the updates queue rows get: fillfactor on the outboxes, deliveries, reports, subjects

An outbox row is written three times in its life (inserted, leased by a claim, marked delivered), a delivery
twice or three times (inserted, leased, sent), a report twice (pushed, its case recorded), a subject once per
case it is party to. Bulk inserts fill every page, so each of those updates put the new row version on another
page and a new entry into every index of the table (a lease touched four indexes of the outbox). With room
left on the page, an update that changes no indexed column (the lease, a report's case, a subject's counts)
stays on its page as a heap-only tuple: no index entry, and a write-ahead record of only the bytes that
changed. Applies to pages written from now on.

Revision ID: 0031
Revises: 0030
"""

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

# shared/outbox.py and the tables' models name the same figures
FILLFACTOR = {
    "intake.outbox": 50,
    "cases.outbox": 50,
    "notify.outbox": 50,
    "notify.deliveries": 60,
    "intake.reports": 80,
    "cases.subjects": 80,
}


def upgrade() -> None:
    for table, fill in FILLFACTOR.items():
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {fill})")


def downgrade() -> None:
    for table in FILLFACTOR:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
