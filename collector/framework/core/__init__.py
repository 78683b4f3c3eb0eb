"""Core types: events, errors, the analyzer protocol, line framing, clocks and stats."""
