"""PHI redaction of spoken-style transcripts with consistent per-call pseudonyms.

The HIPAA Safe Harbor identifiers that occur in speech are found by rules and lexicons
(:mod:`calmline.privacy.detect`, :mod:`~calmline.privacy.places`, :mod:`~calmline.privacy.names`; the rules
are data in ``resources/privacy/rules.yaml``) and replaced by typed placeholders: ``[NAME_1]``, ``[PHONE_1]``,
``[DATE_2]`` … Within one call a :class:`PseudonymMap` gives the same value the same placeholder ("maria
lopez" and later "maria" are both ``[NAME_1]``; "555 1212" and "five five five one two one two" are both
``[PHONE_1]``), so a reader can follow the call without seeing who it is about.

Nothing here keeps a raw value where it could be printed: spans hold a kind and offsets, and the pseudonym
map keeps keyed hashes (BLAKE2b with a per-map secret) instead of values. Deterministic: the same text and
the same map state give the same output. Placeholders are never redacted again, so redaction is idempotent.

>>> redact("hi this is maria lopez my number is five five five one two one two").text
'hi this is [NAME_1] my number is [PHONE_1]'
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from calmline.privacy import detect, names, places
from calmline.privacy.rules import PrivacyRules, load_rules

#: Every kind of span the redactor reports, in the order of the Safe Harbor list.
ENTITY_TYPES: tuple[str, ...] = (
    "NAME",
    "ADDRESS",
    "CITY",
    "ZIP",
    "DATE",
    "AGE",
    "PHONE",
    "FAX",
    "EMAIL",
    "SSN",
    "MRN",
    "INSURANCE",
    "ACCOUNT",
    "LICENSE",
    "PLATE",
    "URL",
    "IP",
    "ID",
)

#: Kinds grouped for evaluation: a span found with another kind of the same group still counts.
GROUPS: dict[str, str] = {
    "NAME": "name",
    "ADDRESS": "location",
    "CITY": "location",
    "ZIP": "location",
    "DATE": "date",
    "AGE": "date",
    "PHONE": "number",
    "FAX": "number",
    "SSN": "number",
    "MRN": "number",
    "INSURANCE": "number",
    "ACCOUNT": "number",
    "LICENSE": "number",
    "PLATE": "number",
    "ID": "number",
    "EMAIL": "web",
    "URL": "web",
    "IP": "web",
}

Detector = Callable[[detect.Doc, PrivacyRules], None]


@dataclass(frozen=True, slots=True)
class PhiSpan:
    """One redacted identifier: its kind, its character span in the original text, and its placeholder."""

    kind: str
    start: int
    end: int
    label: str = ""


@dataclass(frozen=True, slots=True)
class Redacted:
    """The redacted text and where the identifiers were (offsets into the original text)."""

    text: str
    spans: tuple[PhiSpan, ...]

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds found, in text order."""
        return tuple(s.kind for s in self.spans)


class PseudonymMap:
    """Placeholders for one call: the same value gets the same ``[KIND_n]`` every time it is said.

    Values are kept only as keyed hashes, and ``repr`` shows counts, so the map can be logged or inspected
    without leaking what it maps.
    """

    __slots__ = ("_counts", "_labels", "_salt")

    def __init__(self, salt: bytes | None = None) -> None:
        """Start an empty map; ``salt`` keys the hashes (random by default; outputs never depend on it)."""
        self._salt = salt if salt is not None else os.urandom(16)
        self._labels: dict[bytes, str] = {}
        self._counts: dict[str, int] = {}

    def _key(self, kind: str, value: str) -> bytes:
        return hashlib.blake2b(f"{kind}\x00{value}".encode(), key=self._salt, digest_size=16).digest()

    def label(self, kind: str, value: str) -> str:
        """The placeholder for ``value`` of ``kind`` (a new one the first time the value is seen)."""
        key = self._key(kind, value)
        found = self._labels.get(key)
        if found is None and kind == "NAME" and " " not in value:
            found = self._labels.get(self._key("NAME_PART", value))
        if found is not None:
            return found
        count = self._counts.get(kind, 0) + 1
        self._counts[kind] = count
        found = f"[{kind}_{count}]"
        self._labels[key] = found
        if kind == "NAME":
            for part in value.split():
                if len(part) > 1:
                    self._labels.setdefault(self._key("NAME_PART", part), found)
        return found

    def counts(self) -> dict[str, int]:
        """How many distinct values of each kind the call has had."""
        return dict(self._counts)

    def __len__(self) -> int:
        return sum(self._counts.values())

    def __repr__(self) -> str:
        return f"PseudonymMap({self._counts!r})"


class Redactor:
    """The compiled rules and detectors; stateless and safe to share across calls and threads."""

    def __init__(self, rules: PrivacyRules | None = None) -> None:
        """Use ``rules`` (the shipped ``rules.yaml`` and lexicons when not given)."""
        self.rules = rules or load_rules()
        self.detectors: tuple[Detector, ...] = (
            detect.written,
            lambda doc, _rules: detect.spoken_web(doc),
            detect.dates,
            places.addresses,
            detect.numbers,
            detect.ages,
            places.cities,
            names.names,
            names.spelled,
        )

    def detect(self, text: str) -> list[tuple[int, int, str, str]]:
        """The identifiers in ``text`` as ``(start, end, kind, key)`` in text order (raw keys: internal)."""
        doc = detect.Doc(text)
        if doc.n:
            for run in self.detectors:
                run(doc, self.rules)
        doc.hits.sort()
        return doc.hits

    def spans(self, text: str) -> list[PhiSpan]:
        """Where the identifiers are, without placeholders (for evaluation)."""
        return [PhiSpan(kind, start, end) for start, end, kind, _ in self.detect(text)]

    def redact(self, text: str, *, pseudonyms: PseudonymMap | None = None) -> Redacted:
        """Replace every identifier by its placeholder (a fresh map numbers them within ``text`` only)."""
        mapping = pseudonyms if pseudonyms is not None else PseudonymMap(salt=b"")
        out: list[str] = []
        spans: list[PhiSpan] = []
        pos = 0
        for start, end, kind, key in self.detect(text):
            if start < pos:
                continue
            label = mapping.label(kind, key)
            out.append(text[pos:start])
            out.append(label)
            spans.append(PhiSpan(kind, start, end, label))
            pos = end
        out.append(text[pos:])
        return Redacted("".join(out), tuple(spans))


class CallRedactor:
    """Redacts the utterances of one call with one :class:`PseudonymMap`."""

    def __init__(self, redactor: Redactor | None = None, *, salt: bytes | None = None) -> None:
        """Share ``redactor`` (the default one when not given); the map is this call's own."""
        self.redactor = redactor or default_redactor()
        self.pseudonyms = PseudonymMap(salt)

    def redact(self, text: str) -> Redacted:
        """Redact the next utterance of the call."""
        return self.redactor.redact(text, pseudonyms=self.pseudonyms)

    def __repr__(self) -> str:
        return f"CallRedactor({self.pseudonyms!r})"


@lru_cache(maxsize=1)
def default_redactor() -> Redactor:
    """The process-wide redactor with the shipped rules."""
    return Redactor()


def redact(text: str, *, pseudonyms: PseudonymMap | None = None) -> Redacted:
    """Redact ``text`` with the shipped rules (pass a call's ``pseudonyms`` to keep placeholders stable)."""
    return default_redactor().redact(text, pseudonyms=pseudonyms)
