"""After the call: QA scorecards, reports with charts, follow-up (caring contact) tasks, patient feedback.

Everything here reads the event log and its projections and writes only its own tables (migration 0004):
``qa_reviews`` (reviewer overrides), ``followups`` and ``patient_feedback``. Practice calls never reach a
report, a calibration or a follow-up (``common.is_practice``).
"""
