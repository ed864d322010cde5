"""Scripted trainees for the guarded suicidal caller: one good, one poor."""

GOOD = [
    "I can help with that. It sounds like things have felt really pointless and exhausting lately, "
    "that must be really hard.",
    "Thank you for telling me. Sometimes when people feel like this they think about suicide. "
    "Are you thinking about suicide?",
    "I'm really glad you told me. Do you have the tablets with you now, and are you safe right now?",
    "I can connect you to a crisis counsellor now and I'll stay on the line with you while we do.",
]
POOR = [
    "Sure, what's your date of birth?",
    "Calm down, you'll be fine, lots of people feel like that.",
    "Don't be silly, you'll be fine.",
]
