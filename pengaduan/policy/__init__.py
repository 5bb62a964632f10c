"""Who may see and do what: the one place permission decisions are made.

actor.py says who acts (the `Actor` every service is given) and names groups of roles;
complaints.py decides what an actor may see and do with a complaint; oversight.py who looks
across units (reports, evidence packs, the overdue review, the audit log); supervision.py who reads and keeps
supervision records and standing documents; surveys.py who runs the SKM and reads its results; readiness.py who reads the readiness for the assessment; standards.py who reads and keeps the service standards; compensation.py who reads and keeps the register of compensation given; ombudsman.py who reads and keeps the register of Ombudsman products; evaluation.py who records findings on closed complaints and reads and acts on the complaint evaluation report; accounts.py who administers; home.py what each
staff member's home page shows. Policy reads models only: it never imports services or web.
"""
from ..models import Role
from .accounts import (can_administer, must_use_two_factor,
                       two_factor_roles, two_factor_roles_unprotected)
from .actor import CASE_READERS, CROSS_UNIT, STAFF_WITH_UNITS, Actor, handles_cases, reads_cases
from .compensation import (can_correct_compensation, can_read_compensation, can_record_compensation,
                           can_view_compensation)
from .complaints import (acts_as_complainant, can_add_note, can_browse_queue, can_fire, can_post_message,
                         can_mark_instruction_done, can_record_lapor_posting, can_reveal_identity, can_see_identity,
                         can_supervise, can_view, is_addressed_to, is_member, oversees,
                         reads_as_complainant)
from .evaluation import can_act_on_evaluation, can_read_evaluation, can_record_finding, sees_complaint_content
from .ombudsman import (can_keep_ombudsman_product, can_read_ombudsman, can_record_ombudsman_product,
                        can_update_ombudsman_item, can_view_ombudsman_product, sees_every_product)
from .home import has_home, sees_own_work, sees_setup_status, sees_unit_figures, watches_units
from .oversight import (audit_log_shows_case_text, can_export_evidence, can_read_audit_log,
                        can_read_reports, can_review_overdue, sees_all_units)
from .readiness import can_read_readiness, can_read_unit_readiness
from .standards import can_edit_standard, can_read_standards, keeps_standards
from .surveys import (can_enter_questionnaires, can_follow_up_survey, can_open_survey,
                      can_read_survey_results, can_use_surveys)
from .supervision import (can_edit_record, can_read_supervision, can_record_supervision,
                          can_upload_document, can_view_documents, can_view_record,
                          keeps_every_unit_documents, sees_every_record)

__all__ = [
    "can_keep_ombudsman_product", "can_read_ombudsman", "can_record_ombudsman_product",
    "can_update_ombudsman_item", "can_view_ombudsman_product", "sees_every_product",
    "can_correct_compensation", "can_read_compensation", "can_record_compensation", "can_view_compensation",
    "CASE_READERS", "CROSS_UNIT", "STAFF_WITH_UNITS", "Actor", "Role", "acts_as_complainant",
    "audit_log_shows_case_text", "can_read_audit_log",
    "can_add_note", "can_administer", "must_use_two_factor",
    "two_factor_roles", "two_factor_roles_unprotected", "can_browse_queue", "can_edit_record", "can_export_evidence",
    "can_fire", "can_mark_instruction_done", "can_record_lapor_posting", "can_post_message", "can_read_reports", "can_read_supervision", "can_record_supervision",
    "can_review_overdue", "can_reveal_identity", "can_see_identity", "can_supervise",
    "can_upload_document", "can_view", "can_view_documents", "can_view_record", "handles_cases",
    "has_home", "is_addressed_to", "is_member", "keeps_every_unit_documents", "oversees", "reads_as_complainant", "reads_cases",
    "sees_all_units", "sees_every_record", "sees_own_work", "sees_setup_status", "sees_unit_figures",
    "watches_units", "can_enter_questionnaires", "can_follow_up_survey", "can_open_survey",
    "can_read_survey_results", "can_use_surveys", "can_read_readiness", "can_read_unit_readiness",
    "can_edit_standard", "can_read_standards", "keeps_standards",
    "can_act_on_evaluation", "can_read_evaluation", "can_record_finding", "sees_complaint_content",
]
