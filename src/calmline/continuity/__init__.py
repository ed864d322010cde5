"""Caller continuity (issue 12): pseudonymous callers across calls, their timeline, safety plans, screening.

* ``rules`` — pure: the repeat-caller rules of ``resources/continuity.yaml`` (imported by the engine).
* ``identity`` — the keyed hash that turns a number into a ``caller_ref``; links, merges and unlinks.
* ``history`` — the ``caller.history`` input the shell writes when a known caller's call starts.
* ``timeline`` — what an agent or supervisor sees of a known caller (minimum necessary, audited).
* ``safety_plan`` and ``cssrs`` — the Stanley–Brown safety plan and the C-SSRS screener, with FHIR export.

This package file imports nothing heavy, so the pure engine can import ``calmline.continuity.rules``.
See docs/CONTINUITY.md.
"""
