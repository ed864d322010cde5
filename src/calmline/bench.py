"""``calmline bench analyze``: latency of the whole analysis pipeline per utterance, on one core.

Utterances come from the shipped scenarios and the labelled call set when present (synthetic, no PHI), cycled
to the requested count. Each utterance is timed through ``AnalyzerRegistry.run`` with its call history, as the
engine runs it; the raw embedding call (the static MiniLM lookup the learned heads use) is timed on the same
texts so the ratio shows what the rest of the pipeline costs.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calmline.analysis.base import AnalysisContext, AnalyzerRegistry, Turn
from calmline.events import CallStarted, Speaker, UtteranceReceived

if TYPE_CHECKING:
    from calmline.engine import CallEngine


def _pin_one_core() -> int | None:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return core
    return None  # pragma: no cover


def corpus(sets_dir: Path | None = None) -> list[tuple[Speaker, str]]:
    """(speaker, text) pairs from the scenarios and, if given, the labelled call set."""
    import json

    from calmline.sim.scenario import builtin_scenarios

    pairs: list[tuple[Speaker, str]] = [(t.speaker, t.text) for s in builtin_scenarios() for t in s.turns]
    path = (sets_dir or Path("eval/sets")) / "call_utterances.jsonl"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                pairs.append(("caller", json.loads(line)["text"]))
    return pairs


def _percentiles(samples_ns: Sequence[int]) -> dict[str, float]:
    ms = sorted(s / 1e6 for s in samples_ns)

    def pct(p: float) -> float:
        return round(ms[min(len(ms) - 1, int(p / 100 * len(ms)))], 4)

    return {
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": round(ms[-1], 4),
        "mean_ms": round(statistics.fmean(ms), 4),
    }


def _time(fn: Callable[[int], object], n: int) -> list[int]:
    samples = []
    for i in range(n):
        start = time.perf_counter_ns()
        fn(i)
        samples.append(time.perf_counter_ns() - start)
    return samples


def bench_analyze(
    registry: AnalyzerRegistry,
    *,
    n: int = 5000,
    warmup: int = 200,
    sets_dir: Path | None = None,
    pin: bool = True,
    engine: CallEngine | None = None,
) -> dict[str, Any]:
    """Time the pipeline on ``n`` utterances (after ``warmup``), return JSON-ready figures.

    With ``engine``, also time ``CallEngine.step`` per utterance (``engine_step``): the analyzers plus
    scoring, the alert policy, the call's protocol machines and the agent-intent matchers.
    """
    core = _pin_one_core() if pin else None
    registry.setup()
    pairs = corpus(sets_dir)
    history: list[Turn] = []
    contexts: list[AnalysisContext] = []
    for i in range(n + warmup):
        speaker, base = pairs[i % len(pairs)]
        # Every timed utterance is new text, as on a live line (analyzers may memoise earlier turns).
        text = f"{base} (turn {i})"
        contexts.append(AnalysisContext(text=text, speaker=speaker, seq=i, history=tuple(history[-12:])))
        history.append(Turn(seq=i, speaker=speaker, text=text))
        if i % 15 == 14:
            history.clear()  # a new call every 15 turns
    for ctx in contexts[:warmup]:
        registry.run(ctx)
    timed = contexts[warmup:]
    pipeline = _time(lambda i: registry.run(timed[i]), len(timed))
    result: dict[str, Any] = {
        "benchmark": "analyze",
        "utterances": len(timed),
        "distinct_texts": len(pairs),
        "pipeline": _percentiles(pipeline),
        "utterances_per_s": round(len(timed) / (sum(pipeline) / 1e9), 1),
        "analyzers": registry.versions(),
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "pinned_core": core,
            "cpus": os.cpu_count(),
        },
    }
    if engine is not None:
        result["engine_step"] = _percentiles(_time_engine(engine, timed))
    embed = _embedding_call()
    if embed is not None:
        texts = [c.text for c in timed]
        for text in texts[:warmup]:
            embed(text)
        raw = _time(lambda i: embed(texts[i]), len(texts))
        result["embedding"] = _percentiles(raw)
        result["ratio_p50_pipeline_to_embedding"] = round(
            result["pipeline"]["p50_ms"] / max(result["embedding"]["p50_ms"], 1e-6), 2
        )
        result["ratio_p99_pipeline_to_embedding"] = round(
            result["pipeline"]["p99_ms"] / max(result["embedding"]["p99_ms"], 1e-6), 2
        )
    return result


def _time_engine(engine: CallEngine, contexts: Sequence[AnalysisContext]) -> list[int]:
    """Step every utterance through the engine, a new call every 15 turns, timing each step."""
    from datetime import UTC, datetime

    start = datetime(2026, 1, 1, tzinfo=UTC)
    samples: list[int] = []
    state = None
    for i, ctx in enumerate(contexts):
        if i % 15 == 0:
            call_id = f"bench-{i // 15}"
            state, _ = engine.step(engine.initial(call_id), CallStarted(call_id=call_id, started_at=start))
        assert state is not None
        event = UtteranceReceived(
            call_id=state.call_id,
            seq=i % 15 + 1,
            speaker=ctx.speaker,
            text=f"{ctx.text} (step)",  # new text: analyzers memoise what the pipeline timing already saw
            start_ms=(i % 15) * 4000,
            end_ms=(i % 15) * 4000 + 3000,
        )
        began = time.perf_counter_ns()
        state, _ = engine.step(state, event)
        samples.append(time.perf_counter_ns() - began)
    return samples


def _embedding_call() -> Callable[[str], object] | None:
    """The raw static-embedding call of the learned layer, if its artifacts are installed."""
    try:
        from calmline.analysis.learned import load_models, normalize
    except ImportError:  # pragma: no cover
        return None
    try:
        featurizer = load_models().featurizer
    except (FileNotFoundError, ValueError):
        return None
    return lambda text: featurizer.embed_words(normalize(text).split())
