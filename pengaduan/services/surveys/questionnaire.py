"""The SKM questionnaire's wording, from `PENGADUAN_SKM_QUESTIONNAIRE` (workflows/skm.yaml):
per element U1..U9 its name, question and four answer labels (1 to 4, worst first) in
Indonesian and English, and the respondent profile's questions and options.

A survey period stores the questionnaire as it stood when it opened (`SurveyPeriod.questionnaire`)
so its report keeps the words its respondents read.
"""
from __future__ import annotations

from pathlib import Path

import yaml
from flask import current_app

from ...models import ELEMENTS, PROFILE_FIELDS

LANGUAGES = ("id", "en")


class QuestionnaireError(ValueError):
    """A questionnaire file that cannot be used: names the key and the reason."""


def _text(value, where: str) -> dict:
    if not isinstance(value, dict) or any(not isinstance(value.get(lang), str) or not value[lang].strip()
                                          for lang in LANGUAGES):
        raise QuestionnaireError(f"{where}: needs a text in each of {', '.join(LANGUAGES)}")
    return {lang: value[lang].strip() for lang in LANGUAGES}


def validate(data) -> dict:
    """The questionnaire in `data` (parsed YAML), normalised; QuestionnaireError otherwise."""
    if not isinstance(data, dict):
        raise QuestionnaireError("the file must be a mapping with `elements` and `profile`")
    elements = data.get("elements")
    if not isinstance(elements, dict) or sorted(elements) != sorted(ELEMENTS):
        raise QuestionnaireError(f"elements: must be exactly {', '.join(ELEMENTS)}")
    result = {"elements": {}, "profile": {}}
    for code in ELEMENTS:
        element = elements[code]
        if not isinstance(element, dict):
            raise QuestionnaireError(f"elements.{code}: must have name, question and answers")
        answers = element.get("answers")
        if not isinstance(answers, dict) or any(
                not isinstance(answers.get(lang), list) or len(answers[lang]) != 4
                or any(not isinstance(a, str) or not a.strip() for a in answers[lang]) for lang in LANGUAGES):
            raise QuestionnaireError(f"elements.{code}.answers: four labels (1 to 4) in each of "
                                     f"{', '.join(LANGUAGES)}")
        result["elements"][code] = {
            "name": _text(element.get("name"), f"elements.{code}.name"),
            "question": _text(element.get("question"), f"elements.{code}.question"),
            "answers": {lang: [a.strip() for a in answers[lang]] for lang in LANGUAGES},
        }
    profile = data.get("profile") or {}
    if not isinstance(profile, dict) or set(profile) - set(PROFILE_FIELDS):
        raise QuestionnaireError(f"profile: only {', '.join(PROFILE_FIELDS)}")
    for name, question in profile.items():
        options = (question or {}).get("options")
        if not isinstance(options, dict) or not options:
            raise QuestionnaireError(f"profile.{name}.options: at least one option")
        result["profile"][name] = {
            "label": _text(question.get("label"), f"profile.{name}.label"),
            "options": {str(code): _text(text, f"profile.{name}.options.{code}")
                        for code, text in options.items()},
            # PostgreSQL's JSONB keeps no key order: the file's order is kept as a list.
            "order": [str(code) for code in options],
        }
        if any(len(code) > 16 for code in result["profile"][name]["options"]):
            raise QuestionnaireError(f"profile.{name}.options: codes of at most 16 characters")
    return result


def load(path: str | Path | None = None) -> dict:
    """The questionnaire of `path` (default: the configured file), validated."""
    path = Path(path or current_app.config["PENGADUAN_SKM_QUESTIONNAIRE"])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise QuestionnaireError(f"{path}: {error}") from None
    try:
        return validate(data)
    except QuestionnaireError as error:
        raise QuestionnaireError(f"{path}: {error}") from None


def in_language(questionnaire: dict, lang: str) -> dict:
    """The questionnaire's texts in `lang` (Indonesian when `lang` is not one we have), the
    elements, profile questions and options in the file's order."""
    lang = lang if lang in LANGUAGES else "id"
    elements, profile = questionnaire["elements"], questionnaire["profile"]
    return {
        "elements": {code: {"name": elements[code]["name"][lang], "question": elements[code]["question"][lang],
                            "answers": elements[code]["answers"][lang]}
                     for code in ELEMENTS if code in elements},
        "profile": {name: {"label": profile[name]["label"][lang],
                           "options": {code: profile[name]["options"][code][lang]
                                       for code in profile[name].get("order") or profile[name]["options"]}}
                    for name in PROFILE_FIELDS if name in profile},
    }
