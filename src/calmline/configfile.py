"""YAML configuration files validated by pydantic, with errors that say ``FILE:LINE: reason``.

One way for every file a center edits (routing policies, the QA form, follow-up and practice files, webhooks):
the protocols' safe YAML (``on``/``off``/``yes``/``no`` stay strings, duplicate keys refused) and the first
validation error mapped back to the line it came from. Each kind of file keeps its own error class (a
subclass of :class:`ConfigError`), so callers can tell them apart.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

import yaml
from pydantic import BaseModel, ValidationError

from calmline.protocols.loader import ProtocolError, line_of, parse_yaml

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file that cannot be used: ``file``, 1-based ``line`` and ``reason``."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        """Say where (``file``, ``line``) and why."""
        super().__init__(f"{file}:{line}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


def parse_mapping(
    text: str, file: str, *, error: type[ConfigError] = ConfigError
) -> tuple[dict[str, Any], yaml.Node | None]:
    """The YAML mapping in ``text`` and its node (for ``line_of``); ``error`` when it is not one."""
    try:
        data, node = parse_yaml(text, file)
    except ProtocolError as exc:
        raise error(exc.file, exc.line, exc.reason) from exc
    if not isinstance(data, dict):
        raise error(file, line_of(node, ()), "the file must be a YAML mapping")
    return {str(k): v for k, v in data.items()}, node


def validation_error(
    exc: ValidationError, node: yaml.Node | None, file: str, *, error: type[ConfigError] = ConfigError
) -> ConfigError:
    """The first of ``exc``'s problems as ``error``, at the line of the key it is about."""
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "document"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return error(file, line_of(node, err["loc"]), f"{where}: {err['msg']}{more}")


def parse_config(model: type[M], text: str, file: str, *, error: type[ConfigError] = ConfigError) -> M:
    """Validate one YAML document against ``model``; ``file`` names it in errors."""
    data, node = parse_mapping(text, file, error=error)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, node, file, error=error) from exc


def load_config(model: type[M], path: str | Path, *, error: type[ConfigError] = ConfigError) -> M:
    """Read and validate the file at ``path``."""
    path = Path(path)
    return parse_config(model, path.read_text("utf-8"), str(path), error=error)


def shipped_config(model: type[M], folder: str, name: str, error: type[ConfigError] = ConfigError) -> M:
    """A file shipped in ``calmline/resources/<folder>/<name>`` (read once; the models are frozen)."""
    return cast(M, _shipped(model, folder, name, cast(Any, error)))


@lru_cache(maxsize=32)
def _shipped(model: type[BaseModel], folder: str, name: str, error: Any) -> BaseModel:
    res = resources.files("calmline.resources").joinpath(folder, name)
    return parse_config(model, res.read_text("utf-8"), f"{folder}/{name}", error=error)
