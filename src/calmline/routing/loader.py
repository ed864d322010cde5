"""Load a routing configuration from YAML, with errors that say ``FILE:LINE: reason``.

Same safe YAML as the protocols (``on``/``off``/``yes``/``no`` stay strings, duplicate keys refused) and the
same mapping of pydantic errors back to the offending line.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from calmline.protocols.loader import ProtocolError, line_of, parse_yaml
from calmline.routing.model import RoutingConfig

DEFAULT_FILE = "default.yaml"


class RoutingConfigError(ValueError):
    """A routing file that cannot be used: ``file``, 1-based ``line`` and ``reason``."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(f"{file}:{line}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


def parse_routing_config(text: str, file: str) -> RoutingConfig:
    """Validate one routing document; ``file`` names it in errors."""
    try:
        data, node = parse_yaml(text, file)
    except ProtocolError as exc:
        raise RoutingConfigError(exc.file, exc.line, exc.reason) from exc
    if not isinstance(data, dict):
        raise RoutingConfigError(file, line_of(node, ()), "a routing file must be a YAML mapping")
    try:
        return RoutingConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "config"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise RoutingConfigError(file, line_of(node, err["loc"]), f"{where}: {err['msg']}{more}") from exc


def load_routing_config(path: str | Path | None = None) -> RoutingConfig:
    """Load ``path``, or the shipped ``resources/routing/default.yaml``."""
    if path is not None:
        path = Path(path)
        return parse_routing_config(path.read_text("utf-8"), str(path))
    return default_routing_config()


@lru_cache(maxsize=1)
def default_routing_config() -> RoutingConfig:
    """The shipped configuration (read once; the models are frozen)."""
    res = resources.files("calmline.resources").joinpath("routing", DEFAULT_FILE)
    return parse_routing_config(res.read_text("utf-8"), f"routing/{DEFAULT_FILE}")
