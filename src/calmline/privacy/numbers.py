"""Spoken and written numbers, as speech-to-text writes them.

Two readings matter. A *digit string* is how people say identifiers: "five five five one two one two",
"eight hundred", "double five", "oh three", "twelve twelve", "555-1212" — :func:`digit_run` turns a run of
such tokens into its digits. A *cardinal* is a quantity or a date part: "ninety two", "twenty first",
"nineteen eighty" — :func:`cardinal`, :func:`day` and :func:`year` read those. All functions take the
lower-cased token list and an index and return where the reading stopped, so callers never re-parse strings.
"""

from __future__ import annotations

DIGITS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}
#: Punctuation and words that may sit between the groups of one spoken number.
SEPARATORS = frozenset({"-", ",", "(", ")", ".", "dash", "hyphen", "/"})
#: Words that start or continue a digit run.
NUMBER_WORDS = (
    frozenset(DIGITS) | frozenset(TEENS) | frozenset(TENS) | {"hundred", "thousand", "double", "triple"}
)
_NONZERO = {k: v for k, v in DIGITS.items() if v != "0"}


def is_number_token(tok: str) -> bool:
    """A token that can be part of a digit run (digits, digit words, teens, tens, hundred, double)."""
    return tok.isdigit() or tok in NUMBER_WORDS


def digit_run(low: list[str], i: int, stop: list[bool]) -> tuple[int, str]:
    """Read the digit string that starts at ``i``; returns (end index, digits). ``end == i``: no run.

    ``stop`` marks tokens already redacted, which end a run. "oh"/"o" count as zero only next to another
    number token, so "oh no" is not a number.
    """
    n = len(low)
    out: list[str] = []
    j = i
    end = i
    while j < n and not stop[j]:
        t = low[j]
        nxt = low[j + 1] if j + 1 < n else ""
        if t.isdigit():
            out.append(t)
            j += 1
        elif t in ("oh", "o"):
            if not (out or is_number_token(nxt)) or nxt in ("my", "no", "god", "well"):
                break
            out.append("0")
            j += 1
        elif t in DIGITS:
            out.append(DIGITS[t])
            j += 1
        elif t in TEENS:
            out.append(str(TEENS[t]))
            j += 1
        elif t in TENS:
            if nxt in _NONZERO:
                out.append(str(TENS[t] + int(_NONZERO[nxt])))
                j += 2
            else:
                out.append(str(TENS[t]))
                j += 1
        elif t in ("hundred", "thousand") and out:
            zeros = "00" if t == "hundred" else "000"
            if nxt in TENS or nxt in TEENS:
                zeros = zeros[:-2]
            elif nxt == "and" or (nxt in _NONZERO and not (j + 2 < n and low[j + 2] in DIGITS)):
                zeros = zeros[:-1]  # "one hundred five" is 105; "eight hundred five five five" is 800-555
            out.append(zeros)
            j += 1
            if nxt == "and" and j + 1 < n and is_number_token(low[j + 1]):
                j += 1
        elif t in ("double", "triple") and (nxt in DIGITS or (nxt.isdigit() and len(nxt) == 1)):
            d = DIGITS.get(nxt, nxt)
            out.append(d * (2 if t == "double" else 3))
            j += 2
        elif t in SEPARATORS and out and j + 1 < n and not stop[j + 1] and is_number_token(nxt):
            j += 1
            continue
        else:
            break
        end = j
    return end, "".join(out)


def cardinal(low: list[str], i: int) -> tuple[int, int]:
    """Read a quantity ("ninety two", "92", "a hundred and one"); returns (end, value), end == i: none."""
    n = len(low)
    if i >= n:
        return i, 0
    t = low[i]
    if t.isdigit():
        return i + 1, int(t)
    j = i
    value = 0
    if t in ("a", "one") and i + 1 < n and low[i + 1] == "hundred":
        value, j = 100, i + 2
        if j < n and low[j] == "and":
            j += 1
        if j >= n or not (low[j] in TENS or low[j] in TEENS or low[j] in _NONZERO):
            return (j - 1 if low[j - 1] == "and" else j), value
        t = low[j]
    if t in TEENS:
        return j + 1, value + TEENS[t]
    if t in TENS:
        if j + 1 < n and low[j + 1] in _NONZERO:
            return j + 2, value + TENS[t] + int(_NONZERO[low[j + 1]])
        return j + 1, value + TENS[t]
    if t in _NONZERO:
        return j + 1, value + int(_NONZERO[t])
    return (j, value) if value else (i, 0)


def day(low: list[str], i: int) -> tuple[int, int]:
    """Read a day of the month ("third", "3rd", "3", "twenty first", "twenty one"); (end, day) or (i, 0)."""
    n = len(low)
    if i >= n:
        return i, 0
    t = low[i]
    if t[:1].isdigit():
        digits = t.rstrip("stndrh")
        if digits.isdigit() and 1 <= int(digits) <= 31 and len(digits) <= 2:
            return i + 1, int(digits)
        return i, 0
    if t in ORDINALS:
        return i + 1, ORDINALS[t]
    if t in ("twenty", "thirty") and i + 1 < n:
        nxt = low[i + 1]
        if nxt in ORDINALS and ORDINALS[nxt] < 10:
            value = TENS[t] + ORDINALS[nxt]
            return (i + 2, value) if value <= 31 else (i, 0)
    end, value = cardinal(low, i)
    if end > i and 1 <= value <= 31:
        return end, value
    return i, 0


def year(low: list[str], i: int) -> int:
    """Read a year ("1980", "nineteen eighty", "two thousand five", "twenty twenty"); its end, or ``i``."""
    n = len(low)
    if i >= n:
        return i
    t = low[i]
    if t.isdigit():
        return i + 1 if len(t) in (2, 4) else i
    if t == "two" and i + 1 < n and low[i + 1] == "thousand":
        j = i + 2
        if j < n and low[j] == "and":
            j += 1
        end, _ = cardinal(low, j)
        return end if end > j else i + 2
    if t in ("nineteen", "twenty") or t in TEENS:
        j = i + 1
        if j < n and low[j] in ("oh", "o") and j + 1 < n and low[j + 1] in _NONZERO:
            return j + 2
        if j < n and low[j] == "hundred":
            return j + 1
        end, value = cardinal(low, j)
        if end > j and value < 100:
            return end
        return i
    if t in TENS:  # a two-digit year: "eighty", "eighty five"
        end, _ = cardinal(low, i)
        return end
    return i
