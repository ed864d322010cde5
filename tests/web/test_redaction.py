from __future__ import annotations

import pytest

from calmline.web.redaction import _masked_in_place, mask_transcript, redact_timeline, shift_span


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("My name is Maria Lopez", "My name is ••••• •••••"),
        ("call me on 07700 900123", "call me on ##### ######"),
        ("it's maria.lopez@example.org", "it's " + "•" * 23),
        ("Ümit Çelik called", "•••• ••••• called"),
        ("I'm at 12 Station Road", "I'm at ## ••••••• ••••"),
        ("Hello, I want to die", "Hello, I want to die"),
        ("Mr O'Neill-Smith said", "•• ••••••••••••• said"),
        ("", ""),
    ],
)
def test_mask_transcript_hides_names_numbers_and_emails(text: str, masked: str) -> None:
    assert mask_transcript(text) == masked


@pytest.mark.parametrize("text", ["Ann said 😢 call 555 0199 now", "Ümit Çelik, née Šimek", "a\nB 1"])
def test_mask_transcript_keeps_every_position(text: str) -> None:
    out = mask_transcript(text)
    assert len(out) == len(text)
    assert [i for i, c in enumerate(text) if c.isspace()] == [i for i, c in enumerate(out) if c.isspace()]


@pytest.mark.parametrize(
    ("span", "moved"),
    [
        ((0, 4), (0, 4)),  # before the replaced stretch
        ((8, 19), (8, 16)),  # exactly the name: the whole placeholder
        ((10, 12), (8, 16)),  # inside the name: widened to the placeholder
        ((24, 27), (21, 24)),  # after it: shifted by the length difference (11 -> 8)
        ((4, 24), (4, 21)),  # across it
    ],
)
def test_shift_span_follows_the_placeholders(span: tuple[int, int], moved: tuple[int, int]) -> None:
    # "This is Maria Lopez and die": "Maria Lopez" (8..19) became "[NAME_1]" (8 characters).
    assert shift_span(span, [(8, 19, 8)]) == moved


def _msg(kind: str, payload: dict[str, object]) -> dict[str, object]:
    return {"type": kind, "payload": payload}


def test_redact_timeline_keeps_placeholders_stable_through_the_call() -> None:
    out = redact_timeline(
        [
            _msg("utterance", {"seq": 1, "text": "hi this is maria lopez"}),
            _msg("utterance", {"seq": 2, "text": "maria lopez again, I want to die"}),
            _msg("finding", {"finding": {"utterance_seq": 2, "evidence": [[29, 32]]}}),
            _msg("supervisor.action", {"action": "note", "note": "maria lopez calmer"}),
        ]
    )
    texts = [m["payload"].get("text") or m["payload"].get("note") for m in out]
    assert "maria" not in " ".join(t for t in texts if t)
    second = out[1]["payload"]["text"]
    (start, end) = out[2]["payload"]["finding"]["evidence"][0]
    assert second[start:end] == "die"
    assert out[0]["payload"]["masked"] is True


def test_the_stand_in_masks_in_place() -> None:
    message = _masked_in_place(_msg("utterance", {"text": "Maria at 555"}))
    assert message["payload"] == {"text": "••••• at ###", "masked": True}
