"""Built-in analyzers."""

from .http import HttpAnalyzer

__all__ = ["HttpAnalyzer"]
