"""Agent support resources: the site's employee-assistance programme and peer-support links.

Data in ``resources/practice/support/agent_support.yaml`` (or a file given by the caller, e.g. from settings).
Offered after critical real calls and in the agent's own views. Deliberately untracked: nothing here, nor in
the route that serves it, records who asked for or opened a link.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from calmline.practice.loader import PracticeError
from calmline.protocols.loader import ProtocolError, line_of, parse_yaml

SUPPORT_FILE = "agent_support.yaml"


class SupportLink(BaseModel):
    """One place an agent can turn to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=400)
    url: str | None = Field(default=None, pattern=r"^(https?://|/)\S+$", max_length=500)
    phone: str | None = Field(default=None, max_length=40)


class SupportResources(BaseModel):
    """The support file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    intro: str = ""
    links: tuple[SupportLink, ...] = Field(min_length=1)


def parse_support(text: str, file: str) -> SupportResources:
    """Validate a support file; errors say ``FILE:LINE: reason``."""
    try:
        data, node = parse_yaml(text, file)
    except ProtocolError as exc:
        raise PracticeError(exc.file, exc.line, exc.reason) from exc
    try:
        return SupportResources.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "support"
        raise PracticeError(file, line_of(node, err["loc"]), f"{where}: {err['msg']}") from exc


def load_support(path: str | Path | None = None) -> SupportResources:
    """``path``, or the shipped file."""
    if path is not None:
        path = Path(path)
        return parse_support(path.read_text("utf-8"), str(path))
    return shipped_support()


@lru_cache(maxsize=1)
def shipped_support() -> SupportResources:
    """The packaged support file, read once."""
    res = resources.files("calmline.resources").joinpath("practice", "support", SUPPORT_FILE)
    return parse_support(res.read_text("utf-8"), f"practice/support/{SUPPORT_FILE}")
