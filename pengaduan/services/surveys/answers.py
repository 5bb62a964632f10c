"""A questionnaire answered: checked the same way whether it came from the public page or
from paper (typed in by an officer, or imported from a spreadsheet), then stored without
anything that names or traces the respondent."""
from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import ELEMENTS, PROFILE_FIELDS, SurveyPeriod, SurveyResponse, User

SUGGESTION_LIMIT = 2000


@dataclass
class Answers:
    scores: dict[str, int | None] = field(default_factory=dict)  # U1..U9 -> 1..4 or None
    profile: dict[str, str | None] = field(default_factory=dict)  # sex, age_band, ... -> option code
    service_type: str | None = None
    suggestion: str | None = None

    @property
    def answered(self) -> int:
        return sum(1 for value in self.scores.values() if value is not None)


def check(period: SurveyPeriod, raw) -> Answers:
    """The answers in `raw` (a mapping: U1..U9 as "1".."4" or empty, the profile fields as
    option codes, `service_type`, `suggestion`); InvalidFields naming each bad one. At least
    one element must be answered; a service must be one the period surveys (when it names
    any)."""
    errors: dict = {}
    answers = Answers()
    for code in ELEMENTS:
        value = raw.get(code)
        value = value.strip() if isinstance(value, str) else value
        if value in (None, ""):
            answers.scores[code] = None
        elif str(value) in ("1", "2", "3", "4"):
            answers.scores[code] = int(value)
        else:
            errors[code] = _l("must be a score from 1 to 4")
            answers.scores[code] = None
    if not errors and not answers.answered:
        errors["U1"] = _l("answer at least one question")
    questions = period.questionnaire.get("profile", {})
    for name in PROFILE_FIELDS:
        value = raw.get(name)
        value = value.strip() if isinstance(value, str) else value
        if value in (None, ""):
            answers.profile[name] = None
        elif name in questions and value in questions[name]["options"]:
            answers.profile[name] = value
        else:
            errors[name] = _l("choose one of the options")
    service = raw.get("service_type")
    service = service.strip() if isinstance(service, str) else service
    if service in (None, ""):
        answers.service_type = None
    elif service in (period.service_types or []):
        answers.service_type = service
    else:
        errors["service_type"] = _l("choose one of the services")
    suggestion = raw.get("suggestion")
    suggestion = suggestion.strip() if isinstance(suggestion, str) else None
    if suggestion and len(suggestion) > SUGGESTION_LIMIT:
        errors["suggestion"] = _l("must be at most %(n)d characters", n=SUGGESTION_LIMIT)
    answers.suggestion = suggestion or None
    if errors:
        raise InvalidFields(errors)
    return answers


def record(period: SurveyPeriod, answers: Answers, channel: str = "web",
           entered_by: User | None = None) -> SurveyResponse:
    """Store one questionnaire of `period` (flushed, not committed)."""
    response = SurveyResponse(period_id=period.id, channel=channel,
                              entered_by_id=entered_by.id if entered_by else None,
                              service_type=answers.service_type, suggestion=answers.suggestion,
                              **{name: answers.profile.get(name) for name in PROFILE_FIELDS},
                              **{code.lower(): answers.scores.get(code) for code in ELEMENTS})
    db.session.add(response)
    db.session.flush()
    return response
