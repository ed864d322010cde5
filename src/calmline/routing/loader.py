"""Load a routing configuration from YAML, with errors that say ``FILE:LINE: reason``.

Same safe YAML as the protocols (``on``/``off``/``yes``/``no`` stay strings, duplicate keys refused) and the
same mapping of pydantic errors back to the offending line.
"""

from __future__ import annotations

from pathlib import Path

from calmline.configfile import ConfigError, load_config, parse_config, shipped_config
from calmline.routing.model import RoutingConfig

DEFAULT_FILE = "default.yaml"


class RoutingConfigError(ConfigError):
    """A routing file that cannot be used: ``file``, 1-based ``line`` and ``reason``."""


def parse_routing_config(text: str, file: str) -> RoutingConfig:
    """Validate one routing document; ``file`` names it in errors."""
    return parse_config(RoutingConfig, text, file, error=RoutingConfigError)


def load_routing_config(path: str | Path | None = None) -> RoutingConfig:
    """Load ``path``, or the shipped ``resources/routing/default.yaml``."""
    if path is not None:
        return load_config(RoutingConfig, path, error=RoutingConfigError)
    return default_routing_config()


def default_routing_config() -> RoutingConfig:
    """The shipped configuration (read once; the models are frozen)."""
    return shipped_config(RoutingConfig, "routing", DEFAULT_FILE, RoutingConfigError)
