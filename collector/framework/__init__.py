"""The collector framework: core types, runners and analyzers."""
