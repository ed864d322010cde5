import pytest

from calmline.analysis.medical import MedicalAnalyzer
from tests.clinical.helpers import check, of_type, risks

# (text, category, level or None, assertion, experiencer)
MEDICAL = [
    (
        "crushing pain in my chest and it's going down my left arm",
        "chest_pain",
        "emergency",
        "present",
        "caller",
    ),
    ("I have chest pain and I'm sweating", "chest_pain", "emergency", "present", "caller"),
    ("my chest feels tight", "chest_pain", "urgent", "present", "caller"),
    (
        "my mom's face is drooping on one side and her speech is slurred",
        "stroke",
        "emergency",
        "present",
        "other",
    ),
    ("my husband can't breathe", "breathing", "emergency", "present", "other"),
    ("she's not breathing", "unresponsive", "emergency", "present", "other"),
    ("the bleeding won't stop", "bleeding", "emergency", "present", "caller"),
    ("my throat is closing up", "anaphylaxis", "emergency", "present", "caller"),
    ("my son swallowed a bunch of pills", "overdose", "emergency", "present", "other"),
    ("he's having a seizure", "seizure", "emergency", "present", "other"),
    ("he fell and hit his head and he's been throwing up", "head_injury", "emergency", "present", "other"),
    ("my baby is choking", "choking", "emergency", "present", "other"),
    ("I burned my hand on the stove with boiling water on it", "burns", "urgent", "present", "caller"),
    ("my baby has a fever", "infant_fever", "urgent", "present", "other"),
    ("my 3 week old has a temperature of 101", "infant_fever", "emergency", "present", "caller"),
    ("I'm pregnant and bleeding", "pregnancy", "emergency", "present", "caller"),
    ("severe stomach pain", "abdominal", "urgent", "present", "caller"),
    ("he has a fever and a stiff neck", "sepsis", "emergency", "present", "other"),
    ("I'm diabetic and my sugar is low and I'm confused", "hypoglycaemia", "emergency", "present", "caller"),
    ("she can't keep anything down", "dehydration", "urgent", "present", "other"),
    ("I suddenly lost vision in one eye", "vision_loss", "emergency", "present", "caller"),
    ("worst headache of my life", "thunderclap_headache", "emergency", "present", "caller"),
    # lay, patient-spoken phrasing (speech-to-text style: no apostrophes, no punctuation)
    ("i feel a crushing pressure in my chest", "chest_pain", "emergency", "present", "caller"),
    ("it feels like an elephant is sitting on my chest", "chest_pain", "emergency", "present", "caller"),
    ("my chest feels really heavy", "chest_pain", "emergency", "present", "caller"),
    ("theres a squeezing feeling in my chest", "chest_pain", "emergency", "present", "caller"),
    ("i think im having a heart attack", "chest_pain", "emergency", "uncertain", "caller"),
    ("my chest is tight and i feel sick", "chest_pain", "emergency", "present", "caller"),
    ("my heart is racing and i feel faint", "chest_pain", "emergency", "present", "caller"),
    ("my heart keeps racing and fluttering", "other", "urgent", "present", "caller"),
    ("i cant catch my breath", "breathing", "emergency", "present", "caller"),
    ("im gasping for air", "breathing", "emergency", "present", "caller"),
    ("i can barely breathe", "breathing", "emergency", "present", "caller"),
    ("im so breathless i cant finish a sentence", "breathing", "emergency", "present", "caller"),
    ("my inhaler isnt helping at all", "breathing", "emergency", "present", "caller"),
    ("im really short of breath", "breathing", "urgent", "present", "caller"),
    ("ive been wheezing all day", "breathing", "urgent", "present", "caller"),
    ("my lips are swelling up", "anaphylaxis", "emergency", "present", "caller"),
    ("i got stung by a wasp and now im wheezing", "anaphylaxis", "emergency", "present", "caller"),
    ("a piece of meat is stuck in my throat", "choking", "emergency", "present", "caller"),
    (
        "i cant lift my right arm and my words are coming out wrong",
        "stroke",
        "emergency",
        "present",
        "caller",
    ),
    ("im bleeding heavily from a cut on my leg", "bleeding", "emergency", "present", "caller"),
    ("ive been sick and there was blood in it", "bleeding", "emergency", "present", "caller"),
    ("i think ive taken too much paracetamol", "overdose", "emergency", "uncertain", "caller"),
    ("i accidentally took my tablets twice", "overdose", "urgent", "present", "caller"),
    ("ive got the worst headache ive ever had", "thunderclap_headache", "emergency", "present", "caller"),
    (
        "my headache came on out of nowhere like being hit with a bat",
        "thunderclap_headache",
        "emergency",
        "present",
        "caller",
    ),
    ("its like a curtain came down over my eye", "vision_loss", "emergency", "present", "caller"),
    (
        "im 30 weeks pregnant and i havent felt the baby move today",
        "pregnancy",
        "urgent",
        "present",
        "caller",
    ),
    ("im pregnant with a terrible pain on one side", "pregnancy", "emergency", "present", "caller"),
    ("my tummy is rock hard and really painful", "abdominal", "emergency", "present", "caller"),
    ("my sugar is 2.5 and im confused", "hypoglycaemia", "emergency", "present", "caller"),
    ("i think ive broken my wrist", "musculoskeletal", "urgent", "present", "caller"),
    ("my calf is swollen red and painful since the flight", "other", "urgent", "present", "caller"),
    # patient-spoken cardio-respiratory phrases (eval/sets/symptom_phrases.jsonl, dev-half failures)
    ("it feels like someones standing on my chest", "chest_pain", "emergency", "present", "caller"),
    ("something is squeezing my heart", "chest_pain", "emergency", "present", "caller"),
    ("its like breathing through a straw", "breathing", "emergency", "present", "caller"),
    ("i cant fill my lungs", "breathing", "emergency", "present", "caller"),
    ("my tongue feels too big for my mouth", "anaphylaxis", "emergency", "present", "caller"),
    ("my heart rate is 170", "other", "urgent", "present", "caller"),
    ("my pulse is over 150 and i feel faint", "chest_pain", "emergency", "present", "caller"),
    ("my grandad says its like someones sitting on his chest", "chest_pain", "emergency", "present", "other"),
    ("my wife says its like breathing through a straw", "breathing", "emergency", "present", "other"),
    ("it doesnt feel like someones sitting on my chest", "chest_pain", "emergency", "negated", "caller"),
    ("i dont have a heart rate of 150", "other", "urgent", "negated", "caller"),
    (
        "last year it felt like someone was sitting on my chest",
        "chest_pain",
        "emergency",
        "historical",
        "caller",
    ),
    ("years ago my heart rate went up to 180", "other", "urgent", "historical", "caller"),
    ("what if it feels like breathing through a straw", "breathing", "emergency", "hypothetical", "caller"),
    ("what should i do if my heart rate goes over 150", "other", "urgent", "hypothetical", "caller"),
    # third person: the symptom keeps its level, the experiencer is other
    ("my husband's lips are going blue", "breathing", "emergency", "present", "other"),
    ("my daughter is wheezing", "breathing", "urgent", "present", "other"),
    ("my dad's heart is racing and he feels faint", "chest_pain", "emergency", "present", "other"),
    ("my mum has collapsed and wont wake up", "unresponsive", "emergency", "present", "other"),
    (
        "my son's breathing really fast and his ribs are sucking in",
        "breathing",
        "emergency",
        "present",
        "other",
    ),
    ("my baby is floppy and wont feed", "infant_fever", "emergency", "present", "other"),
    ("my toddler drank some bleach", "overdose", "emergency", "present", "other"),
    ("my wife had a fit and now shes really drowsy", "seizure", "emergency", "present", "other"),
    ("my dad is diabetic and hes not making sense", "hypoglycaemia", "emergency", "present", "other"),
    # negated
    ("no chest pain but my arm is numb", "chest_pain", "urgent", "negated", "caller"),
    ("I don't have any trouble breathing", "breathing", "urgent", "negated", "caller"),
    ("she isn't wheezing", "breathing", "urgent", "negated", "other"),
    ("no crushing pain in my chest", "chest_pain", "emergency", "negated", "caller"),
    ("he didn't hit his head", "head_injury", "urgent", "negated", "other"),
    ("I haven't taken too many tablets", "overdose", "emergency", "negated", "caller"),
    # historical
    ("I had a heart attack last year", "chest_pain", "emergency", "historical", "caller"),
    ("years ago I had a seizure", "seizure", "urgent", "historical", "caller"),
    ("she had a stroke back in 2015", "stroke", "emergency", "historical", "other"),
    ("I used to get chest pains", "chest_pain", "urgent", "historical", "caller"),
    # hypothetical
    ("what if I have a heart attack", "chest_pain", "emergency", "hypothetical", "caller"),
    ("what are the signs of a stroke", "stroke", "emergency", "hypothetical", "caller"),
    ("what if my baby stops breathing", "unresponsive", "emergency", "hypothetical", "other"),
    ("in case of an allergic reaction what do I do", "anaphylaxis", "urgent", "hypothetical", "caller"),
    # third person
    ("my dad has chest pain", "chest_pain", "urgent", "present", "other"),
    # routine readings and reassurance stay routine
    ("my gums are bleeding", "bleeding", "routine", "present", "caller"),
    ("my chest is a bit sore from coughing so much", "chest_pain", "routine", "present", "caller"),
    ("I bumped my head on the cupboard but I'm fine", "head_injury", "routine", "present", "caller"),
    ("I burnt my finger on the oven a little", "burns", "routine", "present", "caller"),
    ("my heart skips a beat now and then", "other", "routine", "present", "caller"),
    # hard negatives
    ("my back is killing me", None, None, "", ""),
    ("I need a refill of my seizure medication", None, None, "", ""),
    ("I'm dying to know my appointment time", None, None, "", ""),
    ("my phone died", None, None, "", ""),
    ("I nearly had a heart attack when I saw the bill", None, None, "", ""),
    ("you'll give me a heart attack if you keep doing that", None, None, "", ""),
    ("I'm choking on all this paperwork", None, None, "", ""),
    ("I volunteer at the stroke club", None, None, "", ""),
    ("this bleeding phone keeps cutting out", None, None, "", ""),
    ("I'm completely burnt out at work", None, None, "", ""),
    ("she'll have a fit when she sees the mess", None, None, "", ""),
    ("my heartburn is back after big meals", None, None, "", ""),
    ("i cant breathe through my nose with this cold", None, None, "", ""),
    ("my nose is so blocked i cant breathe through it", None, None, "", ""),
    ("he snores and stops breathing in his sleep", None, None, "", ""),
    ("ive got a fat lip where i bit it", None, None, "", ""),
    ("the heat on the train was suffocating", None, None, "", ""),
    ("we were choking with laughter", None, None, "", ""),
    ("my heart rate was 160 on the treadmill", None, None, "", ""),
    # compositional site x symptom grammar (eval/sets/symptom_phrases_blind2.jsonl, dev-half failure classes)
    ("my heart hurts", "chest_pain", "urgent", "present", "caller"),
    ("there is a knot in my chest that wont go away", "chest_pain", "urgent", "present", "caller"),
    ("something is wrong with my heart", "chest_pain", "urgent", "present", "caller"),
    ("i have pain under my left breast", "chest_pain", "urgent", "present", "caller"),
    ("my heart feels like its being squeezed", "chest_pain", "emergency", "present", "caller"),
    ("my heart hurts and im sweating", "chest_pain", "emergency", "present", "caller"),
    ("it is hard for me to breathe", "breathing", "urgent", "present", "caller"),
    ("it hurts to breathe", "breathing", "urgent", "present", "caller"),
    ("i have trouble catching my breath", "breathing", "urgent", "present", "caller"),
    ("my lungs feel tight", "breathing", "urgent", "present", "caller"),
    ("i get a sharp pain when i take a deep breath", "breathing", "urgent", "present", "caller"),
    ("im not getting enough air into my lungs", "breathing", "emergency", "present", "caller"),
    ("i cant seem to breathe right", "breathing", "emergency", "present", "caller"),
    ("its stuck in my windpipe", "choking", "emergency", "present", "caller"),
    ("i have to gasp for air", "breathing", "emergency", "present", "caller"),
    ("im having breathing difficulties", "breathing", "urgent", "present", "caller"),
    ("my heart is palpitating", "other", "urgent", "present", "caller"),
    ("my dad says his heart hurts", "chest_pain", "urgent", "present", "other"),
    ("my wife says there is a knot in her chest", "chest_pain", "urgent", "present", "other"),
    ("my son says it hurts to breathe", "breathing", "urgent", "present", "other"),
    ("i dont have any pain in my heart", "chest_pain", "urgent", "negated", "caller"),
    ("i dont have any pain in my lungs", "breathing", "urgent", "negated", "caller"),
    ("it doesnt hurt to breathe", "breathing", "urgent", "negated", "caller"),
    ("my heart used to hurt when i was a teenager", "chest_pain", "urgent", "historical", "caller"),
    ("years ago it was hard for me to breathe", "breathing", "urgent", "historical", "caller"),
    ("what if my heart hurts again", "chest_pain", "urgent", "hypothetical", "caller"),
    ("what should i do if it hurts to breathe", "breathing", "urgent", "hypothetical", "caller"),
]

# Routine symptom phrases: nothing may be reported above routine (alert fatigue).
ROUTINE = [
    "i have a mild rash on my arm",
    "my knee aches when i walk",
    "i've got a bit of a cough",
    "i have a sore throat and a runny nose",
    "i have a mild headache",
    "i have a bit of heartburn after dinner",
    "i've got earache",
    "my gums bleed when i brush my teeth",
    "i had a little nosebleed this morning",
    "i cut my finger chopping onions, its only a small cut",
    "i bumped my head on the cupboard but im fine",
    "i hit my head on the car door, no other symptoms",
    "my child bumped her head but she's running around fine",
    "i got a bit sunburnt",
    "i have a small burn from the iron",
    "i feel a bit dizzy when i stand up too fast",
    "i threw up once this morning but i feel fine now",
    "i have a slight temperature and feel achy",
    "my toddler has a runny nose and a slight temperature but she's eating and playing fine",
    "my daughter has a cough and a temperature but she's drinking fine",
    "i'm a bit wheezy with my cold but i can breathe fine",
    "my chest is a bit tight from this cold but i can breathe fine",
    "i get out of breath after a run, i'm just unfit",
    "i get a tight chest when it's cold and my inhaler helps",
    "my heart skips a beat now and then",
    "i have a few hives on my arm that come and go",
    "i've run out of my asthma inhaler, i'm fine i just need a new one",
    "i'm pregnant and have heartburn",
    "i'm pregnant and feeling a bit sick in the mornings",
    "i'm diabetic and need more test strips",
    "my sugar levels have been a bit high",
    "i have a stiff neck from sleeping funny",
    "i sprained my ankle and it's a bit swollen but i can walk on it",
    "i feel sick after my antibiotics",
    "my stomach hurts a bit after eating",
    "my usual migraine is back and i've taken my tablets",
    "my son had one of his usual seizures and he's back to normal now",
    "i had a hypo this morning, had some jelly babies and now i'm fine",
    "i cut myself shaving",
    "my nose bleeds sometimes in the winter",
    "i get a bit out of breath on the stairs",
    "i get a bit out of breath on hills but ive always been like that",
    # routine readings of the site x symptom grammar: emotional heartache, skin or muscle on the chest, pain
    # elsewhere that a breath brings out, a blocked nose, a plain cough, a grazed knee
    "my heart aches since my wife died",
    "my heart hurts because my boyfriend left me",
    "my heart hurts when i think about my mum who passed away",
    "i feel pain in my heart because i miss my family",
    "my heart is broken",
    "i have a rash on my chest that hurts",
    "my chest muscles are sore from push ups",
    "my back hurts when i breathe in deeply",
    "there is a sharp pain in my lower back when i breathe in",
    "my nose is blocked so i cant breathe well",
    "i cant stop coughing",
    "i ran up the stairs and now im out of breath",
    "i scraped my knee and its bleeding",
    "my eyes are swollen from crying",
    "i cant lift my arm because my shoulder hurts",
    "i have a bad stomach ache after eating",
    "i have bad breath",
    "my heart is full of love",
    "i get short of breath when im anxious and it passes",
]


@pytest.mark.parametrize(("text", "category", "level", "assertion", "experiencer"), MEDICAL)
def test_medical_table(
    text: str, category: str | None, level: str | None, assertion: str, experiencer: str
) -> None:
    found = of_type(text, "medical_emergency")
    if category is not None:
        found = [f for f in found if f.category == category]
    f = check(found, level, assertion, experiencer)
    if f is not None and f.is_present:
        assert bool(f.follow_up) == (level != "emergency")
        if f.follow_up:
            assert 3 <= len(f.follow_up) <= 6


@pytest.mark.parametrize("text", ROUTINE)
def test_routine_symptoms_are_not_raised(text: str) -> None:
    raised = [
        (f.category, f.level)
        for f in of_type(text, "medical_emergency")
        if f.is_present and f.level in ("urgent", "emergency")
    ]
    assert raised == []


def test_numb_arm_after_negated_chest_pain_is_present() -> None:
    found = of_type("no chest pain but my arm is numb", "medical_emergency")
    assert any(
        f.is_present
        and "arm is numb" in "no chest pain but my arm is numb"[f.evidence[0][0] : f.evidence[0][1]]
        for f in found
    )


def test_symptom_in_someone_else_keeps_its_level() -> None:
    (mine,) = of_type("I can't breathe", "medical_emergency")
    (theirs,) = of_type("my husband can't breathe", "medical_emergency")
    assert (mine.level, mine.experiencer) == ("emergency", "caller")
    assert (theirs.level, theirs.experiencer) == ("emergency", "other")
    assert theirs.score == mine.score


def test_combination_raises_urgency() -> None:
    (alone,) = of_type("I have chest pain", "medical_emergency")
    (combined,) = of_type("I have chest pain and I'm sweating", "medical_emergency")
    assert (alone.level, combined.level) == ("urgent", "emergency")
    assert combined.rule_id == "combo-chest-radiating"


def test_reassurance_never_lowers_an_emergency() -> None:
    # "but she's fine" lowers an urgent bump on the head; vomiting after a head injury stays an emergency.
    (bump,) = of_type("she bumped her head but she's fine", "medical_emergency")
    assert bump.level == "routine"
    found = of_type("she bumped her head and she's been sick twice but she's fine", "medical_emergency")
    assert any(f.level == "emergency" and f.category == "head_injury" for f in found)
    found = of_type("i cant breathe but im fine", "medical_emergency")
    assert any(f.level == "emergency" and f.category == "breathing" for f in found)


def test_knocked_out_is_not_lowered_by_reassurance() -> None:
    found = of_type("he knocked himself out but seems fine now", "medical_emergency")
    assert [(f.category, f.level) for f in found if f.is_present] == [("head_injury", "urgent")]


def test_minor_reading_overrides_only_its_own_span() -> None:
    (gums,) = of_type("my gums are bleeding", "medical_emergency")
    assert gums.level == "routine"
    found = of_type("my gums are bleeding and the cut on my leg won't stop bleeding", "medical_emergency")
    assert any(f.level == "emergency" and f.category == "bleeding" for f in found)


def test_minor_bleeding_in_pregnancy_is_still_an_emergency() -> None:
    found = of_type("I'm pregnant and I've got a bit of spotting", "medical_emergency")
    assert any(f.level == "emergency" and f.category == "pregnancy" for f in found)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("i cant breathe through my nose and my lips are blue", "breathing"),
        ("my lip is swollen after eating peanuts", "anaphylaxis"),
        ("my baby stopped breathing in her sleep", "unresponsive"),
        ("my heart rate hit 200 and i feel faint", "chest_pain"),
    ],
)
def test_hard_negative_suppressions_leave_real_emergencies(text: str, category: str) -> None:
    # The blocked-nose, snoring, bitten-lip and exercise-pulse readings must not hide a red flag beside them.
    found = of_type(text, "medical_emergency")
    assert any(f.is_present and f.level == "emergency" and f.category == category for f in found), found


def test_every_category_has_three_to_six_follow_up_questions() -> None:
    lex = MedicalAnalyzer().lexicon
    categories = {r.category for r in lex.rules if r.role == "signal"} | {
        c.category for c in lex.combinations if c.category
    }
    for category in categories:
        assert 3 <= len(lex.follow_up.get(category or "", ())) <= 6, category


def test_calm_appointment_call_has_no_risk_findings() -> None:
    call = [
        "Hi, I'd like to book an appointment with Dr. Patel please.",
        "It's just my annual check-up, nothing urgent.",
        "Next Tuesday morning works, thank you so much.",
        "My date of birth is the fourth of March 1980.",
        "Can I get a reminder text? Great, thanks, bye.",
    ]
    for line in call:
        assert risks(line) == [], line
