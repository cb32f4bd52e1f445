"""Which samples a voice was pooled from (issue #23), so that the same one is not counted twice.

``voices.sample_keys`` is a JSON list of :func:`...voiceprints.fingerprint`
keys, one per pooled sample: a hash of the sample's rounded print, not the
print and not audio.  Voices enrolled before this revision start with none:
their first sample cannot be recognised when sent again.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("voices") as batch:
        batch.add_column(sa.Column("sample_keys", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("voices") as batch:
        batch.drop_column("sample_keys")
