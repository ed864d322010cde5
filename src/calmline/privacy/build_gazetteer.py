"""Regenerate the multi-origin name gazetteer from Faker's person providers (development time only).

Run by hand when the lists should change; the output files are committed and calmline never imports Faker::

    pip install --target /tmp/faker faker==40.54.0      # MIT; not a calmline dependency
    apt-get install wamerican                           # /usr/share/dict/american-english (SCOWL)
    PYTHONPATH=/tmp/faker python -m calmline.privacy.build_gazetteer

Every first name and surname of every Faker locale whose names are written in (or romanised to) Latin letters
is read: Latin-script locales as they are (accents removed), the romanised lists of ``ja_JP``, ``zh_CN`` and
``zh_TW``, and Cyrillic and Greek locales through a plain transliteration table ("Дмитрий" → "dmitriy",
"dmitri"). A name that the census lists (``first_names.txt``, ``surnames.txt``) already hold, that is shorter
than three letters, that the rules use as a function word, a term of address or a medicine, or that is one of
calmline's TF-IDF unigrams of call-center text ("til", "dui", "theres", "manila") is dropped.
What is left is kept only when it is *not an English word*: not a lower-case entry of the system English
dictionary (SCOWL's ``american-english``, where proper nouns are capitalised). So "hamid", "rahul" and
"dmitri" are listed (``names_world.txt``) even though BERT's vocabulary, and so ``common_words.txt``, holds
them, and the redactor stops treating a listed name as a common word. A Faker name that *is* an English word
("blessing", "sunny", "gang", "fox") is not listed: as an everyday word it is a name only after an explicit
cue ("my name is", "mr"), or, when the census lists it, under the census `ambiguous_names` rules.

The corpus generator never reads these files (its pools are hand-written), so evaluation stays independent.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import pkgutil
import re
import unicodedata
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

FAKER_VERSION = "40.54.0"
DICTIONARY = Path("/usr/share/dict/american-english")
_OUT = Path(__file__).resolve().parent.parent / "resources" / "privacy"
_WORD = re.compile(r"^[a-z]+(?:'[a-z]+)?$")
_LIST_ATTR = re.compile(r"^(?:[a-z]+_)?(first|last)_(?:romanized_)?names?(?:_[a-z_]+)?$")
_PAIR_ATTR = re.compile(r"^(first|last)_name(?:_[a-z]+)?_pairs$")
_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
        ("a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya i yi ye g").split(" "),  # noqa: SIM905
        strict=True,
    )
)
_GREEK = dict(
    zip(
        "αβγδεζηθικλμνξοπρσςτυφχψω",
        "a v g d e z i th i k l m n x o p r s s t y f ch ps o".split(" "),  # noqa: SIM905
        strict=True,
    )
)


def _latin(text: str) -> str:
    """Lower-case Latin letters: Cyrillic and Greek transliterated, accents removed, the rest kept."""
    text = "".join(_CYRILLIC.get(ch, _GREEK.get(ch, ch)).replace("-", "") for ch in text.lower())
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _tokens(name: str) -> Iterator[str]:
    for part in re.split(r"[\s\-‐.]+", _latin(name).replace("’", "'")):
        if _WORD.match(part):
            yield part
            if part.endswith(("iy", "ij", "ii")) and len(part) > 4:  # "dmitriy" is also written "dmitri"
                yield part[:-1]


def faker_names() -> tuple[set[str], set[str]]:
    """First names and surnames of every Faker person provider, as Latin tokens."""
    person: Any = importlib.import_module("faker.providers.person")
    firsts: set[str] = set()
    lasts: set[str] = set()
    for info in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"faker.providers.person.{info.name}").Provider
        for attr in dir(provider):
            value = getattr(provider, attr)
            target = firsts if "first" in attr else lasts
            if _LIST_ATTR.match(attr) and isinstance(value, list | tuple | dict | set | frozenset):
                for name in value:
                    if isinstance(name, str):
                        target.update(_tokens(name))
            elif _PAIR_ATTR.match(attr):
                for pair in value:
                    target.update(_tokens(pair[-1]))
    return firsts, lasts - firsts


def _lexicon(name: str) -> set[str]:
    text = resources.files("calmline.resources").joinpath("privacy", name).read_text("utf-8")
    return {w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#")}


def _call_words() -> set[str]:
    """The TF-IDF unigrams of call-center text: "til", "dui", "theres" are words there, not names."""
    path = resources.files("calmline.resources").joinpath("models", "tfidf_words.txt.gz")
    return set(gzip.decompress(path.read_bytes()).decode("utf-8").split())


def _rule_words() -> set[str]:
    raw = yaml.safe_load(resources.files("calmline.resources").joinpath("privacy", "rules.yaml").read_text())
    words: set[str] = set()
    for key in ("name_stop", "months", "us_states", "street_suffixes", "unit_words"):
        words.update(t for p in raw[key] for t in str(p).split())
    words.update(str(w) for w in raw["name_context"]["not_names"])
    words.update(str(w) for w in raw["name_context"]["relation_nouns"])
    return words


def english_words(path: Path = DICTIONARY) -> set[str]:
    """Lower-case entries of a system word list (capitalised entries are proper nouns and are skipped)."""
    return {w for w in path.read_text("utf-8").split() if w.isascii() and w.isalpha() and w.islower()}


def proper_names(
    names: Iterable[str], english: set[str], known: set[str], rule_words: set[str], call_words: set[str]
) -> list[str]:
    """The names that are no English word, call-center word or rule word, nor in the census lists; sorted."""
    return sorted(
        {
            name
            for name in names
            if len(name) > 2
            and name not in known
            and name not in rule_words
            and name not in call_words
            and name not in english
            and name.replace("'", "") not in english
        }
    )


_HEADER = """\
# Names from around the world that are not English words: first names and surnames of every locale of
# the Faker package (faker {v} on PyPI, MIT licence; person providers, Latin-script locales as they are,
# ja_JP and zh_CN/zh_TW romanised lists, Cyrillic and Greek transliterated), accents removed, lower-cased,
# less the census lists, words of two letters, the rules' function words, calmline's TF-IDF unigrams of
# call-center text ("til", "dui"), and every lower-case entry of the English dictionary (SCOWL
# american-english). A proper name even when BERT's vocabulary (common_words.txt) holds it. Generated by
# `python -m calmline.privacy.build_gazetteer` (docs/DECISIONS.md D23); never downloaded at run time.
"""


def main(argv: list[str] | None = None) -> None:
    """Write ``names_world.txt`` (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dictionary", type=Path, default=DICTIONARY)
    parser.add_argument("--out", type=Path, default=_OUT)
    args = parser.parse_args(argv)
    metadata = importlib.import_module("importlib.metadata")
    version = metadata.version("faker")
    if version != FAKER_VERSION:
        print(f"note: faker {version} installed, the committed lists were built from {FAKER_VERSION}")
    firsts, lasts = faker_names()
    known = _lexicon("first_names.txt") | _lexicon("surnames.txt")
    english, rule_words = english_words(args.dictionary), _rule_words()
    rows = proper_names(firsts | lasts, english, known, rule_words, _call_words())
    text = _HEADER.format(v=version) + "".join(f"{w}\n" for w in rows)
    (args.out / "names_world.txt").write_text(text, "utf-8")
    print(f"names_world.txt: {len(rows)} names")


if __name__ == "__main__":
    main()
