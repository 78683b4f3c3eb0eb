"""Built-in analyzers."""

from .filelog import FileLogAnalyzer
from .filter import FilterAnalyzer
from .http import HttpAnalyzer
from .llm import LlmAnalyzer
from .pipeline import DropKinds, tls_analyzers
from .redact import RedactAnalyzer

__all__ = [
    "DropKinds",
    "FileLogAnalyzer",
    "FilterAnalyzer",
    "HttpAnalyzer",
    "LlmAnalyzer",
    "RedactAnalyzer",
    "tls_analyzers",
]
