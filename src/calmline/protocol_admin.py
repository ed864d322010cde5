"""Administering protocols: the shipped library plus the center's own files, versioned and audited.

Content lives in files (the shipped ``resources/protocols`` and ``CALMLINE_PROTOCOLS_DIR``, where a file with
a shipped id replaces it); which protocols are switched off lives in the store. Every change is published as a
new protocol set (``calmline.store.protocol_sets``) with an audit entry, and takes effect for new calls only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from calmline.protocols.catalog import ProtocolCatalog, ProtocolSet
from calmline.protocols.intents import default_matcher
from calmline.protocols.loader import (
    PROTOCOL_DIR,
    PROTOCOL_PACKAGE,
    ProtocolError,
    line_of,
    parse_protocol,
    parse_yaml,
)
from calmline.protocols.schema import IntentCompletion, Protocol, ProtocolLibrary
from calmline.store.protocol_sets import ProtocolStore


def load_configured(protocols_dir: Path | None) -> ProtocolLibrary:
    """The shipped protocols, with the files of ``protocols_dir`` added or replacing them by id.

    Raises:
        ProtocolError: a file is invalid (file, line and reason); the first one found.
    """
    if protocols_dir is not None and not protocols_dir.is_dir():
        raise ProtocolError(str(protocols_dir), 1, "not a folder")
    protocols, errors = validate_files(configured_files(protocols_dir))
    if errors:
        raise errors[0]
    return ProtocolLibrary(tuple(protocols))


def publish_library(
    store: ProtocolStore,
    catalog: ProtocolCatalog,
    library: ProtocolLibrary,
    *,
    actor: str,
    action: str,
    why: str,
    at: datetime,
) -> tuple[ProtocolSet, bool]:
    """Make ``library`` the set for new calls, keeping the protocols an admin disabled. True if it changed."""
    latest = store.latest()
    disabled = latest.disabled if latest else frozenset()
    pset = ProtocolSet.of(library.protocols, disabled)
    changed = store.publish(pset, actor=actor, action=action, detail=why, at=at)
    catalog.add(pset)
    return pset, changed


def set_enabled(
    store: ProtocolStore,
    catalog: ProtocolCatalog,
    protocol_id: str,
    enabled: bool,
    *,
    actor: str,
    why: str,
    at: datetime,
) -> tuple[ProtocolSet, bool]:
    """Switch one protocol on or off for new calls. Raises ``KeyError`` for an unknown id."""
    current = store.latest() or catalog.current
    if protocol_id not in current.versions():
        raise KeyError(protocol_id)
    disabled = set(current.disabled)
    if enabled:
        disabled.discard(protocol_id)
    else:
        disabled.add(protocol_id)
    pset = ProtocolSet.of(current.protocols, disabled)
    action = "enabled" if enabled else "disabled"
    changed = store.publish(pset, actor=actor, action=action, detail=why or f"{protocol_id} {action}", at=at)
    catalog.add(pset)
    return pset, changed


def install_file(protocols_dir: Path, text: str, *, filename: str | None = None) -> Protocol:
    """Validate a protocol document and write it into ``protocols_dir`` as ``<id>.yaml``.

    Nothing is written when the document is invalid (``ProtocolError`` names the file, line and reason).
    """
    protocol = parse_protocol(text, filename or "protocol.yaml")
    protocols_dir.mkdir(parents=True, exist_ok=True)
    target = protocols_dir / f"{protocol.id}.yaml"
    tmp = target.with_suffix(".yaml.tmp")
    tmp.write_text(text, "utf-8")
    tmp.replace(target)
    return protocol


def check_intents(protocol: Protocol, text: str, file: str, known: frozenset[str]) -> None:
    """Refuse a protocol whose steps or exits wait for an agent intent no matcher can recognise.

    Raises:
        ProtocolError: naming the file and the line of the unknown intent.
    """
    unknown = [
        (("steps", i, "completes_on", "intent"), f"steps.{i}.completes_on.intent", c.intent)
        for i, step in enumerate(protocol.steps)
        if isinstance(c := step.completes_on, IntentCompletion) and c.intent not in known
    ] + [
        (("exit", i, "intent"), f"exit.{i}.intent", e.intent)
        for i, e in enumerate(protocol.exit)
        if isinstance(e, IntentCompletion) and e.intent not in known
    ]
    if unknown:  # only now is the YAML read again, for the line number
        loc, where, intent = unknown[0]
        _, node = parse_yaml(text, file)
        raise ProtocolError(file, line_of(node, loc), f"{where}: unknown intent {intent!r}")


def validate_files(paths: Sequence[Path]) -> tuple[list[Protocol], list[ProtocolError]]:
    """Validate protocol files one by one (schema, file name = id, known intents, unique ids)."""
    known = frozenset(default_matcher().rules.intent_ids)
    good: list[Protocol] = []
    errors: list[ProtocolError] = []
    seen: dict[str, str] = {}
    for path in paths:
        file = str(path)
        try:
            text = path.read_text("utf-8")
            protocol = parse_protocol(text, file)
            if protocol.id != path.stem:
                raise ProtocolError(file, 1, f"id {protocol.id!r} does not match the file name")
            check_intents(protocol, text, file, known)
            if protocol.id in seen:
                raise ProtocolError(
                    file, 1, f"protocol id {protocol.id!r} is also defined in {seen[protocol.id]}"
                )
        except ProtocolError as exc:
            errors.append(exc)
            continue
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(ProtocolError(file, 1, f"cannot read: {type(exc).__name__}"))
            continue
        seen[protocol.id] = file
        good.append(protocol)
    return good, errors


def configured_files(protocols_dir: Path | None) -> list[Path]:
    """The files making up the library in force: shipped ones, replaced by id by the center's own."""
    shipped = resources.files(PROTOCOL_PACKAGE).joinpath(PROTOCOL_DIR)
    by_id: dict[str, Path] = {}
    with resources.as_file(shipped) as folder:
        for path in sorted(Path(folder).glob("*.yaml")):
            by_id[path.stem] = path
    if protocols_dir is not None and protocols_dir.is_dir():
        for path in sorted(protocols_dir.glob("*.yaml")):
            by_id[path.stem] = path
    return [by_id[i] for i in sorted(by_id)]


def describe(protocol: Protocol) -> dict[str, Any]:
    """A protocol as shown by ``calmline protocols list`` and ``GET /api/protocols``."""
    return {
        "id": protocol.id,
        "version": protocol.version,
        "title": protocol.title,
        "severity": protocol.severity,
        "enabled": protocol.enabled,
        "supersedes": list(protocol.supersedes),
        "triggers": [t.model_dump(exclude_defaults=True) for t in protocol.triggers],
        "steps": [
            {
                "id": s.id,
                "prompt": s.prompt,
                "required": s.required,
                "completes_on": s.completes_on.model_dump(),
            }
            for s in protocol.steps
        ],
        "escalation": [e.model_dump() for e in protocol.escalation],
        "follow_up": protocol.follow_up.model_dump() if protocol.follow_up else None,
    }


def history_rows(store: ProtocolStore) -> list[dict[str, Any]]:
    """Every protocol set ever in force, oldest first, with the changes recorded in the audit log."""
    changes = {e.subject.removeprefix("protocol_set:"): e for e in store.audit.entries("protocol_set:")}
    rows: list[dict[str, Any]] = []
    for rec in store.history():
        entry = changes.get(rec.set_id)
        rows.append(
            {
                "protocol_set": rec.set_id,
                "at": rec.created_at,
                "actor": rec.actor,
                "action": rec.action,
                "why": rec.detail,
                "changes": entry.detail["changes"] if entry else {},
                "versions": rec.versions,
                "disabled": list(rec.disabled),
            }
        )
    return rows
