"""calmline: real-time assistance for medical call centers handling distressed callers."""

__version__ = "0.1.0"
