"""Person names without a statistical model: cues, a census lexicon and capitalisation.

A token is the start of a name when

* an *explicit* cue precedes it ("my name is", "mr", "dr"): any word that is not a function word;
* a *weak* or *relation* cue precedes it ("this is", "i'm", "ask for", "my son"): a lexicon first name or
  surname, or a capitalised word; an everyday-word name ("grace", "will") needs a surname or "calling"/
  "speaking" after it;
* no cue: an unambiguous lexicon first name; an everyday-word first name followed by a surname; a
  capitalised lexicon word in the middle of a sentence; or a word that is in neither the lexicon nor the list
  of common English words when "speaking"/"called" or a surname follows it ("siddharth speaking",
  "kwame ruiz"). Never right after "the"/"a"/"this" ("the rose bush").

Unknown words (not in ``common_words.txt``) also count as names after weak and relation cues, except after
"i'm", where they are more often symptoms.

A name extends over the following surnames, first names, unknown and capitalised words (at most three tokens,
across hyphens). Three or more single letters in a row ("j o h n") are a spelled-out name.
"""

from __future__ import annotations

from calmline.privacy.detect import Doc
from calmline.privacy.rules import PhraseSet, PrivacyRules

_SENTENCE_END = frozenset({".", "!", "?", ":", ";"})
_TITLES = frozenset({"doctor", "nurse", "officer", "pastor", "professor", "coach", "judge", "detective"})
_DETERMINERS = frozenset({"the", "a", "an", "these", "those", "some", "any", "every", "each", "no"})
#: After "i'm", an unknown word is more likely a symptom ("i'm lightheaded") than a name.
_SELF_CUES = frozenset({("i'm",), ("i", "am"), ("im",), ("it's",)})
#: "my husband will is ..." is odd; "my husband will call" is not: after a relation, an everyday-word name
#: needs one of these after it.
_RELATION_VERBS = frozenset(
    {"is", "was", "has", "had", "lives", "he's", "she's", "and", "who", "called", "said"}
)
#: An unknown word followed by one of these is a name ("siddharth speaking", "that hiroshi called").
_AFTER_UNKNOWN = frozenset(
    {"speaking", "here", "called", "calling", "said", "says", "told", "gave", "keeps", "wants", "asked"}
)
#: "n as in nancy": a spelling aid, not a person.
_SPELLING_AID = PhraseSet([("as", "in"), ("like", "in")])
#: Abbreviations people spell out that are not names.
_SPELLED_WORDS = PhraseSet(
    [("d", "o", "b"), ("s", "s", "n"), ("m", "r", "n"), ("e", "r"), ("i", "c", "u"), ("a", "s", "a", "p")]
)


def _lexical(tok: str, rules: PrivacyRules) -> bool:
    return tok in rules.first_names or tok in rules.surnames


def _cued_lexical(tok: str, rules: PrivacyRules) -> bool:
    """After a cue, the world lexicon counts too ("this is hiroshi", "my mother wei")."""
    return tok in rules.first_names or tok in rules.surnames or tok in rules.world_names


def _free(doc: Doc, k: int, rules: PrivacyRules) -> bool:
    tok = doc.low[k]
    return not doc.covered[k] and tok.isalpha() and tok not in rules.name_stop


def _mid_cap(doc: Doc, k: int) -> bool:
    return doc.cap[k] and k > 0 and doc.low[k - 1] not in _SENTENCE_END


def _unknown(doc: Doc, k: int, rules: PrivacyRules) -> bool:
    """A word that is neither an everyday word nor a function word (an unlisted name, most likely)."""
    tok = doc.low[k]
    return len(tok) > 2 and tok not in rules.common_words and _free(doc, k, rules)


def _extend(doc: Doc, i: int, rules: PrivacyRules, explicit: bool) -> int:
    """End of the name that starts at ``i``: following surnames, first names, unknown or capitalised words."""
    low, n = doc.low, doc.n
    end = i + 1
    while end < n and end - i < 4:
        k = end
        if low[k] == "-" and k + 1 < n and not doc.covered[k + 1] and doc.ends[k] == doc.starts[k + 1]:
            k += 1
        if not _free(doc, k, rules):
            break
        tok = low[k]
        world = tok in rules.world_names and (explicit or tok not in rules.common_words)
        if doc.cap[k] or _unknown(doc, k, rules) or world:
            end = k + 1
            continue
        if not _lexical(tok, rules):
            break
        if (
            tok in rules.ambiguous_names
            and tok not in rules.surnames
            and not (explicit or _confirmed(doc, k, rules))
        ):
            break
        end = k + 1
    return end


def _confirmed(doc: Doc, i: int, rules: PrivacyRules, bare: bool = False) -> bool:
    """An everyday-word name is a name when a surname follows, or (after a cue) the end or "speaking".

    ``bare`` (no cue before it): only a following surname or unlisted name confirms it ("will smith").
    """
    k = i + 1
    if k >= doc.n or doc.low[k] in _SENTENCE_END or doc.low[k] == ",":
        return not bare
    tok = doc.low[k]
    if not bare and doc.starts_with(k, rules.name_after_cues, 3):
        return True
    if not _free(doc, k, rules):
        return False
    if tok in rules.surnames and tok not in rules.ambiguous_names:
        return tok not in rules.common_words or tok in rules.first_names or doc.cap[k]
    return _unknown(doc, k, rules) or (tok in rules.world_names and tok not in rules.common_words)


def names(doc: Doc, rules: PrivacyRules) -> None:
    """Mark person names (see the module docstring for the rules)."""
    low, n = doc.low, doc.n
    i = 0
    while i < n:
        if not _free(doc, i, rules):
            i += 1
            continue
        tok = low[i]
        single = len(tok) == 1
        amb = tok in rules.ambiguous_names
        lexical = _lexical(tok, rules)
        cued_lexical = _cued_lexical(tok, rules)
        unknown = _unknown(doc, i, rules)
        nxt = low[i + 1] if i + 1 < n else ""
        explicit = bool(doc.ends_with(i, rules.name_cues_explicit, 5))
        start = False
        if explicit:
            start = not single or _spelled_end(doc, i) > i
        elif doc.ends_with(i, rules.name_cues_relation, 3):
            start = (cued_lexical or unknown or doc.cap[i]) and (
                not amb or doc.cap[i] or _confirmed(doc, i, rules) or nxt in _RELATION_VERBS
            )
        elif size := doc.ends_with(i, rules.name_cues_weak, 4):
            self_cue = tuple(low[i - size : i]) in _SELF_CUES
            start = (cued_lexical or doc.cap[i] or (unknown and not self_cue)) and (
                not amb or _confirmed(doc, i, rules) or (tok in rules.surnames and low[i - 1] in _TITLES)
            )
        elif (i > 0 and low[i - 1] in _DETERMINERS) or doc.ends_with(i, _SPELLING_AID, 2):
            start = False
        elif tok in rules.first_names:
            start = not amb or _confirmed(doc, i, rules, bare=True) or _mid_cap(doc, i)
        elif lexical and _mid_cap(doc, i):
            start = not amb
        elif unknown or tok in rules.world_names:
            start = nxt in _AFTER_UNKNOWN
        name_like = tok in rules.first_names or unknown or tok in rules.world_names
        if not start and name_like and not amb and i + 1 < n and _free(doc, i + 1, rules):
            # "kwame ruiz", "mateo petrov": a name-like word followed by a surname, no cue needed.
            common = tok in rules.common_words and tok not in rules.first_names
            start = (nxt in rules.surnames and (nxt not in rules.ambiguous_names or not common)) or (
                not common and nxt in rules.world_names and nxt not in rules.common_words
            )
        if (
            start
            and not explicit
            and (doc.starts_with(i, rules.states) or doc.ends_with(i + 1, rules.states, 3))
        ):
            start = False  # "florida", "virginia", "new york" without "my name is"
        if not start:
            i += 1
            continue
        end = _spelled_end(doc, i) if single else _extend(doc, i, rules, explicit)
        doc.take(i, end, "NAME", " ".join(low[i:end]))
        i = end


def _spelled_end(doc: Doc, i: int) -> int:
    """End of a run of three or more single letters starting at ``i`` (``i``: none)."""
    low, n = doc.low, doc.n
    j = i
    while (
        j < n
        and not doc.covered[j]
        and ((len(low[j]) == 1 and low[j].isalpha()) or (low[j] == "-" and j > i and j + 1 < n))
    ):
        j += 1
    while j > i and low[j - 1] == "-":
        j -= 1
    letters = sum(1 for k in range(i, j) if low[k] != "-")
    return j if letters >= 3 else i


def spelled(doc: Doc, rules: PrivacyRules) -> None:
    """Letters spelled out one by one ("s m i t h") that no other detector claimed."""
    i = 0
    while i < doc.n:
        end = _spelled_end(doc, i) if len(doc.low[i]) == 1 and not doc.covered[i] else i
        if end > i and doc.starts_with(i, _SPELLED_WORDS) == end - i:
            end = i
        if end > i:
            doc.take(i, end, "NAME", " ".join(doc.low[i:end]))
            i = end
        else:
            i += 1
