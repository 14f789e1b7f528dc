"""applications, bookings, surveys, complaints, read models, the outbox and inbox

Revision ID: 0001
Revises: -
Create Date: 2026-12-03 15:07:59.764698
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("tracking_number", sa.Text(), nullable=False),
        sa.Column("citizen_id", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("request_fingerprint", sa.Text(), nullable=True),
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.Column("service_slug", sa.Text(), nullable=False),
        sa.Column("service_version", sa.Integer(), nullable=False),
        sa.Column("agency", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("form", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("documents", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state_entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overall_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "inbox_due_at",
            sa.DateTime(timezone=True),
            sa.Computed("coalesce(due_at, 'infinity'::timestamptz)", persisted=True),
            nullable=False,
        ),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "breaches", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("escalated", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint(
            "citizen_id", "idempotency_key", name=op.f("uq_applications_citizen_id_idempotency_key")
        ),
        sa.UniqueConstraint("tracking_number", name=op.f("uq_applications_tracking_number")),
    )
    op.create_index(
        "ix_applications_citizen_id_submitted_at_id",
        "applications",
        ["citizen_id", "submitted_at", "id"],
        unique=False,
    )
    op.create_index("ix_applications_completed_at", "applications", ["completed_at"], unique=False)
    op.create_index(
        "ix_applications_open_agency_inbox_due_at_id",
        "applications",
        ["agency", "inbox_due_at", "id"],
        unique=False,
        postgresql_where=sa.text("open"),
    )
    op.create_index(
        "ix_applications_open_inbox_due_at_id",
        "applications",
        ["inbox_due_at", "id"],
        unique=False,
        postgresql_where=sa.text("open"),
    )
    op.create_index("ix_applications_submitted_at", "applications", ["submitted_at"], unique=False)
    op.create_table(
        "bookings",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("ticket_code", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("citizen_id", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("request_fingerprint", sa.Text(), nullable=True),
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.Column("service_slug", sa.Text(), nullable=False),
        sa.Column("service_name", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("agency", sa.Text(), nullable=False),
        sa.Column("counter", sa.Text(), nullable=False),
        sa.Column("counter_name", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("application_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.UniqueConstraint(
            "citizen_id", "idempotency_key", name=op.f("uq_bookings_citizen_id_idempotency_key")
        ),
        sa.UniqueConstraint("ticket_code", name=op.f("uq_bookings_ticket_code")),
    )
    op.create_index(
        "ix_bookings_agency_date_starts_at",
        "bookings",
        ["agency", "date", "starts_at"],
        unique=False,
    )
    op.create_index(
        "ix_bookings_citizen_id_created_at_id",
        "bookings",
        ["citizen_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "uq_bookings_booked_citizen_id_service_id_date",
        "bookings",
        ["citizen_id", "service_id", "date"],
        unique=True,
        postgresql_where=sa.text("state = 'booked'"),
    )
    op.create_table(
        "catalog_agencies",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_catalog_agencies")),
    )
    op.create_table(
        "catalog_service_versions",
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("service_id", "version", name=op.f("pk_catalog_service_versions")),
    )
    op.create_table(
        "catalog_services",
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_catalog_services")),
    )
    op.create_table(
        "catalog_slugs",
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_catalog_slugs")),
    )
    op.create_table(
        "citizen_documents",
        sa.Column("document_id", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("requirement", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_citizen_documents")),
    )
    op.create_table(
        "complaints",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("tracking_id", sa.Text(), nullable=False),
        sa.Column("citizen_id", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("request_fingerprint", sa.Text(), nullable=True),
        sa.Column("application_id", sa.Text(), nullable=True),
        sa.Column("agency", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forward_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint(
            "citizen_id", "idempotency_key", name=op.f("uq_complaints_citizen_id_idempotency_key")
        ),
        sa.UniqueConstraint("tracking_id", name=op.f("uq_complaints_tracking_id")),
    )
    op.create_index(
        "ix_complaints_agency_filed_at_id", "complaints", ["agency", "filed_at", "id"], unique=False
    )
    op.create_index(
        "ix_complaints_citizen_id_filed_at_id",
        "complaints",
        ["citizen_id", "filed_at", "id"],
        unique=False,
    )
    op.create_index("ix_complaints_filed_at_id", "complaints", ["filed_at", "id"], unique=False)
    op.create_index(
        "ix_complaints_open_closes_at",
        "complaints",
        ["closes_at"],
        unique=False,
        postgresql_where=sa.text("open"),
    )
    op.create_index(
        "ix_complaints_open_due_at",
        "complaints",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("open"),
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column(
            "applied_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "number_counters",
        sa.Column("series", sa.Text(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series", name=op.f("pk_number_counters")),
    )
    op.create_table(
        "outbox",
        sa.Column("position", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column(
            "trace",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_index("ix_outbox_subject_position", "outbox", ["subject", "position"], unique=False)
    op.create_table(
        "surveys",
        sa.Column("application_id", sa.Text(), nullable=False),
        sa.Column("citizen_id", sa.Text(), nullable=False),
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.Column("service_slug", sa.Text(), nullable=False),
        sa.Column("service_version", sa.Integer(), nullable=False),
        sa.Column("agency", sa.Text(), nullable=False),
        sa.Column("u1", sa.SmallInteger(), nullable=False),
        sa.Column("u2", sa.SmallInteger(), nullable=False),
        sa.Column("u3", sa.SmallInteger(), nullable=False),
        sa.Column("u4", sa.SmallInteger(), nullable=False),
        sa.Column("u5", sa.SmallInteger(), nullable=False),
        sa.Column("u6", sa.SmallInteger(), nullable=False),
        sa.Column("u7", sa.SmallInteger(), nullable=False),
        sa.Column("u8", sa.SmallInteger(), nullable=False),
        sa.Column("u9", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            " AND ".join(f"u{n} BETWEEN 1 AND 4" for n in range(1, 10)),
            name=op.f("ck_surveys_scores_1_to_4"),
        ),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_surveys")),
    )
    op.create_index(
        "ix_surveys_agency_submitted_at", "surveys", ["agency", "submitted_at"], unique=False
    )
    op.create_index(
        "ix_surveys_service_id_submitted_at",
        "surveys",
        ["service_id", "submitted_at"],
        unique=False,
    )
    op.create_index(
        "ix_surveys_service_slug_submitted_at",
        "surveys",
        ["service_slug", "submitted_at"],
        unique=False,
    )
    op.create_table(
        "application_history",
        sa.Column("line", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("application_id", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_role", sa.Text(), nullable=False),
        sa.Column("from_state", sa.Text(), nullable=True),
        sa.Column("to_state", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_history_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("line", name=op.f("pk_application_history")),
    )
    op.create_index(
        "ix_application_history_application_id_line",
        "application_history",
        ["application_id", "line"],
        unique=False,
    )
    op.create_table(
        "booking_seats",
        sa.Column("day_key", sa.Text(), nullable=False),
        sa.Column("slot", sa.Text(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_seats_booking_id_bookings"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("day_key", "slot", "seat", name=op.f("pk_booking_seats")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_booking_seats_booking_id")),
    )
    op.create_table(
        "complaint_timeline",
        sa.Column("line", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("complaint_id", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_role", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_timeline_complaint_id_complaints"),
        ),
        sa.PrimaryKeyConstraint("line", name=op.f("pk_complaint_timeline")),
    )
    op.create_index(
        "ix_complaint_timeline_complaint_id_line",
        "complaint_timeline",
        ["complaint_id", "line"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_complaint_timeline_complaint_id_line", table_name="complaint_timeline")
    op.drop_table("complaint_timeline")
    op.drop_table("booking_seats")
    op.drop_index("ix_application_history_application_id_line", table_name="application_history")
    op.drop_table("application_history")
    op.drop_index("ix_surveys_service_slug_submitted_at", table_name="surveys")
    op.drop_index("ix_surveys_service_id_submitted_at", table_name="surveys")
    op.drop_index("ix_surveys_agency_submitted_at", table_name="surveys")
    op.drop_table("surveys")
    op.drop_index("ix_outbox_subject_position", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("number_counters")
    op.drop_table("inbox")
    op.drop_index(
        "ix_complaints_open_due_at", table_name="complaints", postgresql_where=sa.text("open")
    )
    op.drop_index(
        "ix_complaints_open_closes_at", table_name="complaints", postgresql_where=sa.text("open")
    )
    op.drop_index("ix_complaints_filed_at_id", table_name="complaints")
    op.drop_index("ix_complaints_citizen_id_filed_at_id", table_name="complaints")
    op.drop_index("ix_complaints_agency_filed_at_id", table_name="complaints")
    op.drop_table("complaints")
    op.drop_table("citizen_documents")
    op.drop_table("catalog_slugs")
    op.drop_table("catalog_services")
    op.drop_table("catalog_service_versions")
    op.drop_table("catalog_agencies")
    op.drop_index(
        "uq_bookings_booked_citizen_id_service_id_date",
        table_name="bookings",
        postgresql_where=sa.text("state = 'booked'"),
    )
    op.drop_index("ix_bookings_citizen_id_created_at_id", table_name="bookings")
    op.drop_index("ix_bookings_agency_date_starts_at", table_name="bookings")
    op.drop_table("bookings")
    op.drop_index("ix_applications_submitted_at", table_name="applications")
    op.drop_index(
        "ix_applications_open_inbox_due_at_id",
        table_name="applications",
        postgresql_where=sa.text("open"),
    )
    op.drop_index(
        "ix_applications_open_agency_inbox_due_at_id",
        table_name="applications",
        postgresql_where=sa.text("open"),
    )
    op.drop_index("ix_applications_completed_at", table_name="applications")
    op.drop_index("ix_applications_citizen_id_submitted_at_id", table_name="applications")
    op.drop_table("applications")
