"""Street addresses, P.O. boxes, cities and ZIP codes in speech ("we live at 22 alder road springfield").

States are not identifiers under Safe Harbor and are left in place; they are used as a cue (a word before a
state is a city, five digits after one are a ZIP code).
"""

from __future__ import annotations

import re

from calmline.privacy.detect import Doc
from calmline.privacy.numbers import ORDINALS, digit_run, is_number_token
from calmline.privacy.rules import PhraseSet, PrivacyRules

_STREET_CUES = PhraseSet([("live", "on"), ("lives", "on"), ("living", "on"), ("on",), ("off",), ("at",)])
_STRONG_CITY_CUES = PhraseSet(
    {
        ("live", "in"),
        ("lives", "in"),
        ("living", "in"),
        ("lived", "in"),
        ("moved", "to"),
        ("moving", "to"),
        ("located", "in"),
        ("based", "in"),
        ("city", "of"),
        ("town", "of"),
        ("out", "in"),
        ("over", "in"),
        ("up", "in"),
        ("down", "in"),
        ("here", "in"),
        ("from",),
        ("born", "in"),
    }
)
#: US town names: words that end like one ("ashford", "brookhaven") and second words of two-word towns.
_TOWN_END = re.compile(
    r"(?:ton|ville|ford|field|wood|burg|burgh|boro|borough|haven|port|dale|land|mouth|bury|chester|view|brook)$"
)
_TOWN_SECOND = frozenset(
    {
        "falls",
        "ridge",
        "haven",
        "springs",
        "heights",
        "city",
        "beach",
        "park",
        "valley",
        "creek",
        "lake",
        "hills",
        "grove",
        "point",
        "harbor",
        "bay",
        "junction",
        "village",
        "gardens",
        "rapids",
        "bluffs",
        "crossing",
    }
)
#: Words that follow an address and start a direction, not a town ("near the gas station", "across from").
_NOT_TOWN = frozenset(
    {
        "near",
        "by",
        "across",
        "behind",
        "next",
        "past",
        "beside",
        "opposite",
        "around",
        "between",
        "close",
        "right",
        "just",
        "left",
        "off",
        "corner",
        "upstairs",
        "downstairs",
        "apartment",
        "unit",
        "floor",
        "side",
        "front",
        "door",
        "gate",
        "entrance",
        "building",
        "second",
        "third",
        "top",
        "bottom",
        "where",
        "which",
        "please",
        "hurry",
        "quick",
        "asap",
    }
)
_NOT_PLACE = frozenset(
    {
        "apartment",
        "house",
        "home",
        "fear",
        "pain",
        "bed",
        "town",
        "city",
        "state",
        "country",
        "hospital",
        "shelter",
    }
)


def _street_word(doc: Doc, k: int, rules: PrivacyRules) -> bool:
    tok = doc.low[k]
    if doc.covered[k]:
        return False
    if tok in ORDINALS or (tok[:1].isdigit() and tok[-2:] in ("st", "nd", "rd", "th")):
        return True
    return tok.isalpha() and tok not in rules.name_stop


def _street(doc: Doc, j: int, rules: PrivacyRules) -> int:
    """End of "<1-3 name words> <suffix>" starting at ``j`` (0: none)."""
    for k in range(j, min(j + 4, doc.n)):
        if k > j and doc.low[k] in rules.street_suffixes and not doc.covered[k]:
            return k + 1
        if not _street_word(doc, k, rules):
            return 0
    return 0


def _unit(doc: Doc, end: int, rules: PrivacyRules) -> int:
    low, n = doc.low, doc.n
    if end < n and low[end] in rules.unit_words and end + 1 < n and not doc.covered[end + 1]:
        more, _ = digit_run(low, end + 1, doc.covered)
        if more == end + 1 and len(low[end + 1]) == 1 and low[end + 1].isalpha():
            more = end + 2
        if more > end + 1:
            if more < n and len(low[more]) == 1 and low[more].isalpha() and low[more] not in ("a", "i"):
                more += 1
            return more
    return end


def addresses(doc: Doc, rules: PrivacyRules) -> None:
    """House number + street + suffix (+ unit), then the city, state and ZIP that follow it."""
    low, n = doc.low, doc.n
    i = 0
    while i < n:
        if doc.covered[i]:
            i += 1
            continue
        end = 0
        t = low[i]
        if t in ("po", "p") and i + 2 < n:
            j = i + 1 + (t == "p" and low[i + 1] == "o")
            if j < n and low[j] == "box":
                more, digits = digit_run(low, j + 1, doc.covered)
                end = more if digits else 0
        elif t.isdigit() or is_number_token(t):
            hn, digits = digit_run(low, i, doc.covered)
            if t.isdigit() and hn == i + 1 and len(t) > 6:
                hn = i
            if hn > i and len(digits) <= 6:
                end = _street(doc, hn, rules)
        elif doc.ends_with(i, _STREET_CUES, 2):
            end = _street(doc, i, rules)
        if not end:
            i += 1
            continue
        end = _unit(doc, end, rules)
        doc.take(i, end, "ADDRESS", " ".join(low[i:end]))
        _after_address(doc, end, rules)
        i = end


def _town_word(doc: Doc, k: int, rules: PrivacyRules) -> bool:
    """A word after a street address that can be its town: capitalised, not an everyday word, or town-shaped.

    "22 oak street millbrook" and "22 Oak Street Riverton" are towns; "22 oak street near the gas station" and
    "… by the school" are not.
    """
    tok = doc.low[k]
    if not tok.isalpha() or tok in rules.name_stop or tok in _NOT_PLACE or tok in _NOT_TOWN:
        return False
    return doc.cap[k] or tok not in rules.common_words or _TOWN_END.search(tok) is not None


def _after_address(doc: Doc, j: int, rules: PrivacyRules) -> None:
    low, n = doc.low, doc.n
    j += j < n and low[j] in (",", "in")
    if j < n and not doc.covered[j] and not doc.starts_with(j, rules.states):
        size = doc.starts_with(j, rules.cities, 3)
        if not size and j + 1 < n and low[j + 1] in _TOWN_SECOND and low[j].isalpha():
            size = 2
        if not size:
            # An unknown town: the words up to a state name (at most three), else one word.
            for k in range(j, min(j + 3, n)):
                if (
                    not low[k].isalpha()
                    or low[k] in rules.name_stop
                    or low[k] in _NOT_PLACE
                    or doc.covered[k]
                ):
                    break
                if doc.starts_with(k + 1 + (k + 1 < n and low[k + 1] == ","), rules.states):
                    size = k + 1 - j
                    break
            else:
                size = 0
            if not size and _town_word(doc, j, rules):
                size = 1
        if size:
            doc.take(j, j + size, "CITY", " ".join(low[j : j + size]))
            j += size
    _state_zip(doc, j, rules)


def _state_zip(doc: Doc, j: int, rules: PrivacyRules) -> None:
    low, n = doc.low, doc.n
    j += j < n and low[j] == ","
    size = doc.starts_with(j, rules.states, 2)
    if not size:
        return
    j += size
    j += j < n and low[j] == ","
    if j < n and not doc.covered[j]:
        more, digits = digit_run(low, j, doc.covered)
        if len(digits) in (5, 9):
            doc.take(j, more, "ZIP", digits)


def _place_word(doc: Doc, k: int, rules: PrivacyRules) -> bool:
    tok = doc.low[k]
    return (
        not doc.covered[k]
        and tok.isalpha()
        and tok not in rules.name_stop
        and tok not in _NOT_PLACE
        and (tok not in rules.common_words or doc.cap[k])
    )


def _unknown_town(doc: Doc, i: int, rules: PrivacyRules, strong: bool = True) -> int:
    """Length of a town name the lexicon lacks after a place cue (0: none).

    After a strong cue ("live in", "moved to") any word that is not an everyday word, or a word with a town
    ending ("-ton", "-ville", "-haven"), or "<word> falls/ridge/springs". After a weak one ("in", "outside")
    only the town-shaped forms.
    """
    low, n = doc.low, doc.n
    tok = low[i]
    if doc.covered[i] or not tok.isalpha() or tok in rules.name_stop or tok in _NOT_PLACE:
        return 0
    if i + 1 < n and low[i + 1] in _TOWN_SECOND and not doc.covered[i + 1]:
        return 2
    town_shaped = len(tok) > 6 and _TOWN_END.search(tok) is not None and tok not in rules.common_words
    if not strong:
        return 1 if town_shaped else 0
    if _place_word(doc, i, rules) or _TOWN_END.search(tok):
        size = 1
        while size < 3 and i + size < n and _place_word(doc, i + size, rules):
            size += 1
        return size
    return 0


def cities(doc: Doc, rules: PrivacyRules) -> None:
    """Cities: known ones after a place cue or before a state; unknown words after "live in", "moved to"."""
    low, n = doc.low, doc.n
    i = 0
    while i < n:
        if doc.covered[i] or not low[i].isalpha():
            i += 1
            continue
        size = doc.starts_with(i, rules.cities, 3)
        after = i + size + (i + size < n and low[i + size] == ",")
        state_after = bool(size) and bool(doc.starts_with(after, rules.states))
        strong = doc.ends_with(i, _STRONG_CITY_CUES, 2)
        if size:
            phrase = tuple(low[i : i + size])
            cued = strong or state_after or doc.ends_with(i, rules.city_cues, 2)
            ambiguous = phrase in rules.ambiguous_cities and not (strong or state_after)
            state_only = doc.starts_with(i, rules.states) >= size and not state_after  # "washington" alone
            if ambiguous or state_only or (size == 1 and not cued):
                size = 0
        elif not doc.starts_with(i, rules.states) and (strong or doc.ends_with(i, rules.city_cues, 2)):
            size = _unknown_town(doc, i, rules, strong=bool(strong))
        if size and not any(doc.covered[i : i + size]):
            doc.take(i, i + size, "CITY", " ".join(low[i : i + size]))
            _state_zip(doc, i + size, rules)
            i += size
        else:
            i += 1
