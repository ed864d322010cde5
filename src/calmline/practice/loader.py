"""Load practice scenarios from YAML, with errors that say ``FILE:LINE: reason``.

The same safe YAML as the protocols (``on``/``off``/``yes``/``no`` stay strings, duplicate keys refused) and
the same mapping of pydantic errors back to the offending line. After the schema, names are checked against
calmline's own data: intents (``rules/en/intents.yaml``) and protocols (``resources/protocols``), so a typo
in a branch condition fails at load time instead of silently never matching.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml
from pydantic import ValidationError

from calmline.configfile import ConfigError, parse_mapping, validation_error
from calmline.practice.schema import PracticeScenario
from calmline.protocols.loader import line_of

PRACTICE_DIR = "practice"


class PracticeError(ConfigError):
    """A practice file that cannot be used: ``file``, 1-based ``line`` and ``reason``."""


def parse_scenario(text: str, file: str, *, check_names: bool = True) -> PracticeScenario:
    """Validate one practice document; ``file`` names it in errors."""
    data, node = parse_mapping(text, file, error=PracticeError)
    try:
        scenario = PracticeScenario.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, node, file, error=PracticeError) from exc
    if check_names:
        _check_names(scenario, file, node)
    return scenario


def _check_names(scenario: PracticeScenario, file: str, node: yaml.Node | None) -> None:
    """Intents and protocols named in the scenario must exist in calmline's packaged data."""
    intents, protocols = known_intents(), known_protocols()
    loc: tuple[str | int, ...]
    for name, n in scenario.nodes.items():
        for i, branch in enumerate(n.branches):
            for field in ("intent", "no_intent"):
                for j, intent in enumerate(getattr(branch.when, field)):
                    if intent not in intents:
                        loc = ("nodes", name, "branches", i, "when", field, j)
                        raise PracticeError(file, line_of(node, loc), f"unknown agent intent {intent!r}")
    for i, pid in enumerate(scenario.expected_protocols):
        if pid not in protocols:
            raise PracticeError(file, line_of(node, ("expected_protocols", i)), f"unknown protocol {pid!r}")
    for i, objective in enumerate(scenario.objectives):
        check = objective.met_when
        if check is None:
            continue
        if check.intent and check.intent not in intents:
            loc = ("objectives", i, "met_when", "intent")
            raise PracticeError(file, line_of(node, loc), f"unknown agent intent {check.intent!r}")
        if check.protocol_done and check.protocol_done not in protocols:
            loc = ("objectives", i, "met_when", "protocol_done")
            raise PracticeError(file, line_of(node, loc), f"unknown protocol {check.protocol_done!r}")


@lru_cache(maxsize=1)
def known_intents() -> frozenset[str]:
    """The agent intents of the packaged English rules."""
    from calmline.protocols.intents import load_intent_rules

    return frozenset(load_intent_rules().intent_ids)


@lru_cache(maxsize=1)
def known_protocols() -> frozenset[str]:
    """The ids of the shipped protocols."""
    return frozenset(supersedes())


@lru_cache(maxsize=1)
def supersedes() -> dict[str, tuple[str, ...]]:
    """What each shipped protocol takes over (its ``supersedes``)."""
    from calmline.protocols.loader import load_library

    return {p.id: tuple(p.supersedes) for p in load_library().protocols}


@lru_cache(maxsize=1)
def spoken_steps() -> dict[str, frozenset[str]]:
    """Per shipped protocol, the steps completed by what the agent says (an intent, not a console action)."""
    from calmline.protocols.loader import load_library
    from calmline.protocols.schema import IntentCompletion

    return {
        p.id: frozenset(s.id for s in p.steps if isinstance(s.completes_on, IntentCompletion))
        for p in load_library().protocols
    }


def load_file(path: str | Path) -> PracticeScenario:
    """Load and validate one practice file."""
    path = Path(path)
    return parse_scenario(path.read_text("utf-8"), str(path))


def _entries(folder: Traversable | Path) -> Iterable[Traversable | Path]:
    return sorted((e for e in folder.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name)


def load_folder(folder: Traversable | Path | None = None) -> dict[str, PracticeScenario]:
    """Every ``*.yaml`` in ``folder`` (default: the packaged ``resources/practice``), by id.

    Each file's name must be its scenario id.
    """
    if folder is None:
        folder = resources.files("calmline.resources").joinpath(PRACTICE_DIR)
    out: dict[str, PracticeScenario] = {}
    for entry in _entries(folder):
        file = f"{PRACTICE_DIR}/{entry.name}"
        scenario = parse_scenario(entry.read_text("utf-8"), file)
        if scenario.id != entry.name.removesuffix(".yaml"):
            raise PracticeError(file, 1, f"id {scenario.id!r} does not match the file name")
        out[scenario.id] = scenario
    return out


@lru_cache(maxsize=1)
def shipped_scenarios() -> dict[str, PracticeScenario]:
    """The packaged scenarios (read once; the models are frozen)."""
    return load_folder()


def get_scenario(scenario_id: str) -> PracticeScenario:
    """A packaged scenario by id, or a scenario file by path; ``KeyError`` when neither exists."""
    shipped = shipped_scenarios()
    if scenario_id in shipped:
        return shipped[scenario_id]
    path = Path(scenario_id)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return load_file(path)
    raise KeyError(scenario_id)
