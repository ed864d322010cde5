"""Load protocol YAML safely into the validated IR, with errors that say FILE:LINE and why.

The YAML loader is PyYAML's safe loader with two changes: ``on``/``off``/``yes``/``no`` stay strings (only
``true``/``false`` are booleans), and a repeated key in one mapping is an error instead of silently winning.
Validation errors from pydantic are mapped back to the line of the offending YAML node through the composed
node tree, so a clinician editing a file sees ``suicide_risk.yaml:23: steps.1.completes_on: ...``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml
from pydantic import ValidationError

from calmline.protocols.schema import Protocol, ProtocolLibrary

PROTOCOL_PACKAGE = "calmline.resources"
PROTOCOL_DIR = "protocols"

_BOOL_TAG = "tag:yaml.org,2002:bool"


class ProtocolError(ValueError):
    """A protocol file that cannot be used: ``file``, 1-based ``line`` and ``reason``."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(f"{file}:{line}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


class _ProtocolYamlLoader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans and duplicate keys are refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_ProtocolYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ProtocolYamlLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_yaml(text: str, file: str) -> tuple[object, yaml.Node | None]:
    """Parse one YAML document, returning the data and its node tree (for line numbers)."""
    loader = _ProtocolYamlLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise ProtocolError(file, line, f"invalid YAML: {exc.problem or exc.context}") from exc
    finally:
        loader.dispose()
    return data, node


def line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int:
    """The 1-based line of the deepest node along a pydantic error ``loc`` (union tags are skipped)."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if kv[0].value == part), None)
            if match is None:
                continue
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode):
            if not isinstance(part, int) or not 0 <= part < len(node.value):
                continue
            node = node.value[part]
            line = node.start_mark.line + 1
    return line


def parse_protocol(text: str, file: str) -> Protocol:
    """Validate one protocol document; ``file`` names it in errors."""
    data, node = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise ProtocolError(file, line_of(node, ()), "a protocol file must be a YAML mapping")
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        # Union tags (CamelCase class names) are dropped: field names are snake_case.
        where = ".".join(str(p) for p in err["loc"] if not str(p)[:1].isupper()) or "protocol"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ProtocolError(file, line_of(node, err["loc"]), f"{where}: {err['msg']}{more}") from exc


def load_file(path: str | Path) -> Protocol:
    """Load and validate one protocol file."""
    path = Path(path)
    return parse_protocol(path.read_text("utf-8"), str(path))


def load_library(folder: Traversable | Path | None = None) -> ProtocolLibrary:
    """Load every ``*.yaml`` in ``folder`` (default: the packaged ``resources/protocols``).

    Each file's name must be its protocol id, so a file can always be found from an alert.
    """
    if folder is None:
        folder = resources.files(PROTOCOL_PACKAGE).joinpath(PROTOCOL_DIR)
    protocols: list[Protocol] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        file = f"{PROTOCOL_DIR}/{entry.name}"
        protocol = parse_protocol(entry.read_text("utf-8"), file)
        if protocol.id != entry.name.removesuffix(".yaml"):
            raise ProtocolError(file, 1, f"id {protocol.id!r} does not match the file name")
        protocols.append(protocol)
    return ProtocolLibrary(tuple(protocols))
