"""Protocol sets: every version of the protocol library a call may have started with.

A *protocol set* is the whole library in force at one moment (each protocol with its version, plus the ids an
admin disabled), identified by a hash of its content. Every call is pinned to the set in force when it
started (a ``protocols.pinned`` event in its log), so an admin's edit takes effect for new calls only and a
replay years later uses exactly the protocols the call ran with. The catalog holds all sets the store knows.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from calmline.protocols.schema import Protocol, ProtocolLibrary


@dataclass(frozen=True, slots=True)
class ProtocolSet:
    """One version of the library: the protocols as written and the ids switched off by an admin."""

    set_id: str
    protocols: tuple[Protocol, ...]
    disabled: frozenset[str]
    library: ProtocolLibrary

    @classmethod
    def of(cls, protocols: Iterable[Protocol], disabled: Iterable[str] = ()) -> ProtocolSet:
        """Build a set (its id is a hash of its content: the same protocols give the same id)."""
        ordered = tuple(sorted(protocols, key=lambda p: p.id))
        off = frozenset(disabled) & {p.id for p in ordered}
        effective = tuple(p.model_copy(update={"enabled": False}) if p.id in off else p for p in ordered)
        return cls(_set_id(ordered, off), ordered, off, ProtocolLibrary(effective))

    @classmethod
    def from_documents(cls, documents: Mapping[str, Any]) -> ProtocolSet:
        """Rebuild a stored set (see :meth:`documents`)."""
        protocols = [Protocol.model_validate(d) for d in documents["protocols"]]
        return cls.of(protocols, documents.get("disabled", ()))

    def documents(self) -> dict[str, Any]:
        """The JSON-compatible form kept in the store."""
        return {
            "protocols": [p.model_dump(mode="json") for p in self.protocols],
            "disabled": sorted(self.disabled),
        }

    def versions(self) -> dict[str, str]:
        """Protocol id -> version."""
        return {p.id: p.version for p in self.protocols}


def _set_id(protocols: tuple[Protocol, ...], disabled: frozenset[str]) -> str:
    body = json.dumps(
        {"protocols": [p.model_dump(mode="json") for p in protocols], "disabled": sorted(disabled)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def diff_sets(old: ProtocolSet | None, new: ProtocolSet) -> dict[str, list[str]]:
    """What changed between two sets, for the audit log: ids added, removed, changed, enabled, disabled."""
    before = {p.id: p for p in old.protocols} if old else {}
    after = {p.id: p for p in new.protocols}
    changed = [i for i in sorted(set(before) & set(after)) if before[i] != after[i]]
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": changed,
        "disabled": sorted(new.disabled - (old.disabled if old else frozenset())),
        "enabled": sorted((old.disabled if old else frozenset()) - new.disabled),
    }


class UnknownProtocolSet(LookupError):
    """A call is pinned to a protocol set this catalog does not hold."""


class ProtocolCatalog:
    """Every known protocol set, and which one new calls get. Thread-safe; sets are immutable."""

    def __init__(self, sets: Iterable[ProtocolSet] = (), current: str | None = None) -> None:
        self._sets: dict[str, ProtocolSet] = {}
        self._lock = threading.Lock()
        last: ProtocolSet | None = None
        for s in sets:
            self._sets[s.set_id] = s
            last = s
        if current is not None and current not in self._sets:
            raise UnknownProtocolSet(current)
        self._current = self._sets[current] if current else last or ProtocolSet.of(())
        self._sets.setdefault(self._current.set_id, self._current)

    @classmethod
    def single(cls, library: ProtocolLibrary | Iterable[Protocol]) -> ProtocolCatalog:
        """A catalog with one set (tests, the batch analyzer, simulations)."""
        protocols = library.protocols if isinstance(library, ProtocolLibrary) else tuple(library)
        return cls([ProtocolSet.of(protocols)])

    @property
    def current(self) -> ProtocolSet:
        """The set new calls are pinned to."""
        return self._current

    def get(self, set_id: str | None) -> ProtocolSet:
        """The set with this id (``None``: the current one)."""
        if set_id is None:
            return self._current
        found = self._sets.get(set_id)
        if found is None:
            raise UnknownProtocolSet(f"protocol set {set_id} is not in the catalog")
        return found

    def add(self, pset: ProtocolSet, *, make_current: bool = True) -> None:
        """Register a set (idempotent) and, by default, make it the one new calls get."""
        with self._lock:
            known = self._sets.setdefault(pset.set_id, pset)
            if make_current:
                self._current = known
