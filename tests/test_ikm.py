"""The IKM of PermenPANRB 14/2017, exactly (domain.md section 9): the worked example, the
rounding at the grade boundaries (rounded once, half up, from exact fractions), unanswered
elements, why the weight must be 1/9 and not 0.111, and the Krejcie-Morgan sample targets.

Most tests are pure arithmetic on element totals; the last ones sum stored questionnaires in
the database (SQLite, and PostgreSQL when PENGADUAN_TEST_DATABASE_URL is set)."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from pengaduan.extensions import db
from pengaduan.models import ELEMENTS, SurveyPeriod, SurveyResponse
from pengaduan.services.surveys import questionnaire
from pengaduan.services.surveys.ikm import from_scores, from_totals, grade, round_half_up
from pengaduan.services.surveys.periods import parse, sample_target
from pengaduan.services.surveys.results import tally, tally_period

# domain.md section 9: 29 respondents, every element answered by all.
WORKED_TOTALS = (105, 101, 100, 116, 102, 105, 106, 105, 115)


def everyone_answered(respondents: int, totals) -> object:
    """The IKM of `respondents` who all answered every element, with these element totals."""
    return from_totals(respondents, dict(zip(ELEMENTS, totals)), {code: respondents for code in ELEMENTS})


def spread(total: int, parts: int = 9) -> list[int]:
    """`total` split over `parts` elements as evenly as whole numbers allow."""
    share, extra = divmod(total, parts)
    return [share + (1 if i < extra else 0) for i in range(parts)]


def rows_for(respondents: int, totals) -> list[list[int]]:
    """Questionnaires (scores 1-4) whose element totals are `totals`."""
    rows = [[0] * len(ELEMENTS) for _ in range(respondents)]
    for i, total in enumerate(totals):
        base, extra = divmod(total, respondents)
        assert 1 <= base <= 4 and (base < 4 or extra == 0)
        for r in range(respondents):
            rows[r][i] = base + (1 if r < extra else 0)
    return rows


# --- the worked example ------------------------------------------------------------------

def test_the_worked_example_gives_91_48_grade_a():
    ikm = everyone_answered(29, WORKED_TOTALS)
    assert sum(WORKED_TOTALS) == 955
    assert ikm.interval == Fraction(955, 29 * 9)
    assert ikm.converted == Decimal("91.48")
    assert ikm.mutu == "A" and grade(ikm.converted) == ("A", "Sangat baik", "Very good")
    assert ikm.complete
    assert [str(ikm.nrr_rounded(code)) for code in ELEMENTS] == [
        "3.62", "3.48", "3.45", "4.00", "3.52", "3.62", "3.66", "3.62", "3.97"]
    assert ikm.lowest(3) == ["U3", "U2", "U5"]
    assert ikm.as_json("UNIT-A", "2026-Q3") == {
        "unit": "UNIT-A", "period": "2026-Q3", "respondents": 29,
        "nrr": {"U1": 3.62, "U2": 3.48, "U3": 3.45, "U4": 4.0, "U5": 3.52, "U6": 3.62, "U7": 3.66,
                "U8": 3.62, "U9": 3.97}, "ikm": 91.48, "mutu": "A"}


def test_the_same_from_the_questionnaires_themselves():
    ikm = from_scores(rows_for(29, WORKED_TOTALS))
    assert ikm.respondents == 29 and ikm.converted == Decimal("91.48")


def test_rounded_weights_would_give_other_values_but_the_ikm_uses_one_ninth_exactly():
    nrr_sum = sum(Fraction(t, 29) for t in WORKED_TOTALS)
    assert round_half_up(nrr_sum * Fraction("0.111") * 25) == Decimal("91.38")
    assert round_half_up(nrr_sum * Fraction("0.11") * 25) == Decimal("90.56")
    assert everyone_answered(29, WORKED_TOTALS).converted == Decimal("91.48")


def test_rounding_the_nrr_first_is_not_what_the_ikm_does():
    """The displayed NRR are rounded; the IKM is computed from the exact ones."""
    ikm = everyone_answered(29, WORKED_TOTALS)
    from_displayed = sum(Fraction(ikm.nrr_rounded(code)) for code in ELEMENTS) / 9 * 25
    assert from_displayed != ikm.interval * 25


# --- rounding at the grade boundaries ------------------------------------------------------
# 1,000 respondents who answered everything: converted = 25 x total / 9,000.

@pytest.mark.parametrize("total, converted, mutu", [
    (31789, "88.30", "B"),  # 88.3027...
    (31790, "88.31", "A"),  # 88.3055...
    (27577, "76.60", "C"),  # 76.6027...
    (27578, "76.61", "B"),  # 76.6055...
])
def test_one_point_more_crosses_a_grade_boundary(total, converted, mutu):
    ikm = everyone_answered(1000, spread(total))
    assert ikm.converted == Decimal(converted)
    assert ikm.mutu == mutu


@pytest.mark.parametrize("total, converted, mutu", [
    (158949, "88.31", "A"),  # exactly 88.305
    (137889, "76.61", "B"),  # exactly 76.605
])
def test_an_exact_half_rounds_up_once(total, converted, mutu):
    """5,000 respondents whose converted value is exactly on the half: it rounds up, so the
    unit gets the better grade. A float would not even hold 88.305 exactly."""
    ikm = everyone_answered(5000, spread(total))
    assert ikm.interval * 25 == Fraction(converted) - Fraction(5, 1000)
    assert ikm.converted == Decimal(converted)
    assert ikm.mutu == mutu


def test_the_grade_table_edges():
    assert [grade(Decimal(v))[0] for v in ("100.00", "88.31", "88.30", "76.61", "76.60", "65.00",
                                           "64.99", "25.00")] == ["A", "A", "B", "B", "C", "C", "D", "D"]


def test_round_half_up_is_exact_and_rounds_once():
    assert round_half_up(Fraction(88305, 1000)) == Decimal("88.31")
    assert round_half_up(Fraction(883049999, 10 ** 7)) == Decimal("88.30")
    # Rounding twice (to three decimals, then two) would give 88.31 here; once gives 88.30.
    assert round_half_up(Fraction(883046, 10000)) == Decimal("88.30")


# --- unanswered elements -----------------------------------------------------------------

def test_an_element_s_nrr_divides_by_those_who_answered_it():
    rows = [[4, 4, 4, 4, 4, 4, 4, 4, 4],
            [2, None, 2, 2, 2, 2, 2, 2, 2],
            [3, None, None, 3, 3, 3, 3, 3, 3]]
    ikm = from_scores(rows)
    assert ikm.respondents == 3
    assert ikm.answered["U2"] == 1 and ikm.nrr("U2") == 4
    assert ikm.nrr("U3") == Fraction(6, 2) and ikm.nrr("U1") == 3
    assert ikm.complete
    expected = (Fraction(9, 3) + 4 + 3 + Fraction(9, 3) * 6) / 9 * 25
    assert ikm.converted == round_half_up(expected) == Decimal("77.78")


def test_an_element_nobody_answered_is_left_out_and_the_report_says_so():
    rows = [[4, 4, 4, 4, 4, 4, 4, 4, None], [3, 3, 3, 3, 3, 3, 3, 3, None]]
    ikm = from_scores(rows)
    assert not ikm.complete and "U9" not in ikm.elements and ikm.nrr("U9") is None
    assert ikm.interval == Fraction(7, 2)  # the average of the eight elements answered
    assert ikm.converted == Decimal("87.50") and ikm.mutu == "B"
    shown = ikm.as_json("U", "2026")
    assert list(shown) == ["unit", "period", "respondents", "nrr", "ikm", "mutu"]
    assert list(shown["nrr"]) == [f"U{i}" for i in range(1, 10)]  # every element, in order
    assert shown["nrr"]["U9"] is None and shown["nrr"]["U1"] == 3.5 and shown["ikm"] == 87.5
    assert '"U9": null' in json.dumps(shown)


def test_no_questionnaire_has_no_ikm():
    ikm = from_scores([])
    assert ikm.converted is None and ikm.mutu is None and ikm.lowest() == []


# --- the sample target ---------------------------------------------------------------------

@pytest.mark.parametrize("population, target", [(100, 80), (1000, 278), (10000, 370), (0, 0), (1, 1)])
def test_krejcie_morgan_targets(population, target):
    assert sample_target(population) == target


# --- through the database ------------------------------------------------------------------

def _period(unit, label="2026-Q3", services=("KTP-el", "KK")) -> SurveyPeriod:
    period = parse(label)
    survey = SurveyPeriod(unit_id=unit.id, label=period.label, starts_on=period.start,
                          ends_on=period.end, service_types=list(services), population=1000,
                          questionnaire=questionnaire.load())
    db.session.add(survey)
    db.session.flush()
    return survey


def _store(survey, rows, service=None, channel="web"):
    for row in rows:
        db.session.add(SurveyResponse(period_id=survey.id, channel=channel, service_type=service,
                                      **{code.lower(): score for code, score in zip(ELEMENTS, row)}))
    db.session.flush()


def test_the_database_sums_give_the_worked_example(world):
    survey = _period(world.unit_a)
    rows = rows_for(29, WORKED_TOTALS)
    _store(survey, rows[:20], "KTP-el")
    _store(survey, rows[20:], "KK", channel="paper")
    db.session.commit()
    overall = tally([world.unit_a.id], parse("2026-Q3"))
    assert overall.respondents == 29 and overall.converted == Decimal("91.48") and overall.mutu == "A"
    assert tally([world.unit_b.id], parse("2026-Q3")).respondents == 0
    assert tally(None, parse("2026")).converted == Decimal("91.48")  # the year takes its quarters
    by_service = tally_period(survey)
    assert by_service[None].converted == Decimal("91.48")
    assert by_service["KTP-el"].respondents == 20 and by_service["KK"].respondents == 9
    assert by_service["KTP-el"].converted == from_scores(rows[:20]).converted


def test_the_database_sums_leave_unanswered_elements_out(world):
    survey = _period(world.unit_a)
    _store(survey, [[4, 4, 4, 4, 4, 4, 4, 4, None], [3, 3, 3, 3, 3, 3, 3, 3, None], [2, None, 2, 2, 2, 2, 2, 2, None]])
    db.session.commit()
    ikm = tally_period(survey)[None]
    assert ikm.answered["U2"] == 2 and ikm.nrr("U2") == Fraction(7, 2)
    assert not ikm.complete and ikm.converted == from_scores(
        [[4, 4, 4, 4, 4, 4, 4, 4, None], [3, 3, 3, 3, 3, 3, 3, 3, None], [2, None, 2, 2, 2, 2, 2, 2, None]]).converted


def test_a_boundary_case_stored_rounds_the_same_in_the_database(world):
    """1,000 stored questionnaires whose exact IKM is 88.3055...: A, on both databases."""
    survey = _period(world.unit_a)
    totals = spread(31790)
    _store(survey, rows_for(1000, totals))
    db.session.commit()
    assert tally_period(survey)[None].converted == Decimal("88.31")
