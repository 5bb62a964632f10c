"""The bridge to SP4N-LAPOR!, the national complaint system: what an adapter does, and the
manual bridge every office starts with.

LAPOR!'s integration API is documented only to agency accounts with a developer role, so
the bridge in force by default is `ManualBridge`: a LAPOR! report is typed in at
/staff/complaints/new (channel SP4N-LAPOR!, its LAPOR! ID and dates), and each public answer
(services.complaints.lapor) waits until a staff member has pasted it into LAPOR! and
confirmed it on the case page. An office with API credentials writes an adapter, a subclass
of `LaporBridge`, and names it in `PENGADUAN_LAPOR_ADAPTER` (`package.module:Class`); the
workflow and the services do not change:

- `receive(report)` files a LAPOR! report (a `LaporReport`) through the same intake as any
  complaint, mapping its fields and its anonim/rahasia flags; an adapter that polls LAPOR!
  calls it, one report per unit of work.
- `publish(answer)` posts one public answer to LAPOR! and says whether it was posted and when
  (a `Publication`). It is called after the answer has committed, outside the request's
  transaction; a posted answer is then recorded (`record_posted`, audited, as the adapter),
  and one that was not, or that failed, simply stays "not yet posted" for staff to post.
"""
from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import Flask

from .. import unit_of_work
from ..extensions import db
from ..models import Complaint, ComplaintEvent, Unit
from ..policy import Actor
from ..services import Filed, file_complaint
from ..services.complaints.lapor import BRIDGE, answer_text, record_posted

log = logging.getLogger(__name__)
CHANNEL = "sp4n_lapor"
CONFIG = "PENGADUAN_LAPOR_ADAPTER"  # "manual" (the default) or "package.module:Class"


@dataclass(frozen=True)
class LaporReport:
    """A report as LAPOR! disposed it to the office: its tracking ID, the office's unit
    (its code here), when LAPOR! received and disposed it (aware datetimes) and its words.
    `anonim` hides the reporter's identity, `rahasia` keeps the report itself from the public."""

    lapor_id: str
    unit: str
    title: str
    description: str
    received_at: datetime
    disposed_at: datetime
    anonim: bool = False
    rahasia: bool = False
    category: str | None = None
    classification: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    # The reporter agreed to LAPOR!'s processing of her data when she reported there.
    consent: bool = True


class Answer(NamedTuple):
    """A public answer to post: its complaint's LAPOR! ID, the event and the exact text."""

    lapor_id: str
    complaint_code: str
    event_id: int
    answered_at: datetime
    text: str


class Publication(NamedTuple):
    """What `publish` did: whether the answer now stands on LAPOR!, and since when."""

    posted: bool
    posted_at: datetime | None = None


class LaporBridge(ABC):
    """What an SP4N-LAPOR! adapter does (see the module's docstring)."""

    name = "lapor"

    def __init__(self, config=None):
        self.config = config or {}

    def receive(self, report: LaporReport) -> Filed:
        """File a LAPOR! report as a complaint of the channel SP4N-LAPOR! (flushes only)."""
        unit = Unit.by_code(report.unit)
        zone = ZoneInfo(unit.timezone if unit is not None else self.config.get("PENGADUAN_TIMEZONE", "Asia/Jakarta"))

        def local(moment: datetime) -> str:
            return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")

        raw = {"unit": report.unit, "category": report.category, "title": report.title,
               "description": report.description, "name": report.name, "email": report.email,
               "phone": report.phone, "consent": report.consent,
               "lapor_id": report.lapor_id, "lapor_received_at": local(report.received_at),
               "lapor_disposed_at": local(report.disposed_at),
               "lapor_anonim": report.anonim, "lapor_rahasia": report.rahasia}
        if report.classification:
            raw["classification"] = report.classification
        return file_complaint(raw, actor=Actor.channel(CHANNEL))

    @abstractmethod
    def publish(self, answer: Answer) -> Publication:
        """Post the answer to LAPOR!; say whether it was posted and when."""

    def answer_committed(self, complaint_id: int, event_id: int) -> None:
        """After an answer committed: publish it, and record the posting if it was made. A
        failure is logged and leaves the answer waiting for staff, never breaks the page."""
        try:
            unit_of_work.run(lambda: self._publish_and_record(complaint_id, event_id))
        except Exception:  # the answer stays "not yet posted": staff post it by hand
            log.exception("SP4N-LAPOR! adapter %s could not post answer %s", self.name, event_id)

    def _publish_and_record(self, complaint_id: int, event_id: int) -> None:
        complaint = db.session.get(Complaint, complaint_id)
        event = db.session.get(ComplaintEvent, event_id)
        if complaint is None or event is None or not complaint.lapor_id:
            return
        done = self.publish(Answer(complaint.lapor_id, complaint.tracking_code, event.id,
                                   event.occurred_at, answer_text(event)))
        if done.posted:
            record_posted(complaint, event, done.posted_at, Actor.cli(f"lapor:{self.name}"))


class ManualBridge(LaporBridge):
    """Staff post each answer by hand (the case page's "copy for LAPOR!" block) and confirm
    it there; nothing is sent from here."""

    name = "manual"

    def publish(self, answer: Answer) -> Publication:
        return Publication(False)

    def answer_committed(self, complaint_id: int, event_id: int) -> None:
        return None  # nothing to post: the answer waits for staff


def load_bridge(config) -> LaporBridge:
    """The bridge `PENGADUAN_LAPOR_ADAPTER` names: `manual`, or `package.module:Class` (a
    LaporBridge subclass, built with the app's config). Refuses anything else at start-up."""
    name = (config.get(CONFIG) or "manual").strip()
    if name == "manual":
        return ManualBridge(config)
    module_name, _, class_name = name.partition(":")
    if not class_name:
        module_name, _, class_name = name.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"{CONFIG}={name!r}: cannot load the adapter ({exc})") from None
    if not (isinstance(cls, type) and issubclass(cls, LaporBridge)):
        raise ValueError(f"{CONFIG}={name!r}: not a subclass of pengaduan.integrations.lapor.LaporBridge")
    return cls(config)


def init_app(app: Flask) -> None:
    """Put the configured bridge where the services look for it after each public answer."""
    app.extensions[BRIDGE] = load_bridge(app.config)
