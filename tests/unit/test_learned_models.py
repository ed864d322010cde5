
import numpy as np

from calmline.analysis.learned import (
    EMOTION_BASE_HEADS,
    EMOTION_CLASSES,
    cssrs_user_probability,
    emotion_decisions,
    load_models,
    predict_emotions,
    suicide_probability,
)
from calmline.analysis.learned.model import artifact_digest, default_model_dir, read_manifest

SENTENCES = [
    "i want to kill myself i cant do this anymore",
    "can you help me book an appointment for tuesday",
    "i am so scared about the test results",
    "this is ridiculous ive been on hold for an hour",
    "oh thank god thats such a relief",
    "i dont understand what you mean",
]


def test_artifacts_exist_and_are_small() -> None:
    d = default_model_dir()
    total = sum(p.stat().st_size for p in d.iterdir() if p.is_file())
    assert total <= 25 * 1024 * 1024
    for name in ("features", "emotions", "suicide", "cssrs_user"):
        assert (d / f"{name}.npz").is_file()
        assert (d / f"{name}.card.yaml").is_file()
    for name in ("emotions_nb.npz", "emotions_emb.npz", "emotions.stack.npz", "emotions.fusion.npz",
                 "manifest.json"):
        assert (d / name).is_file()


def test_no_gpl_derived_artifacts_shipped() -> None:
    """ETHOS (GPL-3.0) must not be shipped: no violence head, and the cards say so."""
    d = default_model_dir()
    assert not list(d.glob("violence*"))
    assert "ETHOS" in (d / "features.card.yaml").read_text(encoding="utf-8")


def test_manifest_version_matches_artifacts() -> None:
    d = default_model_dir()
    manifest = read_manifest(d)
    assert manifest["version"] == f"learned-{artifact_digest(d)[:12]}"
    m = load_models()
    assert m.version == manifest["version"]
    assert 0.0 < m.suicide_alert_threshold < 1.0
    # the recall-target flag operating point, written by `calmline train`, sits below the alert
    assert "suicide_flag_threshold" in manifest
    assert 0.0 < m.suicide_flag_threshold <= m.suicide_alert_threshold


def test_emotion_probabilities_shape_and_range() -> None:
    p = predict_emotions(SENTENCES)
    assert p.shape == (len(SENTENCES), len(EMOTION_CLASSES))
    assert p.dtype == np.float32
    assert np.all((p >= 0) & (p <= 1))
    d = emotion_decisions(SENTENCES)
    assert d.shape == p.shape and d.dtype == bool


def test_emotions_plausible_on_clear_examples() -> None:
    p = predict_emotions(SENTENCES)
    col = {c: i for i, c in enumerate(EMOTION_CLASSES)}
    assert p[2, col["fear"]] > p[1, col["fear"]]
    assert p[4, col["relief"]] > p[1, col["relief"]]
    assert p[5, col["confusion"]] > p[1, col["confusion"]]


def test_suicide_ranks_clear_cases() -> None:
    s = suicide_probability(SENTENCES)
    assert s.shape == (len(SENTENCES),)
    assert s[0] > 0.5 > s[1]


def test_fusion_uses_lexicon_and_predict_all_agrees() -> None:
    m = load_models()
    text = "i am so scared about the test results"
    learned = m.emotion_probabilities(text)
    col = EMOTION_CLASSES.index("fear")
    no_cue = m.emotion_probabilities(text, [0.0] * 6 + [1.0])
    strong_cue = m.emotion_probabilities(text, [0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.1])
    assert strong_cue[col] > no_cue[col]
    both = m.predict_all([text])
    np.testing.assert_allclose(both["emotions"][0], learned, rtol=1e-5)
    assert both["suicide"].shape == (1, 1)


def test_stackers_read_every_base_head() -> None:
    """Both stackers take the 7 decision values of each base head (TF-IDF, NB-LR, embedding)."""
    m = load_models()
    for stack, extra in ((m.emotion_stack, 0), (m.emotion_fusion, len(EMOTION_CLASSES))):
        assert len(stack.inputs) == len(EMOTION_BASE_HEADS) * len(EMOTION_CLASSES) + extra
        for head in EMOTION_BASE_HEADS:
            assert {f"{head}:{c}" for c in EMOTION_CLASSES} <= set(stack.inputs)
        assert stack.weights.shape == (len(EMOTION_CLASSES), len(stack.inputs))
    nb = m.heads["emotions_nb"]
    assert nb.labels == EMOTION_CLASSES
    # NB-LR folds the naive-Bayes ratios into ordinary linear weights: same shapes as the TF-IDF head.
    assert nb.w_word.shape == m.heads["emotions"].w_word.shape
    assert not np.any(nb.w_emb)


def test_empty_and_odd_inputs() -> None:
    p = predict_emotions(["", "!!!", "um uh", "ŝ" * 300])
    assert np.all(np.isfinite(p))
    assert suicide_probability([]).shape == (0,)
    assert 0.0 <= cssrs_user_probability(["hello", "i want to die"]) <= 1.0


def test_deterministic_and_pure() -> None:
    texts = list(SENTENCES)
    a = suicide_probability(texts)
    b = suicide_probability(texts)
    assert texts == SENTENCES
    np.testing.assert_array_equal(a, b)
