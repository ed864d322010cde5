"""Measure PHI redaction on the synthetic corpus, for calmline and (when installed) Microsoft Presidio.

Matching rule (span level):

* **recall** of a kind: the share of its gold spans that some predicted span *of the same group* overlaps by
  at least one character. Groups: name (NAME), number (PHONE, FAX, SSN, MRN, INSURANCE, ACCOUNT, LICENSE,
  PLATE, ID), date (DATE, AGE), location (ADDRESS, CITY, ZIP), web (EMAIL, URL, IP) — so an insurance number
  reported as a generic ID still counts, a phone number reported as a date does not.
* **precision** of a kind: the share of predicted spans of that kind that overlap a gold span of the same
  group.
* **leak-free**: the share of gold spans whose every letter and digit lies inside some predicted span (of any
  kind): the stricter, privacy-side question "did any of it show?".

Throughput is utterances per second of the detection call alone over the whole corpus (one warm-up pass, then
the best of ``repeat`` passes), measured in this process on the same corpus for both systems.
"""

from __future__ import annotations

import importlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

from calmline.privacy.corpus import GoldSpan, Utterance
from calmline.privacy.redact import ENTITY_TYPES, GROUPS, PhiSpan, Redactor

Predict = Callable[[str], list[PhiSpan]]

#: Presidio's entity types in our kinds (unknown types count as a generic ID).
PRESIDIO_KINDS: dict[str, str] = {
    "PERSON": "NAME",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "URL": "URL",
    "IP_ADDRESS": "IP",
    "DATE_TIME": "DATE",
    "US_SSN": "SSN",
    "US_ITIN": "SSN",
    "US_DRIVER_LICENSE": "LICENSE",
    "MEDICAL_LICENSE": "LICENSE",
    "US_PASSPORT": "ID",
    "US_BANK_NUMBER": "ACCOUNT",
    "CREDIT_CARD": "ACCOUNT",
    "IBAN_CODE": "ACCOUNT",
    "CRYPTO": "ACCOUNT",
    "UK_NHS": "MRN",
    "LOCATION": "CITY",
    "NRP": "NAME",
}


def _overlaps(a: PhiSpan | GoldSpan, b: PhiSpan | GoldSpan) -> bool:
    return a.start < b.end and b.start < a.end


def _leak_free(text: str, gold: GoldSpan, pred: list[PhiSpan]) -> bool:
    return all(
        not text[k].isalnum() or any(p.start <= k < p.end for p in pred) for k in range(gold.start, gold.end)
    )


def score(corpus: Sequence[Utterance], predictions: Sequence[list[PhiSpan]]) -> dict[str, Any]:
    """Per kind, per group and overall recall/precision/leak-free, plus hard-negative false alarms."""
    gold_n: Counter[str] = Counter()
    gold_hit: Counter[str] = Counter()
    leak_free: Counter[str] = Counter()
    pred_n: Counter[str] = Counter()
    pred_ok: Counter[str] = Counter()
    negatives = flagged = 0
    for utt, pred in zip(corpus, predictions, strict=True):
        if utt.negative:
            negatives += 1
            flagged += bool(pred)
        for g in utt.spans:
            gold_n[g.kind] += 1
            gold_hit[g.kind] += any(GROUPS[p.kind] == GROUPS[g.kind] and _overlaps(p, g) for p in pred)
            leak_free[g.kind] += _leak_free(utt.text, g, pred)
        for p in pred:
            pred_n[p.kind] += 1
            pred_ok[p.kind] += any(GROUPS[g.kind] == GROUPS[p.kind] and _overlaps(p, g) for g in utt.spans)

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    def block(kinds: Sequence[str]) -> dict[str, Any]:
        gn = sum(gold_n[k] for k in kinds)
        pn = sum(pred_n[k] for k in kinds)
        return {
            "support": gn,
            "recall": ratio(sum(gold_hit[k] for k in kinds), gn),
            "precision": ratio(sum(pred_ok[k] for k in kinds), pn),
            "leak_free": ratio(sum(leak_free[k] for k in kinds), gn),
            "predicted": pn,
        }

    kinds = [k for k in ENTITY_TYPES if gold_n[k] or pred_n[k]]
    groups = sorted(set(GROUPS.values()))
    return {
        "per_type": {k: block([k]) for k in kinds},
        "per_group": {g: block([k for k in ENTITY_TYPES if GROUPS[k] == g]) for g in groups},
        "overall": block(list(ENTITY_TYPES)),
        "hard_negatives": {
            "utterances": negatives,
            "with_any_redaction": flagged,
            "rate": ratio(flagged, negatives),
        },
    }


def run(predict: Predict, corpus: Sequence[Utterance], repeat: int = 3) -> tuple[list[list[PhiSpan]], float]:
    """Predictions for every utterance and the best utterances/second over ``repeat`` timed passes."""
    texts = [u.text for u in corpus]
    predictions = [predict(t) for t in texts]  # warm-up, and the predictions scored
    best = float("inf")
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        for t in texts:
            predict(t)
        best = min(best, time.perf_counter() - t0)
    return predictions, round(len(texts) / best, 1) if best > 0 else float("inf")


def calmline_predictor(redactor: Redactor | None = None) -> Predict:
    """Calmline's redactor as a predictor."""
    r = redactor or Redactor()
    return r.spans


def presidio_predictor() -> tuple[Predict, dict[str, Any]]:
    """Presidio's predefined recognizers on a blank spaCy English pipeline, fully offline.

    Presidio's default ``AnalyzerEngine`` loads (and would download) ``en_core_web_lg`` for its NER-based
    PERSON/LOCATION/NRP recognizers; here its spaCy engine is given ``spacy.blank("en")`` (a tokenizer, no
    statistical model), so every *pattern* recognizer (phone, e-mail, URL, IP, dates, SSN, licences, bank and
    card numbers, …) runs with its context words, and the NER recognizers find nothing. ``tldextract``
    (used by the e-mail recognizer) is pointed at its bundled suffix list instead of fetching one. Raises
    ImportError when ``presidio-analyzer`` is not installed (``pip install -e ".[privacy-eval]"``).
    """
    # Imported by name so that type checking is the same with and without the optional extra installed.
    spacy: Any = importlib.import_module("spacy")
    tldextract: Any = importlib.import_module("tldextract")
    tld_module: Any = importlib.import_module("tldextract.tldextract")
    analyzer: Any = importlib.import_module("presidio_analyzer")
    nlp_engine: Any = importlib.import_module("presidio_analyzer.nlp_engine")

    tld_module.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class BlankSpacyEngine(nlp_engine.SpacyNlpEngine):  # type: ignore[misc]
        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    nlp = BlankSpacyEngine(models=[{"lang_code": "en", "model_name": "blank:en"}])
    nlp.load()
    registry = analyzer.RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
    engine = analyzer.AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])

    def predict(text: str) -> list[PhiSpan]:
        results = engine.analyze(text, language="en")
        return [PhiSpan(PRESIDIO_KINDS.get(r.entity_type, "ID"), r.start, r.end) for r in results]

    info = {
        "version": metadata.version("presidio-analyzer"),
        "spacy": metadata.version("spacy"),
        "nlp": "spacy.blank('en') (no statistical model: NER-based PERSON/LOCATION find nothing)",
        "recognizers": sorted({r.name for r in registry.recognizers}),
        "score_threshold": 0.0,
    }
    return predict, info
