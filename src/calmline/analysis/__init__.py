"""Pure analyzers: utterance and call context in, findings with evidence out."""

from calmline.analysis.base import AnalysisContext, Analyzer, AnalyzerRegistry, Turn
from calmline.analysis.context import ContextResult, assess
from calmline.analysis.defaults import default_analyzers, default_registry

__all__ = [
    "AnalysisContext",
    "Analyzer",
    "AnalyzerRegistry",
    "ContextResult",
    "Turn",
    "assess",
    "default_analyzers",
    "default_registry",
]
