"""A call as FHIR R4 resources (built and validated with ``fhir.resources``' R4B models), in one Bundle.

Per call: an ``Encounter`` (the call), a ``Communication`` (the transcript, redacted), a ``RiskAssessment``
(suicide or self-harm risk the caller disclosed: tier as qualitative risk, the redacted words as notes), a
``Flag`` per safety concern an alert was raised for (suicide, self-harm, violence, abuse) and a ``Task`` per
follow-up the call's protocols scheduled. Everything is derived from the call's event log through the
post-call summary: the same log gives the same bytes (ids are UUIDv5 of the call id, times are the events').

Resources reference each other by their ``urn:uuid:`` full URLs. A ``transaction`` bundle carries, per entry,
a conditional update on the resource's calmline identifier (``PUT Encounter?identifier=...``), so pushing a
call twice updates instead of duplicating. Why R4B models for R4 servers: ``docs/DECISIONS.md`` (D16).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.riskassessment import RiskAssessment
from fhir.resources.R4B.task import Task

from calmline.events import AnyEvent, UtteranceReceived
from calmline.fhir.redaction import CallMasker
from calmline.postcall.models import CallSummary, RiskFinding
from calmline.postcall.summary import summarize
from calmline.privacy import Redactor

BundleType = Literal["collection", "transaction"]

#: Namespace of every UUID calmline derives for FHIR (full URLs, bundle ids).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:calmline:fhir")
CALL_ID_SYSTEM = "urn:calmline:call-id"
RESOURCE_ID_SYSTEM = "urn:calmline:resource-id"
CALLER_REF_SYSTEM = "urn:calmline:caller-ref"
UNLINKED_CALLER_SYSTEM = "urn:calmline:caller-of-call"
AGENT_SYSTEM = "urn:calmline:agent-id"
FOLLOWUP_KIND_SYSTEM = "urn:calmline:followup-kind"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"

#: Findings that make the suicide RiskAssessment, and the tier order.
RISK_ASSESSED = frozenset({"suicide_risk", "self_harm"})
TIER_RANK = {"low": 0, "moderate": 1, "high": 2, "imminent": 3}
#: Tier → risk-probability code. "certain" is never claimed: imminent is the top of "high".
TIER_RISK = {
    "low": ("low", "Low likelihood"),
    "moderate": ("moderate", "Moderate likelihood"),
    "high": ("high", "High likelihood"),
    "imminent": ("high", "High likelihood"),
}
#: Alert kinds that become a safety Flag, with the Flag's wording.
FLAG_KINDS = {
    "suicide_risk": "Suicide risk",
    "self_harm": "Self-harm risk",
    "violence_threat": "Threat of violence",
    "abuse_disclosure": "Abuse disclosed",
}
#: Protocol severity → Task priority.
TASK_PRIORITY = {"critical": "asap", "high": "urgent"}
TRANSCRIPT_NOTE = "Speech-to-text transcript; identifiers replaced by placeholders (docs/FHIR.md)."
_REFERENCE = re.compile(r"^(https?://\S+/)?[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")


class FhirExportError(ValueError):
    """The export cannot be built (a bad patient reference, an unknown call)."""


@dataclass(frozen=True)
class PatientLink:
    """Where the patient reference comes from (the EHR integration supplies it).

    ``reference`` ("Patient/123") is used for every call; otherwise ``by_caller_ref`` maps the call's
    ``caller_ref`` to one. Without either, the reference is identifier-only: the pseudonymous ``caller_ref``
    (system ``urn:calmline:caller-ref``), or the call id (system ``urn:calmline:caller-of-call``).
    """

    reference: str | None = None
    by_caller_ref: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for ref in [self.reference, *self.by_caller_ref.values()]:
            if ref is not None and not _REFERENCE.match(ref):
                raise FhirExportError(f"not a FHIR reference (expected Type/id, e.g. Patient/123): {ref!r}")

    def for_call(self, call_id: str, caller_ref: str | None) -> dict[str, Any]:
        """The ``Reference`` to the patient of one call."""
        ref = self.reference or (self.by_caller_ref.get(caller_ref) if caller_ref else None)
        if ref:
            return {"reference": ref}
        if caller_ref:
            return {"identifier": {"system": CALLER_REF_SYSTEM, "value": caller_ref}, "display": "caller"}
        return {
            "identifier": {"system": UNLINKED_CALLER_SYSTEM, "value": call_id},
            "display": "caller (not linked to a patient record)",
        }


@dataclass(frozen=True)
class CallResource:
    """One validated resource of a call, with its name within the call and its calmline identifier."""

    name: str
    identifier: dict[str, str]
    resource: Resource


def urn(call_id: str, name: str) -> str:
    """The stable ``urn:uuid:`` of one resource of a call."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{call_id}/{name}')}"


def call_entries(
    call_id: str,
    events: Sequence[AnyEvent],
    *,
    patient: PatientLink | None = None,
    redactor: Redactor | None = None,
) -> list[CallResource]:
    """The validated resources of one call, Encounter first."""
    summary = summarize(call_id, events)
    if summary.started_at is None:
        raise FhirExportError(f"call {call_id} has no call.started event")
    subject = (patient or PatientLink()).for_call(call_id, summary.caller_ref)
    enc = {"reference": urn(call_id, "encounter")}
    utterances = sorted((e for e in events if isinstance(e, UtteranceReceived)), key=lambda u: u.seq)
    mask = CallMasker(summary.reason.stated, utterances, redactor)
    entries = [
        CallResource(
            "encounter", {"system": CALL_ID_SYSTEM, "value": call_id}, _encounter(summary, subject, mask)
        )
    ]
    if utterances:
        entries.append(
            _own("transcript", call_id, _transcript(summary, utterances, subject, enc, mask)),
        )
    risk = _risk_assessment(summary, subject, enc, mask, has_transcript=bool(utterances))
    if risk is not None:
        entries.append(_own("suicide-risk", call_id, risk))
    seen: set[str] = set()
    for alert in summary.escalations:
        if alert.kind in FLAG_KINDS and alert.kind not in seen:
            seen.add(alert.kind)
            flag = Flag.model_validate(
                {
                    "identifier": [_ident(call_id, f"flag/{alert.kind}")],
                    "status": "active",
                    "category": [
                        {"coding": [{"system": FLAG_CATEGORY, "code": "safety", "display": "Safety"}]}
                    ],
                    "code": {"text": f"{FLAG_KINDS[alert.kind]} ({alert.severity} alert on a call)"},
                    "subject": subject,
                    "period": {"start": _ts(alert.raised_at)},
                    "encounter": enc,
                }
            )
            entries.append(_own(f"flag/{alert.kind}", call_id, flag))
    severities = {p.protocol_id: p.severity for p in summary.protocols}
    for n, followup in enumerate(summary.followups, start=1):
        task: dict[str, Any] = {
            "identifier": [_ident(call_id, f"followup/{n}")],
            "status": "requested",
            "intent": "order",
            "priority": TASK_PRIORITY.get(severities.get(followup.protocol_id, ""), "routine"),
            "code": {
                "coding": [{"system": FOLLOWUP_KIND_SYSTEM, "code": followup.kind}],
                "text": followup.kind.replace("_", " "),
            },
            "description": f"Follow-up ({followup.kind.replace('_', ' ')}) after a call, "
            f"scheduled by protocol {followup.protocol_id}",
            "for": subject,
            "encounter": enc,
            "authoredOn": _ts(followup.scheduled_at),
            "restriction": {"period": {"end": _ts(followup.due_by)}},
        }
        if risk is not None:
            task["reasonReference"] = {"reference": urn(call_id, "suicide-risk")}
        entries.append(_own(f"followup/{n}", call_id, Task.model_validate(task)))
    return entries


def build_bundle(
    calls: Sequence[tuple[str, Sequence[AnyEvent]]],
    *,
    bundle_type: BundleType = "collection",
    patient: PatientLink | None = None,
    redactor: Redactor | None = None,
) -> Bundle:
    """One validated Bundle holding the resources of every call given (in the order given)."""
    entries: list[dict[str, Any]] = []
    latest: datetime | None = None
    for call_id, events in calls:
        for item in call_entries(call_id, events, patient=patient, redactor=redactor):
            entry: dict[str, Any] = {
                "fullUrl": urn(call_id, item.name),
                "resource": item.resource.model_dump(mode="json", by_alias=True, exclude_none=True),
            }
            if bundle_type == "transaction":
                kind = item.resource.get_resource_type()
                search = quote(f"{item.identifier['system']}|{item.identifier['value']}", safe=":|")
                entry["request"] = {"method": "PUT", "url": f"{kind}?identifier={search}"}
            entries.append(entry)
        times = [t for e in events if (t := getattr(e, "at", None) or getattr(e, "started_at", None))]
        if times:
            latest = max([*times, latest] if latest else times)
    ids = "|".join(call_id for call_id, _ in calls)
    data: dict[str, Any] = {
        "id": str(uuid.uuid5(NAMESPACE, f"bundle/{bundle_type}/{ids}")),
        "type": bundle_type,
        "entry": entries,
    }
    if latest is not None:
        data["timestamp"] = _ts(latest)
    return Bundle.model_validate(data)


def bundle_json(bundle: Bundle, *, indent: int | None = 2) -> str:
    """The Bundle as FHIR JSON, keys sorted (byte-for-byte reproducible)."""
    data = bundle.model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.dumps(data, sort_keys=True, indent=indent, ensure_ascii=False)


# -- resources --------------------------------------------------------------------------------------


def _encounter(summary: CallSummary, subject: dict[str, Any], mask: CallMasker) -> Encounter:
    ended = summary.disposition.status == "ended"
    data: dict[str, Any] = {
        "identifier": [{"system": CALL_ID_SYSTEM, "value": summary.call_id}],
        "status": "finished" if ended else "in-progress",
        "class": {"system": ACT_CODE, "code": "VR", "display": "virtual"},
        "type": [
            {
                "coding": [{"system": SNOMED, "code": "185317003", "display": "Telephone encounter"}],
                "text": "Call to the medical call center",
            }
        ],
        "subject": subject,
        "period": {"start": _ts(summary.started_at)},
    }
    if summary.queue:
        data["serviceType"] = {"text": summary.queue}
    if ended and summary.disposition.ended_at is not None:
        data["period"]["end"] = _ts(summary.disposition.ended_at)
    if summary.disposition.duration_s is not None:
        minutes = round(summary.disposition.duration_s / 60, 2)
        data["length"] = {"value": minutes, "unit": "min", "system": UCUM, "code": "min"}
    if mask.reason:
        data["reasonCode"] = [{"text": mask.reason}]
    if summary.agent_id:
        data["participant"] = [
            {"individual": {"identifier": {"system": AGENT_SYSTEM, "value": summary.agent_id}}}
        ]
    return Encounter.model_validate(data)


def _transcript(
    summary: CallSummary,
    utterances: Sequence[UtteranceReceived],
    subject: dict[str, Any],
    enc: dict[str, Any],
    mask: CallMasker,
) -> Communication:
    return Communication.model_validate(
        {
            "identifier": [_ident(summary.call_id, "transcript")],
            "status": "completed" if summary.disposition.status == "ended" else "in-progress",
            "category": [{"text": "Call transcript (redacted)"}],
            "medium": [{"coding": [{"system": PARTICIPATION_MODE, "code": "PHONE", "display": "telephone"}]}],
            "subject": subject,
            "encounter": enc,
            "sent": _ts(summary.started_at),
            "payload": [
                {"contentString": f"[{_clock(u.start_ms / 1000)}] {u.speaker}: {mask.utterance(u.seq)}"}
                for u in utterances
            ],
            "note": [{"text": TRANSCRIPT_NOTE}],
        }
    )


def _risk_assessment(
    summary: CallSummary,
    subject: dict[str, Any],
    enc: dict[str, Any],
    mask: CallMasker,
    *,
    has_transcript: bool,
) -> RiskAssessment | None:
    findings = [
        f
        for f in summary.risk_findings
        if f.type in RISK_ASSESSED and f.assertion in ("present", "uncertain") and f.experiencer == "caller"
    ]
    if not findings:
        return None
    worst = max(findings, key=lambda f: (TIER_RANK.get(f.tier or "", -1), f.score))
    qualitative: dict[str, Any] = {"text": worst.tier or worst.level}
    if worst.tier in TIER_RISK:
        code, display = TIER_RISK[worst.tier]
        qualitative["coding"] = [{"system": RISK_PROBABILITY, "code": code, "display": display}]
    data: dict[str, Any] = {
        "identifier": [_ident(summary.call_id, "suicide-risk")],
        "status": "final",
        "code": {"text": "Suicide risk (calmline, from the call transcript)"},
        "method": {"text": ", ".join(sorted({f.analyzer for f in findings}))},
        "subject": subject,
        "encounter": enc,
        "occurrenceDateTime": _ts(worst.at),
        "prediction": [
            {
                "outcome": {"text": "Suicide attempt or self-harm"},
                "qualitativeRisk": qualitative,
                "rationale": f"highest finding: {worst.type}/{worst.level}"
                + (f", tier {worst.tier}" if worst.tier else ""),
            }
        ],
        "note": [{"text": _evidence_note(f, summary, mask)} for f in findings],
    }
    if has_transcript:
        data["basis"] = [{"reference": urn(summary.call_id, "transcript")}]
    done = [
        f"protocol {p.protocol_id} ({p.title}): {p.required_done} of {p.required_total} required steps done"
        for p in summary.protocols
        if p.severity in ("high", "critical")
    ]
    if done:
        data["mitigation"] = "; ".join(done)
    return RiskAssessment.model_validate(data)


def _evidence_note(finding: RiskFinding, summary: CallSummary, mask: CallMasker) -> str:
    start = summary.started_at
    when = _clock((finding.at - start).total_seconds()) if start else "?"
    quotes = [f'"{mask.quote(q.utterance_seq, q.start, q.end)}"' for q in finding.evidence]
    words = " … ".join(quotes) or "(no words quoted)"
    tier = f", tier {finding.tier}" if finding.tier else ""
    return f"{finding.type}/{finding.level}{tier} ({finding.assertion}) at {when}: {words}"


# -- helpers ----------------------------------------------------------------------------------------


def _own(name: str, call_id: str, resource: Resource) -> CallResource:
    return CallResource(name, _ident(call_id, name), resource)


def _ident(call_id: str, name: str) -> dict[str, str]:
    return {"system": RESOURCE_ID_SYSTEM, "value": f"{call_id}/{name}"}


def _ts(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _clock(seconds: float) -> str:
    total = max(0, int(seconds))
    return f"{total // 60:02d}:{total % 60:02d}"
