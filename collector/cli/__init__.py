"""The `collector` command line."""
