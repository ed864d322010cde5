"""``calmline fhir`` (calls as FHIR R4: export, push) and ``calmline adapt`` (transcripts → events)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from calmline.settings import Settings

if TYPE_CHECKING:
    from calmline.events import AnyEvent
    from calmline.fhir import PatientLink, PushResult
    from calmline.fhir.bundle import BundleType

fhir_app = typer.Typer(
    help="FHIR R4 export of calls: Encounter, transcript, RiskAssessment, Flag, Task (docs/FHIR.md).",
    no_args_is_help=True,
)
err = Console(stderr=True)

CallOpt = Annotated[
    list[str] | None, typer.Option("--call", "-c", help="A call id (repeatable); default every ended call.")
]
PatientRefOpt = Annotated[
    str | None,
    typer.Option(
        "--patient-ref",
        envvar="CALMLINE_FHIR_PATIENT_REF",
        help="The patient reference for the calls, e.g. Patient/123 (from the EHR integration).",
    ),
]
PatientMapOpt = Annotated[
    Path | None,
    typer.Option(
        "--patient-map",
        envvar="CALMLINE_FHIR_PATIENT_MAP",
        help='A JSON file mapping caller_ref to a patient reference: {"caller-9": "Patient/123"}.',
    ),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


# -- fhir -------------------------------------------------------------------------------------------


def _patient(ref: str | None, mapping: Path | None) -> PatientLink:
    from calmline.fhir import FhirExportError, PatientLink

    by_ref: dict[str, str] = {}
    if mapping is not None:
        try:
            data = json.loads(mapping.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise _fail(f"{mapping}: cannot read a JSON object ({type(exc).__name__})") from exc
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise _fail(f"{mapping}: expected a JSON object of caller_ref -> 'Patient/<id>'")
        by_ref = {str(k): v for k, v in data.items()}
    try:
        return PatientLink(reference=ref, by_caller_ref=by_ref)
    except FhirExportError as exc:
        raise _fail(str(exc)) from exc


def _calls(call_ids: Sequence[str] | None) -> list[tuple[str, list[AnyEvent]]]:
    """The chosen calls' events from the configured store (every ended call when none is named)."""
    from calmline.postcall import call_events
    from calmline.runtime import configure_logging
    from calmline.store.db import make_engine, migrate
    from calmline.store.log import SqlEventLog
    from calmline.store.projections import Projections

    configure_logging("warning")
    settings = Settings()
    settings.ensure_data_dir()
    db = make_engine(settings.db_url)
    try:
        migrate(db)
        projections = Projections(db)
        if call_ids:
            missing = [c for c in call_ids if projections.get_call(c) is None]
            if missing:
                raise _fail(f"no call {missing[0]!r} in the store")
            ids = list(dict.fromkeys(call_ids))
        else:
            rows = projections.list_calls(status="ended", limit=10_000_000)
            rows.sort(key=lambda r: (r["started_at"].isoformat() if r["started_at"] else "", r["call_id"]))
            ids = [r["call_id"] for r in rows]
        log = SqlEventLog(db)
        return [(c, call_events(log, c)) for c in ids]
    finally:
        db.dispose()


@fhir_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the Bundle ('-': stdout).")],
    call: CallOpt = None,
    bundle_type: Annotated[
        str, typer.Option("--type", help="collection (a file) or transaction (for POSTing to a server).")
    ] = "collection",
    patient_ref: PatientRefOpt = None,
    patient_map: PatientMapOpt = None,
) -> None:
    """Write one FHIR Bundle with the resources of the chosen calls (every ended call when none is named)."""
    from calmline.fhir import FhirExportError, build_bundle, bundle_json

    if bundle_type not in ("collection", "transaction"):
        raise _fail("--type is collection or transaction")
    patient = _patient(patient_ref, patient_map)
    calls = _calls(call)
    try:
        kind: BundleType = "transaction" if bundle_type == "transaction" else "collection"
        bundle = build_bundle(calls, bundle_type=kind, patient=patient)
    except FhirExportError as exc:
        raise _fail(str(exc)) from exc
    text = bundle_json(bundle) + "\n"
    if str(out) == "-":
        sys.stdout.write(text)
    else:
        out.write_text(text, "utf-8")
    err.print(f"{len(calls)} call(s), {len(bundle.entry or [])} resource(s) → {out}", highlight=False)


@fhir_app.command("push")
def push_cmd(
    url: Annotated[
        str, typer.Option("--url", envvar="CALMLINE_FHIR_URL", help="The FHIR server's base URL.")
    ],
    call: CallOpt = None,
    patient_ref: PatientRefOpt = None,
    patient_map: PatientMapOpt = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="CALMLINE_FHIR_TOKEN", help="Bearer token for the server."),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each answer.")] = 30.0,
    allow_http: Annotated[
        bool, typer.Option("--allow-http", help="Allow plain http to a host other than loopback.")
    ] = False,
) -> None:
    """POST each chosen call to the server as one transaction Bundle (idempotent: conditional updates)."""
    from calmline.fhir import FhirExportError, FhirPushError, build_bundle, bundle_json
    from calmline.fhir.push import check_url, safe_url

    try:
        check_url(url, allow_http=allow_http)
    except FhirPushError as exc:
        raise _fail(str(exc)) from exc
    patient = _patient(patient_ref, patient_map)
    failed = 0
    calls = _calls(call)
    for call_id, events in calls:
        try:
            bundle = build_bundle([(call_id, events)], bundle_type="transaction", patient=patient)
            result = _push(url, bundle_json(bundle, indent=None), token, timeout, allow_http)
        except (FhirExportError, FhirPushError) as exc:
            failed += 1
            err.print(f"{call_id}: [red]failed[/red]: {exc}", highlight=False, soft_wrap=True)
            continue
        statuses = ", ".join(result.entries) or "no entry statuses"
        err.print(f"{call_id}: HTTP {result.status} ({statuses})", highlight=False, soft_wrap=True)
    err.print(f"{len(calls) - failed} of {len(calls)} call(s) sent to {safe_url(url)}", highlight=False)
    if failed:
        raise typer.Exit(1)


def _push(url: str, body: str, token: str | None, timeout: float, allow_http: bool) -> PushResult:
    from calmline.fhir import push_bundle

    return push_bundle(url, body, token=token, timeout_s=timeout, allow_http=allow_http)


# -- adapt ------------------------------------------------------------------------------------------

InArg = Annotated[
    Path, typer.Argument(metavar="IN", help="The platform's transcript file (JSON or JSON Lines).")
]
CallIdOpt = Annotated[
    str | None, typer.Option("--call-id", help="The calmline call id (default: the file's own, if any).")
]
OutOpt = Annotated[
    Path, typer.Option("--out", "-o", help="Where to write the events as JSON Lines ('-': stdout).")
]
StartOpt = Annotated[
    str | None,
    typer.Option(
        "--started-at", help="When the call started, ISO 8601 with a timezone (segments carry offsets)."
    ),
]
SpeakerOpt = Annotated[
    list[str] | None,
    typer.Option("--speaker", help="ROLE=caller|agent|other, repeatable (e.g. ch_0=caller)."),
]
QueueOpt = Annotated[str | None, typer.Option("--queue", help="The call's queue (default general).")]
LanguageOpt = Annotated[
    str | None, typer.Option("--language", help="Language (default: from the file, or en).")
]
EndOpt = Annotated[bool, typer.Option("--end/--no-end", help="End the call after the last segment.")]
IngestOpt = Annotated[
    bool, typer.Option("--ingest", help="Also ingest the events into the configured store (runs the engine).")
]


def _adapt(
    fmt: str,
    path: Path,
    call_id: str | None,
    out: Path,
    started_at: str | None,
    speakers: list[str] | None,
    queue: str | None,
    language: str | None,
    end: bool,
    ingest: bool,
) -> None:
    from calmline.adapters import AdapterError, AdaptOptions, adapt, parse_speaker_options, read_documents

    start: datetime | None = None
    if started_at:
        try:
            start = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
        except ValueError as exc:
            raise _fail("--started-at is not an ISO 8601 timestamp") from exc
    try:
        options = AdaptOptions(
            call_id=call_id,
            started_at=start,
            speakers=parse_speaker_options(speakers or ()),
            queue=queue,
            language=language,
            end=end,
        )
        events = adapt(fmt, read_documents(path), options)
    except AdapterError as exc:
        raise _fail(str(exc)) from exc
    except ValueError as exc:  # an event field out of range (pydantic), named without the text
        raise _fail(f"{path}: the converted events are invalid: {type(exc).__name__}") from exc
    lines = "".join(json.dumps(e.model_dump(mode="json"), sort_keys=True) + "\n" for e in events)
    if str(out) == "-":
        sys.stdout.write(lines)
    else:
        out.write_text(lines, "utf-8")
    utterances = sum(1 for e in events if e.type == "utterance")
    err.print(f"{len(events)} event(s), {utterances} utterance(s) → {out}", highlight=False)
    if ingest:
        from calmline.runtime import build_service, configure_logging

        configure_logging("warning")
        service = build_service(Settings())
        try:
            statuses = [service.ingest(e).status for e in events]
        finally:
            service.db.dispose()
        err.print(f"ingested: {statuses.count('accepted')} accepted, {statuses.count('duplicate')} duplicate")


class AdapterFormat(StrEnum):
    """The transcript formats ``calmline adapt`` reads."""

    CONTACT_LENS = "contact-lens"
    TRANSCRIBE = "transcribe"
    GENERIC = "generic"


def adapt_cmd(
    fmt: Annotated[
        AdapterFormat,
        typer.Argument(
            metavar="FORMAT",
            help="contact-lens: Amazon Connect Contact Lens real-time segments (Transcript segments; partial "
            "Utterances dropped). transcribe: Amazon Transcribe streaming TranscriptEvents (final results "
            "only). generic: calmline.transcript/1 (docs/ADAPTERS.md).",
        ),
    ],
    path: InArg,
    out: OutOpt,
    call_id: CallIdOpt = None,
    started_at: StartOpt = None,
    speaker: SpeakerOpt = None,
    queue: QueueOpt = None,
    language: LanguageOpt = None,
    end: EndOpt = True,
    ingest: IngestOpt = False,
) -> None:
    """Convert a platform's real-time transcript file into calmline events (docs/ADAPTERS.md)."""
    _adapt(fmt.value, path, call_id, out, started_at, speaker, queue, language, end, ingest)
