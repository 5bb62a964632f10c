"""The complaint aggregate: the complaint, its attachments, timeline and SLA clocks."""
from __future__ import annotations

from datetime import date, datetime

from flask import current_app, has_app_context
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import FileColumns, JSONType, UTCDateTime, utcnow
from .unit import Category, Unit
from .user import Role, User

PRIVACY_MODES = ("public", "anonymous", "confidential")
# Every way a complaint reaches the register (Perpres 76/2013: one register for all of them).
CHANNELS = ("web", "api", "open311", "walk_in", "phone", "letter", "email", "whatsapp", "sms",
            "social_media", "complaint_box", "sp4n_lapor", "other")
# The channels a staff member may type a complaint in from (/staff/complaints/new): the
# others file by themselves (the web form, the API, Open311).
STAFF_CHANNELS = ("walk_in", "phone", "letter", "email", "whatsapp", "sms", "social_media",
                  "complaint_box", "sp4n_lapor", "other")
IDENTITY_FIELDS = ("name", "nik", "email", "phone", "address")
# What a complainant may ask for to be reached or served (the complaint form's checkboxes).
CONTACT_NEEDS = ("sign_language", "voice_call", "large_print", "counter_help")


class Complaint(db.Model):
    __tablename__ = "complaints"
    __table_args__ = (
        # The officer queue: a unit's complaints in one state, nearest deadline first and
        # those without a deadline last, in the order the page sorts them (no sort step).
        Index("ix_complaints_queue", "unit_id", "state", text("(stage_due_at IS NULL)"),
              "stage_due_at", "id"),
        # The home page's figures: a unit's complaints of a period by month, category and
        # channel, read from the index alone; `id` joins them to their clocks.
        Index("ix_complaints_unit_received", "unit_id", "received_at", "category_id", "channel", "id"),
        # The few complaints whose answers wait to be posted to SP4N-LAPOR!, by unit (the
        # overdue review, the report's "not yet posted"; migration 0026).
        Index("ix_complaints_lapor_unposted", "unit_id", "lapor_unposted_since",
              postgresql_where=text("lapor_unposted_since IS NOT NULL"),
              sqlite_where=text("lapor_unposted_since IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(128))

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    classification: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16), default="web")
    privacy: Mapped[str] = mapped_column(String(16), default="public")
    incident_date: Mapped[date | None] = mapped_column(Date)
    incident_location: Mapped[str | None] = mapped_column(String(300))
    service_date: Mapped[date | None] = mapped_column(Date)
    requested_resolution: Mapped[str | None] = mapped_column(Text)
    late_filing: Mapped[bool] = mapped_column(Boolean, default=False)

    # Identity of the complainant: visible only to roles that need it (pengaduan/policy).
    complainant_name: Mapped[str | None] = mapped_column(String(200))
    complainant_nik: Mapped[str | None] = mapped_column(String(16))
    complainant_email: Mapped[str | None] = mapped_column(String(254))
    complainant_phone: Mapped[str | None] = mapped_column(String(32))
    complainant_address: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of the one-time token of the web form that filed it: a form sent twice (Back,
    # a double click) files once (services.complaints.intake.filed_from).
    submission_digest: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    # Consent to the processing of personal data (UU 27/2022): when it was given and to which
    # version of the consent text (services.complaints.intake.CONSENT_VERSION).
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_version: Mapped[str | None] = mapped_column(String(16))
    # The language it was filed in (id, en): the complainant is written to in it. NULL (filed
    # before this was kept): the default language.
    locale: Mapped[str | None] = mapped_column(String(8))
    # What the complainant needs to be reached or served (CONTACT_NEEDS codes) and her own
    # words about it. Possibly health data: shown only on the case page, never in figures,
    # logs or audit payloads (those say only whether any was given).
    contact_needs: Mapped[list | None] = mapped_column(  # None is SQL NULL, not JSON null
        JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql"))
    contact_needs_note: Mapped[str | None] = mapped_column(Text)

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    state: Mapped[str] = mapped_column(String(32), index=True)
    closure_reason: Mapped[str | None] = mapped_column(String(32))
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    # The finding on a closed complaint (workflow sections `findings` and `maladministration`).
    finding: Mapped[str | None] = mapped_column(String(16), index=True)
    maladministration: Mapped[str | None] = mapped_column(String(40))
    systemic: Mapped[bool | None] = mapped_column(Boolean)
    root_cause: Mapped[str | None] = mapped_column(Text)

    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Indexed for the figures of a period (closed in it) and for the public statistics'
    # worker, which looks for what changed since its snapshots (migration 0030).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    # Denormalised from the running clocks so queues sort and filter on an index.
    stage_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # When the complainant sent a message nobody has answered yet: set by her message, cleared
    # by a staff member's public reply or public step (services.complaints.conversation). The
    # queue marks the row from it without reading the timeline.
    citizen_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # A complaint received from SP4N-LAPOR!: its LAPOR! tracking ID and when LAPOR! received
    # it and disposed it to this office (LAPOR!'s own clocks count from the disposition).
    lapor_id: Mapped[str | None] = mapped_column(String(32), index=True, unique=True)
    lapor_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lapor_disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Since when the oldest public answer not yet posted back to LAPOR! has waited (NULL: none
    # waits); the queue marks the row from it without reading the timeline.
    lapor_unposted_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The original this complaint was closed as a duplicate of: its complainant follows the
    # original's public progress, and figures count the pair once.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)

    # Optimistic lock: an UPDATE that finds another version changed nothing and fails.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version}

    unit: Mapped[Unit] = relationship()
    category: Mapped[Category | None] = relationship()
    assignee: Mapped[User | None] = relationship()
    duplicate_of: Mapped[Complaint | None] = relationship(remote_side=lambda: Complaint.id)
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.id", cascade="all, delete-orphan"
    )
    clocks: Mapped[list[ComplaintClock]] = relationship(
        back_populates="complaint", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="complaint", cascade="all, delete-orphan"
    )

    @classmethod
    def by_code(cls, code: str) -> Complaint | None:
        return db.session.scalar(select(cls).where(cls.tracking_code == code.strip().upper()))

    def unit_staff(self) -> list[User]:
        """Active officers and supervisors of the complaint's unit."""
        return sorted((u for u in self.unit.staff if u.active), key=lambda u: u.name)

    def clock(self, rule: str) -> ComplaintClock | None:
        return next((c for c in self.clocks if c.rule == rule), None)

    def __repr__(self) -> str:
        return f"<Complaint {self.tracking_code} {self.state}>"


def _workflow_in_force(attribute: str):
    """The name or version of the workflow the app runs, for events recorded under it."""
    def default():
        workflow = current_app.extensions.get("pengaduan.workflow") if has_app_context() else None
        return getattr(workflow, attribute, None)

    return default


class ComplaintEvent(db.Model):
    """One step of a complaint's timeline; `public` steps are shown to the complainant."""

    MESSAGE = "message"  # the kind of a message of the conversation (services.complaints.conversation)

    __tablename__ = "complaint_events"
    __table_args__ = (
        # The home page: what complainants sent lately in a unit, and each kind of step
        # (instructions) without reading every timeline.
        Index("ix_complaint_events_unit_role", "unit_id", "actor_role", "kind", "occurred_at"),
        Index("ix_complaint_events_kind", "kind", "complaint_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))  # filed, transition, note, escalation, ...
    trigger: Mapped[str | None] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(16))
    # The unit the complaint was with when this happened (it may move on later).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    # The workflow file in force (its name and version) when this happened.
    workflow_name: Mapped[str | None] = mapped_column(String(64), default=_workflow_in_force("name"))
    workflow_version: Mapped[int | None] = mapped_column(Integer, default=_workflow_in_force("version"))

    complaint: Mapped[Complaint] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    unit: Mapped[Unit | None] = relationship()

    @property
    def by_complainant(self) -> bool:
        """Written or taken by the complainant herself (her steps, messages and rating)."""
        return self.actor_role == Role.CITIZEN


class ComplaintClock(db.Model):
    """One statutory clock of one complaint (a rule of the workflow's `sla` section)."""

    __tablename__ = "complaint_clocks"
    __table_args__ = (
        UniqueConstraint("complaint_id", "rule"),
        # The home page's on-time figures read a complaint's clocks from the index alone.
        Index("ix_complaint_clocks_figures", "complaint_id", "rule", "due_at", "stopped_at", "paused_at"),
        # /metrics counts the running clocks past due at every scrape: only the running ones
        # are indexed (the stopped clocks of closed complaints are nearly all of them, in time).
        Index("ix_complaint_clocks_running_due", "rule", "due_at",
              postgresql_where=text("stopped_at IS NULL AND paused_at IS NULL"),
              sqlite_where=text("stopped_at IS NULL AND paused_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(32))
    # Day 0 of the count: when the clock started, or when it last resumed after a pause.
    counting_from: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Days (or hours) already counted before the latest pause.
    consumed: Mapped[int] = mapped_column(Integer, default=0)
    calendar_version: Mapped[str | None] = mapped_column(String(64))
    explanation: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Each restart of the clock begins a new cycle, whose escalation ladder starts afresh.
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    # The next rung of the rule's ladder (warning, overdue, ..., or expiry) and when it is
    # due: the SLA sweep reads only clocks whose `next_check_at` has come.
    next_step: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    complaint: Mapped[Complaint] = relationship(back_populates="clocks")

    @property
    def running(self) -> bool:
        return self.stopped_at is None and self.paused_at is None


class LaporPosting(db.Model):
    """A public answer of the office on a complaint from SP4N-LAPOR!, confirmed posted to
    LAPOR! too: by hand from the answer's "copy for LAPOR!" block, or by an adapter
    (integrations/lapor.py). An answer without one still waits to be posted."""

    __tablename__ = "lapor_postings"
    # A period's postings with their delays, read from this table alone (the periodic report).
    __table_args__ = (Index("ix_lapor_postings_posted_answered", "posted_at", "answered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("complaint_events.id", ondelete="CASCADE"), unique=True)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the answer's occurred_at, copied
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when it appeared on LAPOR!
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: an adapter

    complaint: Mapped[Complaint] = relationship()
    event: Mapped[ComplaintEvent] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class ComplaintLink(db.Model):
    """Two complaints an officer linked as related (services.complaints.duplicates): one row
    per pair, the lower id first, shown on both case pages."""

    __tablename__ = "complaint_links"
    __table_args__ = (
        UniqueConstraint("complaint_id", "related_id"),
        CheckConstraint("complaint_id < related_id", name="ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    related_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Attachment(FileColumns, db.Model):
    """A file sent with a complaint or one of its steps."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("complaint_events.id"))
    public: Mapped[bool] = mapped_column(Boolean, default=True)

    complaint: Mapped[Complaint] = relationship(back_populates="attachments")
    event: Mapped[ComplaintEvent | None] = relationship()


class Escalation(db.Model):
    """One rung of a clock's ladder that has fired: a warning, overdue, seriously overdue, a
    reminder to the complainant or the expiry. The unique key makes each rung fire at most
    once per clock cycle, however many sweeps run."""

    __tablename__ = "escalations"
    __table_args__ = (
        UniqueConstraint("clock_id", "cycle", "level"),
        # The overdue review: a unit's escalations nobody has acknowledged yet.
        Index("ix_escalations_open", "unit_id", "acknowledged_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("complaint_clocks.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    rule: Mapped[str] = mapped_column(String(32))
    cycle: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    complaint: Mapped[Complaint] = relationship()
    unit: Mapped[Unit] = relationship()
    acknowledged_by: Mapped[User | None] = relationship()
