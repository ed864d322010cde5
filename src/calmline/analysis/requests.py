"""Requests an agent must not simply answer: someone else's health information, medical and legal advice.

One analyzer emits three finding types (the rule's ``type`` in ``rules/en/requests.yaml``):
``phi_request_third_party``, ``medical_advice_request`` and ``legal_advice_request``.
"""

from __future__ import annotations

from calmline.analysis.lexicon import LexiconAnalyzer


class RequestAnalyzer(LexiconAnalyzer):
    """Third-party PHI requests, medical advice requests and legal advice requests."""

    name = "requests"
    finding_type = "medical_advice_request"
    lexicon_file = "requests.yaml"
    code_version = "1"
    group_by_level = False
