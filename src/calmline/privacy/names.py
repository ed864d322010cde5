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
    {
        "is",
        "was",
        "are",
        "were",
        "has",
        "had",
        "lives",
        "he's",
        "she's",
        "and",
        "who",
        "called",
        "said",
        "says",
        "keeps",
        "kept",
        "wants",
        "needs",
        "gave",
        "told",
        "asked",
        "thinks",
    }
)
#: An unknown word followed by one of these is a name ("siddharth speaking", "that hiroshi called").
_AFTER_UNKNOWN = frozenset(
    {"speaking", "here", "called", "calling", "said", "says", "told", "gave", "keeps", "wants", "asked"}
)
#: "is my ex husband", "was her late father", "my great grandma", "our foster son".
_RELATION_PREFIXES = frozenset(
    {"ex", "step", "late", "former", "older", "younger", "big", "little", "best", "new", "great", "foster"}
)
#: Owners before a relation noun that make it a cue for the name after it ("my stepdad <name>").
_OWNERS = frozenset({"my", "our", "her", "his", "their", "your"})
#: Conjunctions joining two names ("connor and marisol", "me and <name>").
_AND = frozenset({"and", "&", "or"})
#: After a name: "with two ls", "spelled ..." (a spelling aid for a name just said).
_SPELLING_AFTER = PhraseSet(
    [("with", "two"), ("with", "one"), ("with", "double"), ("with", "a", "double"), ("spelled",), ("spelt",)]
)
#: Word classes for cue-less names, and the frame points (see :func:`_frame`) each needs.
_PROPER, _UNKNOWN, _EVERYDAY = 1, 2, 3
_NEEDED = {_PROPER: 2, _UNKNOWN: 3, _EVERYDAY: 3}
#: "n as in nancy": a spelling aid, not a person.
_SPELLING_AID = PhraseSet([("as", "in"), ("like", "in")])
#: Abbreviations people spell out that are not names.
_SPELLED_WORDS = PhraseSet(
    [("d", "o", "b"), ("s", "s", "n"), ("m", "r", "n"), ("e", "r"), ("i", "c", "u"), ("a", "s", "a", "p")]
)


def _cue(doc: Doc, i: int, table: PhraseSet, longest: int) -> int:
    """Length of a cue phrase of ``table`` right before ``i``; 0 when none or another detector took it.

    "6215 river dr across from": "dr" is the street, not "doctor".
    """
    size = doc.ends_with(i, table, longest)
    return 0 if size and any(doc.covered[i - size : i]) else size


def _kin_cue(doc: Doc, i: int, rules: PrivacyRules) -> bool:
    """An owner and a relation noun just before ``i``: "my stepdad", "our foster son", "her mother in law"."""
    ctx, low = rules.context, doc.low
    size = doc.ends_with(i, ctx.relation_nouns, 3)
    if not size:
        return False
    j = i - size
    while j > 0 and low[j - 1] in _RELATION_PREFIXES:
        j -= 1
    return j > 0 and low[j - 1] in _OWNERS and not any(doc.covered[j - 1 : i])


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
        return tok not in rules.everyday_names or doc.cap[k]
    return _unknown(doc, k, rules) or (tok in rules.world_names and tok not in rules.common_words)


def names(doc: Doc, rules: PrivacyRules) -> None:
    """Mark person names (see the module docstring for the rules)."""
    low, n = doc.low, doc.n
    taken = _possessives(doc, rules)
    i = 0
    while i < n:
        if not _free(doc, i, rules) and not _stop_word_named(doc, i, rules):
            i += 1
            continue
        tok = low[i]
        if (tok in rules.context.not_names or (tok,) in rules.context.relation_nouns) and not doc.ends_with(
            i, rules.name_cues_explicit, 5
        ):
            i += 1  # "thanks buddy", "motrin said": never a name without "my name is"
            continue
        single = len(tok) == 1
        amb = tok in rules.ambiguous_names
        lexical = _lexical(tok, rules)
        cued_lexical = _cued_lexical(tok, rules)
        unknown = _unknown(doc, i, rules)
        nxt = low[i + 1] if i + 1 < n else ""
        explicit = bool(_cue(doc, i, rules.name_cues_explicit, 5))
        start = False
        cued = True
        if explicit:
            start = not single or _spelled_end(doc, i) > i
        elif _cue(doc, i, rules.name_cues_relation, 3) or _kin_cue(doc, i, rules):
            start = (cued_lexical or unknown or doc.cap[i]) and (
                not amb or doc.cap[i] or _confirmed(doc, i, rules) or nxt in _RELATION_VERBS
            )
        elif size := _cue(doc, i, rules.name_cues_weak, 4):
            self_cue = tuple(low[i - size : i]) in _SELF_CUES
            # "it's ready", "i'm young": after "i'm"/"it's", a surname that is also a common word needs a
            # surname or "calling"/"speaking" after it.
            if self_cue and tok in rules.common_words and tok not in rules.first_names:
                start = (cued_lexical or doc.cap[i]) and (
                    _confirmed(doc, i, rules, bare=True)
                    or bool(doc.starts_with(i + 1, rules.name_after_cues, 3))
                )
            else:
                start = (cued_lexical or doc.cap[i] or (unknown and not self_cue)) and (
                    not amb or _confirmed(doc, i, rules) or (tok in rules.surnames and low[i - 1] in _TITLES)
                )
            # After "i'm"/"it's" an unknown word is a name when "calling" or a relation follows it, or "from"/
            # "here" after "it's" ("hey it's deshawn from upstairs", "i'm oluwaseun her caregiver"); not
            # "i'm lightheaded from the pills".
            start = start or (unknown and self_cue and _self_named(doc, i + 1, rules, low[i - 1] == "it's"))
            # "this message is for hyun demir": any word that a listed surname follows.
            start = start or (not amb and not self_cue and _confirmed(doc, i, rules, bare=True))
        elif _determined(doc, i, rules) or doc.ends_with(i, _SPELLING_AID, 2):
            start = False
        else:
            cued = False
            if tok in rules.first_names:
                start = not amb or _confirmed(doc, i, rules, bare=True) or _mid_cap(doc, i)
            elif lexical and _mid_cap(doc, i):
                start = not amb
            elif unknown or tok in rules.world_names:
                start = nxt in _AFTER_UNKNOWN
        name_like = (
            tok in rules.first_names
            or unknown
            or tok in rules.world_names
            or (tok in rules.surnames and tok not in rules.everyday_names)
        )
        if not start and name_like and not amb and i + 1 < n and _free(doc, i + 1, rules):
            # "kwame ruiz", "mateo petrov": a name-like word followed by a surname, no cue needed.
            common = tok in rules.common_words and tok not in rules.first_names
            start = (nxt in rules.surnames and (nxt not in rules.ambiguous_names or not common)) or (
                not common and nxt in rules.world_names and nxt not in rules.common_words
            )
        if not start and not cued:
            start = _framed(doc, i, rules)
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
        taken.update(range(i, end))
        i = end
    _coordinated(doc, rules, taken)


def _stop_word_named(doc: Doc, i: int, rules: PrivacyRules) -> bool:
    """A first name that is also a stop word, right after "my name is" ("my name is will smith")."""
    tok = doc.low[i]
    return (
        not doc.covered[i]
        and tok in rules.first_names
        and bool(doc.ends_with(i, rules.name_cues_explicit, 5))
    )


def _word_class(doc: Doc, i: int, rules: PrivacyRules) -> int:
    """How much a word by itself says it is a name: ``_PROPER``, ``_UNKNOWN``, ``_EVERYDAY`` or 0 (none)."""
    tok = doc.low[i]
    if tok in rules.context.not_names:
        return 0
    if tok in rules.ambiguous_names or tok in rules.everyday_names:
        return _EVERYDAY
    if _lexical(tok, rules) or tok in rules.world_names:
        return _PROPER
    return _UNKNOWN if _unknown(doc, i, rules) else 0


def _determined(doc: Doc, i: int, rules: PrivacyRules) -> bool:
    """A determiner before the word ("the rose bush"); "no" before a proper name is an interjection."""
    prev = doc.low[i - 1] if i > 0 else ""
    if prev not in _DETERMINERS:
        return False
    if prev != "no":
        return True
    # "no no paul is my brother in law", "no nevaeh is": an interjection; "no hope left", "no mark": a
    # determiner (unless doubled: "no no mark is my brother").
    return _word_class(doc, i, rules) not in (_PROPER, _UNKNOWN) and not (i > 1 and doc.low[i - 2] == "no")


def _self_named(doc: Doc, k: int, rules: PrivacyRules, its: bool) -> bool:
    """After "i'm <word>": "calling", "speaking", "her caregiver"; after "it's" also "from", "here"."""
    if doc.starts_with(k, rules.name_after_cues, 3):
        return its or doc.low[k] not in ("from", "here")
    owner = k < doc.n and doc.low[k] in rules.context.relation_owners
    return owner and bool(doc.starts_with(k + 1, rules.context.relation_nouns, 3))


def _relation_after(doc: Doc, k: int, rules: PrivacyRules) -> bool:
    """``k`` starts "is my brother", "was her caregiver", "is my ex husband"."""
    ctx, low, n = rules.context, doc.low, doc.n
    if k >= n or low[k] not in ctx.relation_verbs:
        return False
    k += 1
    if k < n and low[k] in ctx.relation_owners:
        k += 1
    if k < n and low[k] in _RELATION_PREFIXES:
        k += 1
    return bool(doc.starts_with(k, ctx.relation_nouns, 3))


def _frame(doc: Doc, i: int, end: int, rules: PrivacyRules) -> tuple[int, bool]:
    """Points for the words around a cue-less name at ``i..end-1``, and whether they make a full frame.

    Before: an opener ("okay", "thank you", "bye") 2, the start of the utterance 1. After: the end of the
    utterance 2 after an opener (else 1), "it's me" 3, a closer ("thank you", "take care") 2, a relation ("is
    my brother") 3, a reporting verb ("gave", "said") 2, a clause addressed to the person ("can you") or a
    verb ("has") 1. *Full* (enough for an everyday-word name): an opener with the end or a closer after it (a
    vocative), "it's me" at the start, a relation, or a reporting verb.
    """
    ctx, low, n = rules.context, doc.low, doc.n
    opener = bool(doc.ends_with(i, ctx.openers, 4))
    points = 2 if opener else int(i == 0 or low[i - 1] in _SENTENCE_END or low[i - 1] == ",")
    if end >= n or low[end] in _SENTENCE_END or low[end] == ",":
        return points + (2 if opener else 1), opener
    if doc.starts_with(end, ctx.self_closers, 3):  # "mark it's me again"
        return points + 3, opener or points > 0
    if doc.starts_with(end, _SPELLING_AFTER, 3):  # "that's wells with two ls"
        return points + 3, True
    if low[end] in _AND and end + 1 < n:
        if low[end + 1] in ("i", "me"):  # "hamid and i went", "grace and me"
            return points + 2, False
        if end + 2 < n and _word_class(doc, end + 1, rules) and _relation_after(doc, end + 2, rules):
            return points + 3, True  # "connor and marisol are my kids"
    if doc.starts_with(end, ctx.closers, 3):
        return points + 2, opener
    if _relation_after(doc, end, rules):
        return points + 3, True
    if low[end] in ctx.reporting_verbs:  # "jack gave me this number"
        return points + 2, True
    return points + (low[end] in ctx.clause_words or bool(doc.starts_with(end, ctx.subject_verbs, 2))), False


def _framed(doc: Doc, i: int, rules: PrivacyRules) -> bool:
    """A name said with no cue, found by its frame ("okay maria thank you", "paul is my brother in law")."""
    cls = _word_class(doc, i, rules)
    if not cls or len(doc.low[i]) < 2:
        return False
    # An everyday-word name is judged alone ("okay, chase bank called" is not "chase" + a surname).
    points, full = _frame(doc, i, i + 1 if cls == _EVERYDAY else _extend(doc, i, rules, False), rules)
    if cls == _EVERYDAY:
        # "okay grace thank you", "mark is my brother": a given name in a full frame ("okay cool thanks": no).
        return full and points >= _NEEDED[cls] and (doc.low[i] in rules.first_names or points >= 5)
    return points >= _NEEDED[cls]


def _possessive_stem(doc: Doc, k: int, rules: PrivacyRules) -> int:
    """How name-like the stem of "<word>'s" at ``k`` is.

    2: a proper name; 1: an unlisted or everyday-word name; 0: a common word; -1: no possessive of a name.
    """
    tok = doc.low[k]
    if doc.covered[k] or not tok.endswith("'s") or len(tok) < 5:
        return -1
    stem = tok[:-2]
    if not stem.isalpha() or stem in rules.name_stop or stem in rules.context.not_names:
        return -1
    if stem in rules.context.relation_nouns.firsts or (stem,) in rules.context.relation_nouns:
        return -1  # "my mom's", "grandma's"
    if stem in rules.ambiguous_names or stem in rules.everyday_names:
        return 1
    if stem in rules.first_names or stem in rules.world_names or stem in rules.surnames:
        return 2
    return int(stem not in rules.common_words or _mid_cap(doc, k))


def _possessives(doc: Doc, rules: PrivacyRules) -> set[int]:
    """Names before "'s" ("i'm connor's mom", "hamid's inhaler"), taken without the "'s".

    A proper name (census, surname or world list) is a name before any word; an unlisted word, or one that is
    also an everyday word, only before a relation noun ("X's mom", "X's teacher") or after "i'm"/"this is".
    """
    ctx, low, n = rules.context, doc.low, doc.n
    taken: set[int] = set()
    for k in range(n):
        strength = _possessive_stem(doc, k, rules)
        if strength < 0 or k + 1 >= n or _determined(doc, k, rules):
            continue
        kin = bool(doc.starts_with(k + 1, ctx.relation_nouns, 3))
        self_cue = bool(doc.ends_with(k, rules.name_cues_weak, 4)) and low[k + 1].isalpha()
        if (strength == 1 and not (kin or self_cue)) or (strength == 0 and not (kin and self_cue)):
            continue  # strength 0 (a common word): only in "i'm <word>'s mom"
        a = k
        while (
            a > 0
            and k - a < 2
            and _free(doc, a - 1, rules)
            and (
                _lexical(low[a - 1], rules) or low[a - 1] in rules.world_names or _unknown(doc, a - 1, rules)
            )
        ):
            a -= 1  # "connor smith's mom"
        for j in range(a, k + 1):
            doc.covered[j] = True
            taken.add(j)
        doc.hits.append((doc.starts[a], doc.ends[k] - 2, "NAME", " ".join([*low[a:k], low[k][:-2]])))
    return taken


def _coordinated(doc: Doc, rules: PrivacyRules, taken: set[int]) -> None:
    """A word joined to a name by "and"/"or" ("hamid and rahul", "wen and thuy are my kids")."""
    low, n = doc.low, doc.n
    for k in range(1, n - 1):
        if low[k] not in _AND:
            continue
        for name_at, other, step in ((k - 1, k + 1, 1), (k + 1, k - 1, -1)):
            if name_at not in taken or not _free(doc, other, rules):
                continue
            cls = _word_class(doc, other, rules)
            ok = cls in (_PROPER, _UNKNOWN) or (
                cls == _EVERYDAY and low[other] in rules.first_names and doc.cap[other]
            )
            # "wen and thuy are my kids": any free word before "and <name> are my kids".
            ok = ok or (
                step == -1
                and low[other] not in rules.context.not_names
                and _relation_after(doc, k + 2, rules)
            )
            if not ok or _determined(doc, other, rules) or (low[other],) in rules.context.relation_nouns:
                continue
            a, b = (other, _extend(doc, other, rules, False)) if step == 1 else (other, other + 1)
            doc.take(a, b, "NAME", " ".join(low[a:b]))
            taken.update(range(a, b))


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
