"""The OpenAPI 3 document of API v1. Field lists come from the same places the code reads
(the complaint form's fields, the workflow's fields and triggers), and the test suite fuzzes
the running app against this document."""
from __future__ import annotations

from functools import lru_cache

from ..version import __version__
from ..workflow import current_workflow
from ..workflow.fields import FIELDS
from ..models import CONTACT_NEEDS
from ..services.complaints.intake import CONSENT_VERSION

FILING_FIELDS = {
    "title": {"type": "string", "maxLength": 200}, "description": {"type": "string", "maxLength": 10000},
    "unit": {"type": "string", "description": "unit code (GET /units)"},
    "category": {"type": "string", "description": "category code"},
    "classification": {"type": "string"}, "incident_date": {"type": "string", "format": "date"},
    "incident_location": {"type": "string", "maxLength": 300},
    "service_date": {"type": "string", "format": "date"},
    "requested_resolution": {"type": "string", "maxLength": 5000},
    "privacy": {"type": "string", "enum": ["public", "anonymous", "confidential"]},
    "name": {"type": "string", "maxLength": 200}, "nik": {"type": "string", "pattern": "^[0-9]{16}$"},
    "email": {"type": "string", "maxLength": 254}, "phone": {"type": "string", "maxLength": 32},
    "address": {"type": "string", "maxLength": 1000},
    "contact_needs": {"type": "array", "items": {"type": "string", "enum": list(CONTACT_NEEDS)},
                      "description": "what the complainant needs to be reached or served"},
    "contact_needs_note": {"type": "string", "maxLength": 500},
    "consent": {"type": "boolean", "description": (
        "true when the complainant agreed to the processing of her personal data (UU 27/2022); "
        "required with any of name, nik, email, phone, address (422 naming `consent` otherwise). "
        "Stored with the time and the version of the consent text; show the complainant the "
        "form's text, version " + CONSENT_VERSION)},
}
NULLABLE_STRING = {"type": "string", "nullable": True}
NULLABLE_TIME = {"type": "string", "format": "date-time", "nullable": True}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _ok(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {"400": _error("malformed request"), "401": _error("no or bad token / PIN header"),
          "403": _error("role or unit not allowed"), "404": _error("unknown code or wrong PIN"),
          "409": _error("step not allowed now (allowed_triggers) or changed meanwhile"),
          "413": _error("too large"), "422": _error("missing or invalid fields (named)"),
          "429": _error("rate limited")}


def _errors(*codes: str) -> dict:
    return {code: ERRORS[code] for code in codes}


@lru_cache(maxsize=4)
def _document(workflow_name: str) -> dict:  # built once per workflow in force (the cache key)
    workflow = current_workflow()
    code_param = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
    pin_header = {"name": "X-Tracking-Pin", "in": "header", "required": False,
                  "schema": {"type": "string"}, "description": "the complainant's PIN (instead of a token)"}
    transition_fields = {name: {"description": str(spec.label)} for name, spec in FIELDS.items()}
    return {
        "openapi": "3.0.3",
        "info": {"title": "pengaduan API", "version": f"1 ({__version__})",
                 "description": "File and follow public-service complaints (Perpres 76/2013). Staff "
                                "authenticate with `Authorization: Bearer <token>` (`flask --app run "
                                "users token EMAIL`); a complainant with the complaint's PIN in "
                                "`X-Tracking-Pin`."},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "pin": {"type": "apiKey", "in": "header", "name": "X-Tracking-Pin"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                        "allowed_triggers": {"type": "array", "items": {"type": "string"}}}}}},
                "Unit": {"type": "object", "required": ["code", "name", "categories"], "properties": {
                    "code": {"type": "string"}, "name": {"type": "string"},
                    "categories": {"type": "array", "items": {"type": "object", "required": ["code", "name"],
                                                              "properties": {"code": {"type": "string"},
                                                                             "name": {"type": "string"}}}}}},
                "Filing": {"type": "object", "required": ["title", "description", "unit"],
                           "properties": {**FILING_FIELDS,
                                          "classification": {"type": "string",
                                                             "enum": list(workflow.classifications)}}},
                "Filed": {"type": "object", "required": ["tracking_code", "pin", "state"], "properties": {
                    "tracking_code": {"type": "string"}, "pin": {"type": "string"},
                    "state": {"type": "string"}, "received_at": {"type": "string", "format": "date-time"},
                    "late_filing": {"type": "boolean"}, "due_at": NULLABLE_TIME}},
                "Complaint": {"type": "object", "required": ["tracking_code", "state", "unit", "allowed_triggers"],
                              "properties": {
                                  "tracking_code": {"type": "string"},
                                  "state": {"type": "string", "enum": list(workflow.states)},
                                  "state_label": {"type": "string"}, "closure_reason": NULLABLE_STRING,
                                  "received_at": {"type": "string", "format": "date-time"},
                                  "closed_at": NULLABLE_TIME,
                                  "unit": {"type": "object", "properties": {"code": {"type": "string"},
                                                                            "name": {"type": "string"}}},
                                  "category": NULLABLE_STRING, "classification": {"type": "string"},
                                  "title": {"type": "string"}, "description": {"type": "string"},
                                  "allowed_triggers": {"type": "array", "items": {"type": "string"}},
                                  "due_at": NULLABLE_TIME, "version": {"type": "integer"},
                                  "identity": {"type": "object", "nullable": True,
                                               "description": "only where the caller may see it"},
                                  "contact_needs": {"type": "array",
                                                    "items": {"type": "string", "enum": list(CONTACT_NEEDS)},
                                                    "description": "staff only, as the case page lists them; "
                                                                   "her note on them is in identity"}},
                              "additionalProperties": True},
                "ComplaintSummary": {"type": "object", "required": ["tracking_code", "state", "unit", "title"],
                                     "properties": {
                                         "tracking_code": {"type": "string"},
                                         "state": {"type": "string", "enum": list(workflow.states)},
                                         "state_label": {"type": "string"}, "title": {"type": "string"},
                                         "unit": {"type": "object", "properties": {"code": {"type": "string"},
                                                                                   "name": {"type": "string"}}},
                                         "category": NULLABLE_STRING, "privacy": {"type": "string"},
                                         "received_at": {"type": "string", "format": "date-time"},
                                         "stage_due_at": NULLABLE_TIME, "resolution_due_at": NULLABLE_TIME,
                                         "assignee": NULLABLE_STRING},
                                     "additionalProperties": True},
                "ComplaintList": {"type": "object", "required": ["items", "next_cursor"], "properties": {
                    "items": {"type": "array", "items": _ref("ComplaintSummary")}, "next_cursor": NULLABLE_STRING}},
                "Transition": {"type": "object", "required": ["trigger"], "properties": {
                    "trigger": {"type": "string", "enum": [t.trigger for t in workflow.transitions]},
                    "version": {"type": "integer", "description": "the version you read (conflict check)"},
                    **transition_fields}},
                "Event": {"type": "object", "required": ["id", "occurred_at", "kind", "actor_role"], "properties": {
                    "id": {"type": "integer"}, "occurred_at": {"type": "string", "format": "date-time"},
                    "kind": {"type": "string"}, "trigger": NULLABLE_STRING, "from_state": NULLABLE_STRING,
                    "to_state": NULLABLE_STRING, "actor_role": {"type": "string"}, "actor": NULLABLE_STRING,
                    "unit": NULLABLE_STRING, "public": {"type": "boolean"}, "data": {"type": "object"}}},
            },
        },
        "paths": {
            "/units": {"get": {"summary": "Units and the categories each offers", "security": [],
                               "responses": {"200": _ok({"type": "array", "items": _ref("Unit")})}}},
            "/complaints": {
                "post": {"summary": "File a complaint (answer holds the tracking code and PIN, once)",
                         "security": [],
                         "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Filing")}}},
                         "responses": {"201": _ok(_ref("Filed"), "filed"), **_errors("400", "413", "422", "429")}},
                "get": {"summary": "A page of the complaints the staff member may see, nearest deadline first",
                        "security": [{"bearer": []}],
                        "parameters": [
                            {"name": "state", "in": "query", "schema": {"type": "string", "enum": list(workflow.states)}},
                            {"name": "unit", "in": "query", "schema": {"type": "string"}},
                            {"name": "overdue", "in": "query", "schema": {"type": "boolean"}},
                            {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
                        "responses": {"200": _ok(_ref("ComplaintList")), **_errors("401", "403", "422")}}},
            "/complaints/{code}": {"get": {
                "summary": "The complaint as the caller may see it", "security": [{"bearer": []}, {"pin": []}],
                "parameters": [code_param, pin_header],
                "responses": {"200": _ok(_ref("Complaint")), **_errors("401", "404", "429")}}},
            "/complaints/{code}/transitions": {"post": {
                "summary": "Fire a workflow step (staff triggers with a token, the complainant's with the PIN)",
                "security": [{"bearer": []}, {"pin": []}], "parameters": [code_param, pin_header],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Transition")}}},
                "responses": {"200": _ok(_ref("Complaint")),
                              **_errors("400", "401", "403", "404", "409", "422", "429")}}},
            "/complaints/{code}/events": {"get": {
                "summary": "The complaint's timeline, internal steps included (staff)",
                "security": [{"bearer": []}], "parameters": [code_param],
                "responses": {"200": _ok({"type": "array", "items": _ref("Event")}), **_errors("401", "404")}}},
        },
    }


def document() -> dict:
    return _document(current_workflow().name)
