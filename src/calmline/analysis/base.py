"""The analyzer contract: a name, a version, the speakers it reads, and a pure ``analyze``.

An analyzer never does I/O, never reads the clock and never mutates its input. Anything it needs to load
(lexicons, model weights) is loaded by ``setup()``, which the shell calls once at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from calmline.events import Finding, Speaker


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier utterance of the call, as analyzers may see it."""

    seq: int
    speaker: Speaker
    text: str


@dataclass(frozen=True, slots=True)
class AnalysisContext:
    """What an analyzer sees: the utterance, who said it, and the call so far."""

    text: str
    speaker: Speaker = "caller"
    seq: int | None = None
    language: str = "en"
    history: tuple[Turn, ...] = ()
    #: Findings already produced for this utterance by analyzers earlier in the registry order.
    prior: tuple[Finding, ...] = field(default=())
    #: Whether the caller's identity and authority to hear the patient's information were verified on this
    #: call (the call's verification state; the privacy guardrail reads it).
    verified: bool = False


@runtime_checkable
class Analyzer(Protocol):
    """The plug-in interface every analyzer satisfies."""

    @property
    def name(self) -> str:
        """Stable identifier, e.g. ``suicide``."""
        ...

    @property
    def version(self) -> str:
        """Version of the analyzer's logic and data; changes whenever outputs may change."""
        ...

    @property
    def speakers(self) -> frozenset[Speaker]:
        """Speakers whose utterances this analyzer reads."""
        ...

    def setup(self) -> None:
        """Load data once. Safe to call more than once."""
        ...

    def analyze(self, ctx: AnalysisContext) -> Sequence[Finding]:
        """Return the findings for ``ctx.text``; pure."""
        ...


class AnalyzerRegistry:
    """An ordered set of analyzers. Order matters: later analyzers see earlier findings in ``ctx.prior``."""

    def __init__(self, analyzers: Sequence[Analyzer] = ()) -> None:
        self._analyzers: list[Analyzer] = []
        self._ready = False
        for analyzer in analyzers:
            self.register(analyzer)

    def register(self, analyzer: Analyzer) -> None:
        """Append an analyzer; names must be unique."""
        if any(a.name == analyzer.name for a in self._analyzers):
            raise ValueError(f"analyzer {analyzer.name!r} is registered twice")
        self._analyzers.append(analyzer)
        self._ready = False

    @property
    def analyzers(self) -> tuple[Analyzer, ...]:
        """The analyzers in run order."""
        return tuple(self._analyzers)

    def versions(self) -> dict[str, str]:
        """Name to version of every analyzer, for audit and replay reports."""
        return {a.name: a.version for a in self._analyzers}

    def setup(self) -> None:
        """Call every analyzer's ``setup`` once."""
        if not self._ready:
            for analyzer in self._analyzers:
                analyzer.setup()
            self._ready = True

    def run(self, ctx: AnalysisContext) -> tuple[Finding, ...]:
        """Run every analyzer that reads ``ctx.speaker``, in order, and collect their findings."""
        self.setup()
        found: list[Finding] = []
        for analyzer in self._analyzers:
            if ctx.speaker not in analyzer.speakers:
                continue
            step_ctx = AnalysisContext(
                text=ctx.text,
                speaker=ctx.speaker,
                seq=ctx.seq,
                language=ctx.language,
                history=ctx.history,
                prior=tuple(found),
                verified=ctx.verified,
            )
            for finding in analyzer.analyze(step_ctx):
                found.append(finding.model_copy(update={"speaker": ctx.speaker, "utterance_seq": ctx.seq}))
        return tuple(found)
