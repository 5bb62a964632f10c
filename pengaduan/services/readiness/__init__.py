"""Readiness for the assessment: which items the assessors ask about (a rule file, data),
the evidence in the system that satisfies each (registered sources), and every unit's status
per item: green, amber or red, with what was found and what is missing."""
from .assessment import CSV_COLUMNS, Assessment, ItemResult, UnitResult, assess, csv_rows, current_rules, rules_path
from .registry import SOURCES, STATUSES, Finding, Param
from .rules import RuleSet, RulesError, load

__all__ = ["Assessment", "CSV_COLUMNS", "Finding", "ItemResult", "Param", "RuleSet", "RulesError", "SOURCES",
           "STATUSES", "UnitResult", "assess", "csv_rows", "current_rules", "load", "rules_path"]
