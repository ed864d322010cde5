"""Threats of violence and disclosures of abuse.

``violence_threat`` levels: ``threat_to_agent``, ``threat_to_others``, ``homicidal_ideation``. The experiencer
is who voices the threat. ``abuse_disclosure`` levels: ``domestic``, ``child``, ``elder``, ``sexual``; the
experiencer is the victim ("my husband hits me" is the caller, "he hits my son" is someone else), and every
finding carries the safeguarding ``notes`` of its level from the lexicon.
"""

from __future__ import annotations

from calmline.analysis.lexicon import LexiconAnalyzer


class ViolenceAnalyzer(LexiconAnalyzer):
    """Threats toward the agent or others, and homicidal ideation."""

    name = "violence"
    finding_type = "violence_threat"
    lexicon_file = "violence.yaml"
    code_version = "1"
    group_by_level = False


class AbuseAnalyzer(LexiconAnalyzer):
    """Disclosures of domestic, child, elder and sexual abuse, with safeguarding notes."""

    name = "abuse"
    finding_type = "abuse_disclosure"
    lexicon_file = "abuse.yaml"
    code_version = "1"
