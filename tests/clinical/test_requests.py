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
]


@pytest.mark.parametrize(("text", "type_", "level", "assertion", "experiencer"), REQUESTS)
def test_requests_table(text: str, type_: str, level: str | None, assertion: str, experiencer: str) -> None:
    check(of_type(text, type_), level, assertion, experiencer)
