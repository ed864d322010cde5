import pytest

from tests.clinical.helpers import check, of_type

# (text, type, level or None, assertion, experiencer)
REQUESTS = [
    (
        "I'm calling to get my mother's test results",
        "phi_request_third_party",
        "results",
        "present",
        "caller",
    ),
    ("can you tell me my husband's diagnosis", "phi_request_third_party", "records", "present", "caller"),
    ("is my wife admitted there", "phi_request_third_party", "information", "present", "caller"),
    ("I'm not asking for his results", "phi_request_third_party", "results", "negated", "caller"),
    (
        "last year I used to get my mom's lab results",
        "phi_request_third_party",
        "results",
        "historical",
        "caller",
    ),
    ("what if I asked for her records", "phi_request_third_party", "records", "hypothetical", "caller"),
    ("my sister wants her husband's test results", "phi_request_third_party", "results", "present", "other"),
    ("can I get my own test results", "phi_request_third_party", None, "", ""),
    ("how much ibuprofen can I give my 4 year old", "medical_advice_request", "dosing", "present", "caller"),
    ("should I take another pill", "medical_advice_request", "dosing", "present", "caller"),
    ("is it safe to take tylenol with alcohol", "medical_advice_request", "safety", "present", "caller"),
    ("I'm not asking whether I should take more", "medical_advice_request", "safety", "negated", "caller"),
    (
        "I used to ask the pharmacist what dose to take",
        "medical_advice_request",
        "dosing",
        "historical",
        "caller",
    ),
    ("what if I asked you should I take two", "medical_advice_request", "dosing", "hypothetical", "caller"),
    (
        "my daughter wants to know how much tylenol she should take",
        "medical_advice_request",
        "dosing",
        "present",
        "other",
    ),
    ("can I take a message", "medical_advice_request", None, "", ""),
    ("can I sue the hospital", "legal_advice_request", "lawsuit", "present", "caller"),
    ("is that malpractice", "legal_advice_request", "malpractice", "present", "caller"),
    ("I don't want to sue anyone", "legal_advice_request", "lawsuit", "negated", "caller"),
    (
        "years ago I filed a lawsuit against the clinic",
        "legal_advice_request",
        "lawsuit",
        "historical",
        "caller",
    ),
    ("what if I wanted to sue them", "legal_advice_request", "lawsuit", "hypothetical", "caller"),
    ("my husband wants to sue the doctor", "legal_advice_request", "lawsuit", "present", "other"),
    # recall: PHI
    (
        "I'm ringing to find out if my ex is registered at your surgery",
        "phi_request_third_party",
        "information",
        "present",
        "caller",
    ),
    (
        "what time is my husband's appointment tomorrow i need to know",
        "phi_request_third_party",
        "information",
        "present",
        "caller",
    ),
    (
        "Just between us, is my sister pregnant?",
        "phi_request_third_party",
        "information",
        "present",
        "caller",
    ),
    (
        "I rang last week and asked for my son's results and they wouldn't tell me",
        "phi_request_third_party",
        "results",
        "historical",
        "caller",
    ),
    (
        "Last time I asked about my dad's diagnosis the receptionist told me off",
        "phi_request_third_party",
        "records",
        "historical",
        "caller",
    ),
    (
        "I don't need to know what the psychiatrist said about my son",
        "phi_request_third_party",
        "information",
        "negated",
        "caller",
    ),
    (
        "hypothetically if i was her next of kin could i see her notes",
        "phi_request_third_party",
        "information",
        "hypothetical",
        "caller",
    ),
    ("what time is my appointment tomorrow", "phi_request_third_party", None, "", ""),
    # recall: medical advice
    (
        "What does it mean if my white cells are a bit low?",
        "medical_advice_request",
        "treatment",
        "present",
        "caller",
    ),
    ("Can I drink on metronidazole?", "medical_advice_request", "treatment", "present", "caller"),
    (
        "what would you take for a migraine that won't shift",
        "medical_advice_request",
        "treatment",
        "present",
        "caller",
    ),
    (
        "What should I do if my son has another seizure?",
        "medical_advice_request",
        "treatment",
        "present",
        "caller",
    ),
    (
        "last time i rang i asked if i should go to a and e",
        "medical_advice_request",
        "treatment",
        "historical",
        "caller",
    ),
    (
        "I'm not asking what to do if it happens again",
        "medical_advice_request",
        "treatment",
        "negated",
        "caller",
    ),
    ("can I book my repeat prescription", "medical_advice_request", None, "", ""),
    # recall: paraphrases outside the dev set
    ("what did the tests say for my mum", "phi_request_third_party", "results", "present", "caller"),
    (
        "I'm his daughter, can I get his discharge letter",
        "phi_request_third_party",
        "information",
        "present",
        "other",
    ),
    ("is my mum's biopsy back", "phi_request_third_party", "results", "present", "caller"),
    ("has my son been seen yet", "phi_request_third_party", "results", "present", "caller"),
    (
        "I'm not asking what my husband's scan showed",
        "phi_request_third_party",
        "results",
        "negated",
        "caller",
    ),
    (
        "what if I asked for an update on my mother",
        "phi_request_third_party",
        "results",
        "hypothetical",
        "caller",
    ),
    ("can I change my husband's scan appointment", "phi_request_third_party", None, "", ""),
    ("my dad's prescription needs renewing, he asked me to ring", "phi_request_third_party", None, "", ""),
    ("can I give calpol and nurofen together", "medical_advice_request", "safety", "present", "caller"),
    ("is it ok to come off my meds", "medical_advice_request", "safety", "present", "caller"),
    ("can my son have another dose of calpol", "medical_advice_request", "safety", "present", "caller"),
    ("i missed my pill yesterday what should i do", "medical_advice_request", "safety", "present", "caller"),
    ("my daughter asked if she should double up", "medical_advice_request", "safety", "present", "other"),
    ("can I take the bus to the hospital", "medical_advice_request", None, "", ""),
    ("I want to claim compensation for this", "legal_advice_request", "lawsuit", "present", "caller"),
    ("can they be held liable", "legal_advice_request", "malpractice", "present", "caller"),
    ("I'm going to get a solicitor involved", "legal_advice_request", "lawsuit", "present", "caller"),
    ("I'm not after compensation", "legal_advice_request", "lawsuit", "negated", "caller"),
    ("my solicitor asked for a copy of the appointment letter", "legal_advice_request", None, "", ""),
    ("I'm calling to claim back my travel costs", "legal_advice_request", None, "", ""),
]


@pytest.mark.parametrize(("text", "type_", "level", "assertion", "experiencer"), REQUESTS)
def test_requests_table(text: str, type_: str, level: str | None, assertion: str, experiencer: str) -> None:
    check(of_type(text, type_), level, assertion, experiencer)


# Bereavement and language barrier: not requests to refuse, but situations the agent handles by protocol
# (grieving_caller, language_barrier). Mandatory rows: negated, historical, hypothetical, third person, and
# hard negatives that share the words ("lost my job", "my phone died", "I speak English").
SITUATIONS = [
    ("my dad passed away on ward seven last night", "bereavement", "recent_death", "present", "caller"),
    (
        "My husband died this morning and I don't know what to do",
        "bereavement",
        "recent_death",
        "present",
        "caller",
    ),
    ("um we lost our son on tuesday", "bereavement", "recent_death", "present", "caller"),
    (
        "I've just lost my mum and I need to cancel her appointments",
        "bereavement",
        "recent_death",
        "present",
        "caller",
    ),
    ("my wife passed away at home an hour ago", "bereavement", "recent_death", "present", "caller"),
    (
        "No, my husband hasn't passed away, he's still on the ward",
        "bereavement",
        "recent_death",
        "negated",
        "caller",
    ),
    ("my father died twenty years ago", "bereavement", "recent_death", "historical", "caller"),
    ("what if my dad dies before they operate", "bereavement", "recent_death", "hypothetical", "caller"),
    (
        "my neighbour's wife passed away last night and he's in a state",
        "bereavement",
        "recent_death",
        "present",
        "other",
    ),
    ("since i lost my job i just lie there", "bereavement", None, "", ""),
    ("my phone died halfway through the last call", "bereavement", None, "", ""),
    ("I nearly died laughing at the waiting room sign", "bereavement", None, "", ""),
    ("I'm worried my mum is going to lose her house", "bereavement", None, "", ""),
    ("sorry my English is not very good", "language_barrier", "limited_english", "present", "caller"),
    ("no english, spanish please", "language_barrier", "interpreter", "present", "caller"),
    ("I need an interpreter please", "language_barrier", "interpreter", "present", "caller"),
    ("do you have someone who speaks Polish", "language_barrier", "interpreter", "present", "caller"),
    (
        "I'm deaf, can I have a BSL interpreter for the appointment",
        "language_barrier",
        "interpreter",
        "present",
        "caller",
    ),
    ("I don't need an interpreter, thanks", "language_barrier", "interpreter", "negated", "caller"),
    (
        "last year I had an interpreter booked for every appointment",
        "language_barrier",
        "interpreter",
        "historical",
        "caller",
    ),
    (
        "what if I needed an interpreter for the scan",
        "language_barrier",
        "interpreter",
        "hypothetical",
        "caller",
    ),
    (
        "my mother doesn't speak English, I'm translating for her",
        "language_barrier",
        "limited_english",
        "present",
        "other",
    ),
    ("I speak English fine, it's the line that's bad", "language_barrier", None, "", ""),
    ("I'm an English teacher at the high school", "language_barrier", None, "", ""),
    ("the letter was in plain English, thank you", "language_barrier", None, "", ""),
]


@pytest.mark.parametrize(("text", "type_", "level", "assertion", "experiencer"), SITUATIONS)
def test_situations_table(text: str, type_: str, level: str | None, assertion: str, experiencer: str) -> None:
    check(of_type(text, type_), level, assertion, experiencer)
