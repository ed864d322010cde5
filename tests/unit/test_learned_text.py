from calmline.analysis.learned.text import char_features, normalize, word_features, wordpiece


def test_normalize_transcript_form() -> None:
    assert normalize("I don't  know... UM, it's—fine!") == "i dont know its fine"
    assert normalize("Café NAÏVE") == "cafe naive"
    assert normalize("") == ""


def test_word_and_char_features() -> None:
    assert word_features(["i", "want", "help"]) == ["i", "want", "help", "i want", "want help"]
    grams = char_features(["hi"], 3, 5)
    assert grams == [" hi", "hi ", " hi "]


def test_wordpiece_greedy_longest_match() -> None:
    vocab = {"[UNK]": 0, "play": 1, "##ing": 2, "##in": 3, "##g": 4, "un": 5, "##play": 6}
    assert wordpiece(["playing"], vocab, 0) == [1, 2]
    assert wordpiece(["unplay"], vocab, 0) == [5, 6]
    assert wordpiece(["xyz"], vocab, 0) == [0]
