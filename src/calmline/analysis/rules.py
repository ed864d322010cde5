"""Loading rule files: packaged YAML, validated by a pydantic model that is the only schema.

Errors name the file, the rule id (when the failing entry has one) and the line, so that a clinician who
edits a lexicon sees exactly what to fix.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

RULES_PACKAGE = "calmline.resources"


class RuleFileError(ValueError):
    """A rule file could not be read or does not match its schema."""


class _SafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without YAML 1.1 booleans: ``no``, ``on``, ``off`` and ``yes`` stay strings.

    Rule files are full of words; a negation trigger ``no`` must not become ``False``.
    """


_SafeLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in value if tag != "tag:yaml.org,2002:bool"]
    for key, value in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_rule_text(filename: str, language: str = "en") -> str:
    """Read ``rules/<language>/<filename>`` from the installed package."""
    path = resources.files(RULES_PACKAGE).joinpath("rules", language, filename)
    try:
        return path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise RuleFileError(f"rules/{language}/{filename}: no such rule file") from exc


def parse_rules(text: str, model: type[M], source: str) -> M:
    """Parse YAML ``text`` and validate it as ``model``; ``source`` names the file in error messages."""
    try:
        data = yaml.load(text, Loader=_SafeLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise RuleFileError(f"{source}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RuleFileError(_describe(exc, data, text, source)) from exc


def load_rules(filename: str, model: type[M], language: str = "en") -> M:
    """Load and validate one packaged rule file."""
    return parse_rules(read_rule_text(filename, language), model, f"rules/{language}/{filename}")


def _describe(exc: ValidationError, data: Any, text: str, source: str) -> str:
    try:
        root: yaml.Node | None = yaml.compose(text, Loader=_SafeLoader)
    except yaml.YAMLError:  # pragma: no cover - the text already parsed once
        root = None
    lines = []
    for err in exc.errors()[:5]:
        loc = tuple(err["loc"])
        rule_id = _rule_id(data, loc)
        line = _line_of(root, loc)
        where = ".".join(str(p) for p in loc) or "(top level)"
        rule = f" rule {rule_id!r}" if rule_id else ""
        at = f" line {line}" if line else ""
        lines.append(f"{source}{at}{rule} at {where}: {err['msg']}")
    more = len(exc.errors()) - 5
    if more > 0:
        lines.append(f"... and {more} more errors")
    return "\n".join(lines)


def _rule_id(data: Any, loc: tuple[Any, ...]) -> str | None:
    node = data
    found: str | None = None
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            found = node["id"]
    return found


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
