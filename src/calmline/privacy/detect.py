"""Find PHI in one utterance: written patterns first, then spoken forms token by token.

Every detector sees the same token list and a ``covered`` mask; what an earlier detector took is never
taken again, so the order below is the priority: written e-mails/URLs/IPs/dates/SSNs, spoken e-mails and URLs,
dates, street addresses (with the city and ZIP that follow), numbers typed by their cue, ages over 89, cities,
names, spelled-out letters. Detectors return ``(start, end, kind, key)`` where ``key`` is a normalised value
used only to give the same value the same pseudonym; it never leaves :mod:`calmline.privacy.redact`.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from calmline.privacy.numbers import (
    ORDINALS,
    TENS,
    cardinal,
    day,
    digit_run,
    is_number_token,
    year,
)
from calmline.privacy.rules import PLACEHOLDER, TOKEN_RE, PhraseSet, PrivacyRules

Hit = tuple[int, int, str, str]

TLDS = frozenset({"com", "net", "org", "edu", "gov", "io", "us", "co", "info", "biz", "health", "me", "mil"})
_EMAIL_STOP = frozenset(
    {"is", "email", "mail", "address", "it's", "its", "me", "my", "to", "at", "was", "the", "and", "or"}
)
#: Words that may stand between a number and a cue after it ("2204 on my social", "… that's the member id").
_AFTER_GLUE = frozenset(
    {
        "is",
        "are",
        "was",
        "that's",
        "thats",
        "those",
        "these",
        "that",
        "it's",
        "this",
        "the",
        "my",
        "her",
        "his",
        "their",
        "our",
        "your",
        "on",
        "of",
        "for",
        "from",
        "in",
        "last",
        "four",
        "digits",
        "numbers",
        ",",
        "-",
        "um",
        "uh",
        "should",
        "be",
        "i",
        "think",
        "it",
        "as",
        "with",
    }
)
#: A number just after these is an amount, whatever cue follows ("i paid 1500 on my card").
_AMOUNT_BEFORE = frozenset(
    {
        "$",
        "paid",
        "pay",
        "paying",
        "owe",
        "owed",
        "cost",
        "costs",
        "charged",
        "spent",
        "balance",
        "bill",
        "dollars",
    }
)
_YEAR_BEFORE = frozenset({"since", "in", "from", "until", "till", "by", "of", "back", "around", "year"})
_LOCAL_JOIN = frozenset({"dot", "underscore", "dash", "period", "hyphen", "-", "_", "."})
#: Kinds whose identifiers mix letters and digits ("a b c one two three").
ALNUM_KINDS = frozenset({"MRN", "INSURANCE", "ACCOUNT", "LICENSE", "PLATE", "ID"})

_WRITTEN = re.compile(
    r"(?P<EMAIL>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<URL>\b(?:https?://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|gov|edu|io|health)\b(?:/\S*)?)"
    r"|(?P<IP>\b(?:\d{1,3}\.){3}\d{1,3}\b)"
    r"|(?P<DATE>\b(?:\d{1,2}[/-]\d{1,2}[/-](?:\d{4}|\d{2})|\d{4}-\d{2}-\d{2})\b)"
    r"|(?P<SSN>\b\d{3}-\d{2}-\d{4}\b)"
    r"|(?P<ALNUM>\b(?=[A-Za-z]*\d)(?=(?:[A-Za-z]*\d){3})(?=\d*[A-Za-z])[A-Za-z0-9]{5,}\b)"
    r"|(?P<HOLD>" + PLACEHOLDER + r")",
    re.IGNORECASE,
)


class Doc:
    """One utterance as tokens: lower-cased text, character offsets, capitalisation, what is taken."""

    __slots__ = ("cap", "covered", "ends", "hits", "low", "n", "starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.low: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.cap: list[bool] = []
        for m in TOKEN_RE.finditer(text):
            tok = m.group()
            low = tok.lower().replace("’", "'")
            if not low.isascii() and any(c.isdigit() and not c.isdecimal() for c in low):
                low = "\ufffd"  # superscripts and the like: digits to str.isdigit, not to int()
            self.low.append(low)
            self.starts.append(m.start())
            self.ends.append(m.end())
            self.cap.append(tok[0].isupper() and len(tok) > 1 and not tok.isupper())
        self.n = len(self.low)
        self.covered = [False] * self.n
        self.hits: list[Hit] = []

    def take(self, a: int, b: int, kind: str, key: str) -> None:
        """Mark tokens ``a..b-1`` as ``kind``."""
        for k in range(a, b):
            self.covered[k] = True
        self.hits.append((self.starts[a], self.ends[b - 1], kind, key))

    def take_chars(self, start: int, end: int, kind: str, key: str) -> None:
        """Mark the tokens inside a character span (a written pattern)."""
        a = bisect_left(self.starts, start)
        b = a
        while b < self.n and self.starts[b] < end:
            self.covered[b] = True
            b += 1
        if kind != "HOLD":
            self.hits.append((start, end, kind, key))

    def ends_with(self, i: int, table: PhraseSet, longest: int = 5) -> int:
        """Length of the longest phrase of ``table`` that ends just before token ``i`` (0: none)."""
        if i == 0 or self.low[i - 1] not in table.lasts:
            return 0
        for size in range(min(longest, table.longest, i), 0, -1):
            if tuple(self.low[i - size : i]) in table.phrases:
                return size
        return 0

    def starts_with(self, i: int, table: PhraseSet, longest: int = 4) -> int:
        """Length of the longest phrase of ``table`` that starts at token ``i`` (0: none)."""
        if i >= self.n or self.low[i] not in table.firsts:
            return 0
        for size in range(min(longest, table.longest, self.n - i), 0, -1):
            if tuple(self.low[i : i + size]) in table.phrases:
                return size
        return 0


def written(doc: Doc, rules: PrivacyRules) -> None:
    """E-mails, URLs, IPs, numeric dates, SSNs and letter-digit identifiers as written."""
    for m in _WRITTEN.finditer(doc.text):
        kind = m.lastgroup or "ID"
        key = m.group().lower()
        if kind == "ALNUM":
            a = bisect_left(doc.starts, m.start())
            kind = _cue(doc, a, rules) or _cue_after(doc, bisect_left(doc.starts, m.end()), rules) or "ID"
            if kind not in ALNUM_KINDS and kind not in ("SSN", "PHONE", "ZIP"):
                kind = "ID"
        doc.take_chars(m.start(), m.end(), kind, key)


def spoken_web(doc: Doc) -> None:
    """Spoken e-mails ("j o h n at gmail dot com") and URLs ("www dot clinic dot org slash forms")."""
    low, n = doc.low, doc.n
    for k in range(1, n - 3):
        if doc.covered[k] or low[k] not in ("at", "@"):
            continue
        end = _domain(doc, k + 1)
        if end == 0:
            continue
        a = k
        while a - 1 >= 0 and k - a < 10 and not doc.covered[a - 1] and low[a - 1] not in _EMAIL_STOP:
            tok = low[a - 1]
            if not (tok.isalnum() or tok in _LOCAL_JOIN):
                break
            a -= 1
        if a < k:
            doc.take(a, end, "EMAIL", " ".join(low[a:end]))
    for k in range(n - 1):
        if doc.covered[k] or low[k] != "dot" or low[k + 1] not in TLDS or k == 0:
            continue
        a = k - 1
        while a - 2 >= 0 and low[a - 1] == "dot" and low[a - 2].isalnum() and not doc.covered[a - 2]:
            a -= 2
        while a - 1 >= 0 and low[a - 1] == "w" and not doc.covered[a - 1]:
            a -= 1
        if doc.covered[a] or not low[a].isalnum() or (low[a] in _EMAIL_STOP and low[a] != "e"):
            continue
        end = k + 2
        while end + 1 < n and low[end] == "slash" and low[end + 1].isalnum():
            end += 2
        doc.take(a, end, "URL", " ".join(low[a:end]))


def _domain(doc: Doc, i: int) -> int:
    """End of "<word> dot <word> ... dot <tld>" starting at ``i``; 0 when not a domain."""
    low, n = doc.low, doc.n
    j = i
    dots = 0
    while j < n and low[j].isalnum() and not doc.covered[j]:
        if j + 2 < n and low[j + 1] in ("dot", ".") and low[j + 2].isalnum():
            dots += 1
            j += 2
            if low[j] in TLDS and not (j + 2 < n and low[j + 1] in ("dot", ".")):
                return j + 1
            continue
        break
    return 0


def dates(doc: Doc, rules: PrivacyRules) -> None:
    """Month-day-year in words ("march third nineteen eighty", "the 3rd of march")."""
    low, n, months = doc.low, doc.n, rules.months
    i = 0
    while i < n:
        t = low[i]
        if doc.covered[i]:
            i += 1
            continue
        end = i
        if t in months:
            j = i + 1 + (i + 1 < n and low[i + 1] == "the")
            dj, _ = day(low, j)
            if dj > j:
                end = dj
                y = dj + (dj < n and low[dj] in (",", "of"))
                yj = year(low, y)
                end = yj if yj > y else dj
            elif t not in rules.ambiguous_months:
                y = i + 1 + (i + 1 < n and low[i + 1] == ",")
                yj = year(low, y)
                if yj > y and (not low[y].isdigit() or _is_year(low, y)):
                    end = yj
        elif t in ORDINALS or (t[:1].isdigit() and t[-2:] in ("st", "nd", "rd", "th")):
            dj, _ = day(low, i)
            if dj > i:
                m = dj + (dj < n and low[dj] == "of")
                if m < n and low[m] in months:
                    end = m + 1
                    y = end + (end < n and low[end] == ",")
                    yj = year(low, y)
                    end = yj if yj > y else end
        if end > i and doc.starts_with(i, rules.holidays, 4) >= min(end - i, 3):
            end = i
        if end > i and not any(doc.covered[i:end]):
            doc.take(i, end, "DATE", " ".join(low[i:end]))
            i = end
        else:
            i += 1


def _is_year(low: list[str], i: int) -> bool:
    return i < len(low) and low[i].isdigit() and len(low[i]) == 4 and low[i][:2] in ("19", "20")


def _cue(doc: Doc, i: int, rules: PrivacyRules) -> str | None:
    """The kind named by the nearest number cue before token ``i`` (a specific kind beats a generic "ID")."""
    found: str | None = None
    lo = max(0, i - rules.cue_window)
    for p in range(i, lo, -1):
        if doc.covered[p - 1]:
            break
        size = doc.ends_with(p, rules.number_cue_phrases, 4)
        if size:
            kind = rules.number_cues[tuple(doc.low[p - size : p])]
            if kind != "ID":
                return kind
            found = found or kind
    return found


def _cue_after(doc: Doc, end: int, rules: PrivacyRules) -> str | None:
    """The kind named by a number cue right after the run ending at ``end`` ("2204 on my social").

    Only linking words may stand between ("is", "that's the", "on my", "those are the last four of my"), and a
    run that looks like an amount or a year in a phrase ("paid 1500 on my card", "since 2019 on my plan") is
    left to the cue before it.
    """
    low = doc.low
    for p in range(end, min(doc.n, end + rules.cue_window + 2)):
        if doc.covered[p]:
            return None
        size = doc.starts_with(p, rules.number_cue_phrases, 4)
        if size:
            return rules.number_cues[tuple(low[p : p + size])]
        if low[p] not in _AFTER_GLUE:
            return None
    return None


def _amount_or_year(doc: Doc, i: int, digits: str) -> bool:
    prev = doc.low[i - 1] if i > 0 else ""
    if any(t in _AMOUNT_BEFORE for t in doc.low[max(0, i - 3) : i]):
        return True
    return len(digits) == 4 and digits[:2] in ("19", "20") and prev in _YEAR_BEFORE


def _short_alpha(doc: Doc, k: int, rules: PrivacyRules) -> bool:
    tok = doc.low[k]
    return (
        not doc.covered[k]
        and tok.isalpha()
        and len(tok) <= 3
        and tok not in rules.name_stop
        and (tok,) not in rules.number_cues
    )


def _letter(doc: Doc, k: int) -> bool:
    return (
        not doc.covered[k] and len(doc.low[k]) == 1 and doc.low[k].isalpha() and doc.low[k] not in ("a", "i")
    )


def numbers(doc: Doc, rules: PrivacyRules) -> None:
    """Digit runs typed by their cue; spoken IPs; long uncued runs (phone-shaped or ids)."""
    low, n = doc.low, doc.n
    i = 0
    while i < n:
        if doc.covered[i] or not is_number_token(low[i]):
            i += 1
            continue
        end, digits = digit_run(low, i, doc.covered)
        if end == i:
            i += 1
            continue
        ip_end = _spoken_ip(doc, end, [digits])
        if ip_end:
            doc.take(i, ip_end, "IP", " ".join(low[i:ip_end]))
            i = ip_end
            continue
        kind = _cue(doc, i, rules)
        if kind is None and not _amount_or_year(doc, i, digits):
            # Also for long runs: "b a e 4904248 that's the member number" keeps its letters in the id.
            kind = _cue_after(doc, end, rules)
        start = i
        chars = len(digits)
        key = digits
        if kind in ALNUM_KINDS:
            while start - 1 >= 0 and (
                _short_alpha(doc, start - 1, rules)
                or (len(low[start - 1]) == 1 and low[start - 1].isalpha() and not doc.covered[start - 1])
            ):
                start -= 1
                chars += len(low[start])
            while end < n and not doc.covered[end]:
                if _short_alpha(doc, end, rules):
                    chars += len(low[end])
                    end += 1
                    continue
                more, extra = digit_run(low, end, doc.covered)
                if more == end:
                    break
                chars += len(extra)
                end = more
            key = "".join(low[start:end])
        if kind == "DATE" and (chars < 5 or (chars == 4 and digits[:2] in ("19", "20"))):
            kind = None
        if kind is not None and chars >= rules.min_chars.get(kind, 4):
            doc.take(start, end, kind, key)
        elif len(digits) >= rules.uncued_min_digits:
            phone = len(digits) in (7, 10) or (len(digits) == 11 and digits[0] == "1")
            if not phone:  # letters said just before an id are part of it ("b a e 4904248 7"), not a name
                while start - 1 >= 0 and i - start < 3 and _letter(doc, start - 1):
                    start -= 1
            doc.take(start, end, "PHONE" if phone else "ID", digits)
        i = end


def _spoken_ip(doc: Doc, end: int, groups: list[str]) -> int:
    low = doc.low
    j = end
    while len(groups) < 4 and j + 1 < doc.n and low[j] in ("dot", "point") and not doc.covered[j + 1]:
        more, digits = digit_run(low, j + 1, doc.covered)
        if more == j + 1 or len(digits) > 3:
            return 0
        groups.append(digits)
        j = more
    return j if len(groups) == 4 and all(len(g) <= 3 for g in groups) else 0


def ages(doc: Doc, rules: PrivacyRules) -> None:
    """Ages over 89 ("she's ninety two", "93 years old")."""
    low, n = doc.low, doc.n
    for i in range(n):
        t = low[i]
        if doc.covered[i] or not (t.isdigit() or t in TENS or t in ("a", "one")):
            continue
        end, value = cardinal(low, i)
        if end == i or not rules.age_min <= value <= 125 or any(doc.covered[i:end]):
            continue
        after = doc.starts_with(end, rules.age_after)
        before = doc.ends_with(i, rules.age_before, 3) or (
            i >= 2
            and low[i - 1] in ("is", "was", "turned", "turns", "turning")
            and low[i - 2] in rules.age_subjects
        )
        unit_ok = end >= n or low[end] not in rules.age_units_not
        if after or (before and unit_ok):
            doc.take(i, end, "AGE", str(value))
