"""Decoders turn one stdout line of a tool (or one log line) into Events; they do no I/O."""

from .auto import AutoDecoder
from .base import Decoder, LineFunctionDecoder
from .event_json import EventJsonDecoder
from .process_tool import ProcessToolDecoder
from .ssl_tool import SslToolDecoder

__all__ = [
    "AutoDecoder",
    "Decoder",
    "EventJsonDecoder",
    "LineFunctionDecoder",
    "ProcessToolDecoder",
    "SslToolDecoder",
]
