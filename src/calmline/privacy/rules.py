"""The redaction rules as data: ``resources/privacy/rules.yaml`` plus the name lexicons, compiled once.

Phrases are stored as tuples of tokens (the same tokenizer as the redactor's), so a cue such as
``"driver's license"`` is matched token by token and never by a regular expression built from user data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

PACKAGE = "calmline.resources"
FOLDER = "privacy"

#: Placeholder produced by the redactor: ``[NAME_1]``. Never re-redacted.
PLACEHOLDER = r"\[[A-Z]+_\d+\]"
#: Tokens: placeholders, words (with one apostrophe part), digits (with an ordinal suffix), single symbols.
TOKEN_RE = re.compile(PLACEHOLDER + r"|[A-Za-z]+(?:['’][A-Za-z]+)?|\d+(?:st|nd|rd|th)?|[^\sA-Za-z\d]")

Phrase = tuple[str, ...]


class PhraseSet:
    """A set of token phrases, indexed by first and last token so most lookups are one set check."""

    __slots__ = ("firsts", "lasts", "longest", "phrases")

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        """Index ``phrases`` (empty ones are dropped)."""
        self.phrases = frozenset(p for p in phrases if p)
        self.firsts = frozenset(p[0] for p in self.phrases)
        self.lasts = frozenset(p[-1] for p in self.phrases)
        self.longest = max((len(p) for p in self.phrases), default=0)

    def __contains__(self, phrase: object) -> bool:
        return phrase in self.phrases

    def __len__(self) -> int:
        return len(self.phrases)


def phrase_tokens(text: str) -> Phrase:
    """Split a rule phrase into lower-case tokens, exactly as transcripts are split."""
    return tuple(m.group().lower().replace("’", "'") for m in TOKEN_RE.finditer(text))


@dataclass(frozen=True, slots=True)
class NameContext:
    """The words around a name said without a cue (``name_context`` in ``rules.yaml``)."""

    openers: PhraseSet
    closers: PhraseSet
    self_closers: PhraseSet
    clause_words: frozenset[str]
    subject_verbs: PhraseSet
    reporting_verbs: frozenset[str]
    relation_verbs: frozenset[str]
    relation_owners: frozenset[str]
    relation_nouns: PhraseSet
    not_names: frozenset[str]


@dataclass(frozen=True, slots=True)
class PrivacyRules:
    """Every list the redactor uses, as sets and phrase tables."""

    version: str
    cue_window: int
    number_cues: dict[Phrase, str]
    number_cue_phrases: PhraseSet
    min_chars: dict[str, int]
    uncued_min_digits: int
    months: dict[str, int]
    ambiguous_months: frozenset[str]
    age_min: int
    age_after: PhraseSet
    age_before: PhraseSet
    age_units_not: frozenset[str]
    age_subjects: frozenset[str]
    holidays: PhraseSet
    street_suffixes: frozenset[str]
    unit_words: frozenset[str]
    city_cues: PhraseSet
    states: PhraseSet
    cities: PhraseSet
    ambiguous_cities: PhraseSet
    name_cues_explicit: PhraseSet
    name_cues_weak: PhraseSet
    name_cues_relation: PhraseSet
    name_after_cues: PhraseSet
    name_stop: frozenset[str]
    first_names: frozenset[str]
    surnames: frozenset[str]
    ambiguous_names: frozenset[str]
    common_words: frozenset[str]
    world_names: frozenset[str]
    everyday_names: frozenset[str]
    context: NameContext


_MONTH_NUMBERS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}


def _phrases(items: Iterable[Any]) -> PhraseSet:
    return PhraseSet(phrase_tokens(str(i)) for i in items)


def _lexicon(name: str) -> frozenset[str]:
    text = resources.files(PACKAGE).joinpath(FOLDER, name).read_text("utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=1)
def load_rules() -> PrivacyRules:
    """Load and compile the shipped rules (cached: loaded once per process)."""
    raw = yaml.safe_load(resources.files(PACKAGE).joinpath(FOLDER, "rules.yaml").read_text("utf-8"))
    number_cues: dict[Phrase, str] = {}
    min_chars: dict[str, int] = {}
    for kind, spec in raw["number_cues"].items():
        min_chars[kind] = int(spec["min_chars"])
        for p in spec["phrases"]:
            number_cues.setdefault(phrase_tokens(str(p)), kind)
    ctx = raw["name_context"]
    context = NameContext(
        openers=_phrases(ctx["openers"]),
        closers=_phrases(ctx["closers"]),
        self_closers=_phrases(ctx["self_closers"]),
        clause_words=frozenset(ctx["clause_words"]),
        subject_verbs=_phrases(ctx["subject_verbs"]),
        reporting_verbs=frozenset(ctx["reporting_verbs"]),
        relation_verbs=frozenset(ctx["relation_verbs"]),
        relation_owners=frozenset(ctx["relation_owners"]),
        relation_nouns=_phrases(ctx["relation_nouns"]),
        not_names=frozenset(ctx["not_names"]),
    )
    months = {m: _MONTH_NUMBERS[m[:3]] for m in (str(x) for x in raw["months"])}
    world_names = _lexicon("names_world.txt")
    return PrivacyRules(
        version=str(raw["version"]),
        cue_window=int(raw["cue_window"]),
        number_cues=number_cues,
        number_cue_phrases=PhraseSet(number_cues),
        min_chars=min_chars,
        uncued_min_digits=int(raw["uncued_min_digits"]),
        months=months,
        ambiguous_months=frozenset(raw["ambiguous_months"]),
        age_min=int(raw["age_min"]),
        age_after=_phrases(raw["age_after"]),
        age_before=_phrases(raw["age_before"]),
        age_units_not=frozenset(raw["age_units_not"]),
        age_subjects=frozenset(raw["age_subjects"]),
        holidays=_phrases(raw["holidays"]),
        street_suffixes=frozenset(raw["street_suffixes"]),
        unit_words=frozenset(raw["unit_words"]),
        city_cues=_phrases(raw["city_cues"]),
        states=_phrases(raw["us_states"]),
        cities=_phrases(raw["cities"]),
        ambiguous_cities=_phrases(raw["ambiguous_cities"]),
        name_cues_explicit=_phrases(raw["name_cues_explicit"]),
        name_cues_weak=_phrases(raw["name_cues_weak"]),
        name_cues_relation=_phrases(raw["name_cues_relation"]),
        name_after_cues=_phrases(raw["name_after_cues"]),
        name_stop=frozenset(raw["name_stop"]),
        first_names=_lexicon("first_names.txt"),
        surnames=_lexicon("surnames.txt"),
        ambiguous_names=frozenset(raw["ambiguous_names"]),
        # A world name is no English word (build_gazetteer.py checked it against a dictionary), so it is not a
        # common word even where BERT's vocabulary lists it ("hamid", "dmitri").
        common_words=_lexicon("common_words.txt") - world_names,
        world_names=world_names,
        everyday_names=_lexicon("everyday_names.txt"),
        context=context,
    )
