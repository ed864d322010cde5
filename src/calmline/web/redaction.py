"""A simple transcript mask for people whose role may not read the caller's words as spoken.

``mask_transcript`` hides the obvious identifiers in an utterance and keeps the rest readable, so an admin or
an auditor can follow a call without seeing who it was about:

* every digit becomes ``#`` (phone numbers, dates of birth, record numbers, addresses);
* an e-mail address becomes ``•`` characters;
* a capitalised word that looks like a name ("Maria", "O'Neill", "St") becomes ``•`` characters, except
  for a short list of common words that start sentences ("I", "The", "My", "Hello", ...).

Every character is replaced by exactly one character, so the character spans of the findings still point at
the same words and evidence highlighting keeps working on the masked text.

This is deliberately simple and errs towards masking too much: it knows nothing about lower-case names,
spelled-out numbers or street names. The full PHI redactor of issue 8 (``calmline.privacy.redact``) is what
``redact_timeline`` uses; ``mask_transcript`` is its stand-in only where that module is not installed.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "•"
DIGIT_MASK = "#"

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# A word (any script), with an apostrophe or hyphen inside ("O'Neill", "Smith-Jones"); capitalised ones are
# masked (``_mask_name``), so "Ümit" is caught as well as "Maria".
_CAPITALISED = re.compile(r"\b[^\W\d_]+(?:['’\-][^\W\d_]+)*\b")
_DIGIT = re.compile(r"\d")

#: Capitalised words that are not names: sentence starters and the pronoun "I" with its contractions.
COMMON_WORDS: frozenset[str] = frozenset(
    (
        "I",
        "I'm",
        "I've",
        "I'd",
        "I'll",
        "Im",
        "Ive",
        "Id",
        "A",
        "An",
        "The",
        "This",
        "That",
        "These",
        "Those",
        "There",
        "Then",
        "Than",
        "It",
        "It's",
        "Its",
        "He",
        "She",
        "We",
        "They",
        "You",
        "Your",
        "You're",
        "My",
        "Me",
        "Our",
        "His",
        "Her",
        "Their",
        "Hi",
        "Hello",
        "Hey",
        "Yes",
        "Yeah",
        "No",
        "Not",
        "Okay",
        "OK",
        "Ok",
        "Oh",
        "Um",
        "Uh",
        "Well",
        "So",
        "And",
        "But",
        "Or",
        "If",
        "When",
        "Where",
        "What",
        "Why",
        "How",
        "Who",
        "Which",
        "Is",
        "Are",
        "Was",
        "Were",
        "Do",
        "Does",
        "Did",
        "Can",
        "Could",
        "Would",
        "Should",
        "Will",
        "Shall",
        "May",
        "Might",
        "Must",
        "Have",
        "Has",
        "Had",
        "Please",
        "Thank",
        "Thanks",
        "Sorry",
        "Good",
        "Sure",
        "Right",
        "Just",
        "Now",
        "Today",
        "Tomorrow",
        "Yesterday",
        "Tonight",
        "Sometimes",
        "Maybe",
        "Because",
        "Since",
        "After",
        "Before",
        "Let",
        "Let's",
        "Nothing",
        "Everything",
        "Something",
        "Anything",
        "Nobody",
        "Everyone",
        "Someone",
        "Look",
        "Listen",
        "Don't",
        "Doesn't",
        "Didn't",
        "Can't",
        "Won't",
        "Isn't",
        "Wasn't",
        "Aren't",
        "Ma'am",
        "Sir",
        "Doctor",
        "Nurse",
        "Mum",
        "Mom",
        "Dad",
    )
)


def _mask(match: re.Match[str], char: str = MASK) -> str:
    return char * len(match.group(0))


def _mask_name(match: re.Match[str]) -> str:
    word = match.group(0)
    if not word[0].isupper() or word in COMMON_WORDS or word.replace("’", "'") in COMMON_WORDS:
        return word
    return MASK * len(word)


def mask_transcript(text: str) -> str:
    """``text`` with digits, e-mail addresses and name-like capitalised words masked, length preserved.

    >>> mask_transcript("Hi, I'm Maria Lopez, born 04/07/1981, maria@example.org")
    "Hi, I'm ••••• •••••, born ##/##/####, •••••••••••••••••"
    """
    masked = _EMAIL.sub(_mask, text)
    masked = _DIGIT.sub(DIGIT_MASK, masked)
    return _CAPITALISED.sub(_mask_name, masked)


def shift_span(span: tuple[int, int], replaced: list[tuple[int, int, int]]) -> tuple[int, int]:
    """Where ``span`` (offsets in the original text) lands after redaction.

    ``replaced`` lists ``(start, end, new_length)`` for every replaced stretch, in text order. A span edge
    inside a replaced stretch moves to that placeholder's edge, so the placeholder is highlighted whole.
    """

    def moved(pos: int, *, is_end: bool) -> int:
        delta = 0
        for start, end, length in replaced:
            if pos >= end:
                delta += length - (end - start)
            elif pos > start:
                return start + delta + (length if is_end else 0)
            else:
                break
        return pos + delta

    return moved(span[0], is_end=False), moved(span[1], is_end=True)


def redact_timeline(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A call's timeline messages with identifiers taken out of utterance text and notes.

    Uses the PHI redactor (``calmline.privacy.redact``: typed placeholders such as ``[NAME_1]``, the same for
    the same value all through the call) and moves the findings' evidence spans to match the redacted text.
    Where that module is not installed, ``mask_transcript`` masks in place instead (spans unchanged).
    """
    try:
        from calmline.privacy.redact import CallRedactor
    except ImportError:  # pragma: no cover - the redactor ships with calmline; kept for partial installs
        return [_masked_in_place(m) for m in messages]
    call = CallRedactor()
    shifts: dict[int, list[tuple[int, int, int]]] = {}
    out: list[dict[str, Any]] = []
    for message in messages:
        payload = message["payload"]
        if message["type"] == "utterance" and isinstance(payload.get("text"), str):
            result = call.redact(payload["text"])
            if isinstance(payload.get("seq"), int):
                shifts[payload["seq"]] = [(s.start, s.end, len(s.label)) for s in result.spans]
            message = {**message, "payload": {**payload, "text": result.text, "masked": True}}
        elif message["type"] == "supervisor.action" and payload.get("note"):
            message = {**message, "payload": {**payload, "note": call.redact(payload["note"]).text}}
        elif message["type"] == "finding" and isinstance(payload.get("finding"), dict):
            finding = payload["finding"]
            replaced = shifts.get(finding.get("utterance_seq", -1))
            if replaced:
                evidence = [list(shift_span((a, b), replaced)) for a, b in finding.get("evidence", [])]
                message = {**message, "payload": {**payload, "finding": {**finding, "evidence": evidence}}}
        out.append(message)
    return out


def _masked_in_place(message: dict[str, Any]) -> dict[str, Any]:
    payload = message["payload"]
    if message["type"] == "utterance" and isinstance(payload.get("text"), str):
        return {**message, "payload": {**payload, "text": mask_transcript(payload["text"]), "masked": True}}
    if message["type"] == "supervisor.action" and payload.get("note"):
        return {**message, "payload": {**payload, "note": mask_transcript(payload["note"])}}
    return message
