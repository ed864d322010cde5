"""FHIR R4 export of calls (``bundle.py``) and the push to a FHIR server (``push.py``)."""

from __future__ import annotations

from calmline.fhir.bundle import (
    FhirExportError,
    PatientLink,
    build_bundle,
    bundle_json,
    call_entries,
)
from calmline.fhir.push import FhirPushError, PushResult, push_bundle
from calmline.fhir.redaction import CallMasker

__all__ = [
    "CallMasker",
    "FhirExportError",
    "FhirPushError",
    "PatientLink",
    "PushResult",
    "build_bundle",
    "bundle_json",
    "call_entries",
    "push_bundle",
]
