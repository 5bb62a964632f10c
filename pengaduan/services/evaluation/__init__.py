"""Maladministration findings on closed complaints and the quarterly complaint evaluation report
(laporan evaluasi pengaduan): findings.py records or corrects a finding; report.py groups a
quarter's closed complaints by root cause, form of maladministration, category and unit; actions.py
turns a group into an improvement action (supervision actions of kind complaint_evaluation)."""
