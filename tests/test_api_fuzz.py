"""The OpenAPI document against the running API: schemathesis generates requests from the
document (a bounded number per operation, so the suite stays quick) and checks that the app
never answers 500 and that every answer conforms to the document."""
from __future__ import annotations

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance
from hypothesis import HealthCheck, given, settings

from pengaduan.extensions import db
from pengaduan.models import User
from pengaduan.services import create_category, create_unit, create_user, file_complaint, issue_token


@pytest.fixture
def api_schema(app):
    """The document as the app serves it, with a unit, a category, a complaint and an
    officer's token to call with."""
    with app.app_context():
        create_unit("UNIT-A", "Dinas A")
        create_category("GENERAL", "Umum")
        officer, _ = create_user("officer.a@example.id", "officer", password="correct horse battery",
                                 unit_codes=["UNIT-A"])
        file_complaint({"unit": "UNIT-A", "category": "GENERAL", "title": "KTP-el", "description": "Belum jadi.",
                        "name": "Budi", "consent": True})
        token = issue_token(User.by_email("officer.a@example.id"))
        db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.headers = {"Authorization": f"Bearer {token}"}
    return schema


def test_api_conforms_to_its_document(api_schema):
    """No 500, and status codes, content types and bodies as the document says, for a
    bounded number of generated requests per operation."""
    checked = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None, derandomize=True)  # the same examples every run
        def call(case):
            # Schema-valid but unknown codes (a unit that does not exist, a name missing for a
            # non-anonymous filing) are rightly refused with 422: that check does not apply.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        call()
        checked += 1
    assert checked == 6  # every operation of the document was exercised
