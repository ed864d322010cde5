"""A small, hand-written, SYNTHETIC call-style suicidal-intent set (documented as synthetic everywhere).

There is no dev set of short utterances labelled for suicidal intent. These templates give the suicide head
examples of the transcript register it will see (lower case, no punctuation, first person, fillers) and,
above all, hard negatives: distress, physical pain, grief, idioms ("this is killing me") and anger at
others that are *not* suicidal intent. The set is generated deterministically from ``seed``.
"""

from __future__ import annotations

import random

_PREFIXES = ["", "", "", "i mean ", "honestly ", "to be honest ", "um ", "you know ", "i just ", "well ",
             "its just that ", "the thing is ", "i guess ", "sorry ", "look "]
_SUFFIXES = ["", "", "", " anymore", " you know", " i mean it", " right now", " tonight", " lately",
             " i dont know", " thats all", " honestly"]

_POSITIVE = [
    "i want to kill myself", "i want to die", "i dont want to be alive", "i dont want to live",
    "i am going to end my life", "im going to kill myself", "i have been thinking about suicide",
    "i keep thinking about ending it all", "i want to end it all", "i wish i was dead", "i wish i were dead",
    "everyone would be better off without me", "my family would be better off if i was gone",
    "i have a plan to kill myself", "i have pills saved up to take them all", "i bought a rope",
    "i wrote a suicide note", "i wrote letters to say goodbye", "i tried to kill myself last year",
    "i took an overdose before", "i cut myself last night", "i have been self harming again",
    "theres no point in living", "there is no reason to keep living", "i cant go on living like this",
    "i just want to go to sleep and never wake up", "i want to disappear forever and not wake up",
    "i am standing on the bridge", "i have the gun in front of me", "i am going to jump",
    "i dont see any way out except dying", "life is not worth living", "i am ready to die",
    "i have decided to end things tonight", "im thinking of taking all my pills", "i want to hang myself",
    "i tried to hang myself", "i attempted suicide twice", "suicide feels like the only option",
    "i cant stop thinking about killing myself", "i feel like killing myself", "i should just kill myself",
    "nobody would even notice if i died", "i am saying goodbye to everyone", "this is my last call",
    "i gave away my things because i wont need them", "i want this to be over for good i want to die",
    "i would rather be dead", "death is the only way out", "i dont want to wake up tomorrow",
]

_NEGATIVE = [
    # distress, not suicidal intent
    "i am so tired of waiting on hold", "i feel really sad today", "i am stressed about my exams",
    "i have been feeling down lately", "i am anxious about the surgery", "im scared about the test results",
    "i cant sleep at night", "i feel lonely since the move", "i am exhausted from work",
    "i am overwhelmed with everything", "i am so frustrated with this service", "i had a panic attack",
    "my depression has been bad but i am not going to hurt myself", "i would never kill myself",
    "i am not suicidal i just need to talk", "i dont want to die i want help with my pain",
    # grief and others
    "my father died last month", "my friend killed himself last year and i miss him",
    "my mom passed away and i am grieving", "i lost my dog yesterday",
    "my brother attempted suicide and i am worried about him",
    # physical pain and medical
    "this headache is killing me", "my back is killing me", "the pain in my chest is really bad",
    "i need a refill of my pills", "i took my pills this morning", "i cut my finger cooking",
    "i have a bad cough and fever", "my blood pressure is high", "i fell and hurt my knee",
    # idioms
    "this traffic is killing me", "i could die of embarrassment", "i nearly died laughing",
    "my boss is going to kill me", "i am dying to see my grandkids", "that joke killed me",
    "i want to end this call", "i want to cancel my subscription", "i am dead tired",
    "kill the engine and wait", "i would kill for a coffee", "i am just done with this form",
    # anger at others
    "i am so angry at my neighbour", "i could kill him for that", "i hate my job",
    # neutral call content
    "can you help me book an appointment", "i am calling about my prescription", "what time do you open",
    "my address is on main street", "i need an ambulance for my wife", "thank you for your help",
    "i feel better now thanks", "yes i can hear you", "i am calling for my mother",
    "the doctor said i am fine",
    "i want to live a long life", "i am looking forward to the weekend", "i went for a walk today",
]


def synthetic_suicide_set(seed: int, per_template: int = 3) -> tuple[list[str], list[int], list[int]]:
    """Templated call-style utterances: (texts, labels 1 = suicidal intent/behaviour, template ids)."""
    rng = random.Random(seed)
    texts: list[str] = []
    labels: list[int] = []
    groups: list[int] = []
    seen: set[str] = set()
    for core_list, label, offset in ((_POSITIVE, 1, 0), (_NEGATIVE, 0, len(_POSITIVE))):
        for g, core in enumerate(core_list):
            for _ in range(per_template):
                text = f"{rng.choice(_PREFIXES)}{core}{rng.choice(_SUFFIXES)}".strip()
                if text not in seen:
                    seen.add(text)
                    texts.append(text)
                    labels.append(label)
                    groups.append(offset + g)
    return texts, labels, groups


def synthetic_groups() -> tuple[list[str], list[str]]:
    """The core templates (positives, negatives), for grouping CV folds by template."""
    return list(_POSITIVE), list(_NEGATIVE)
