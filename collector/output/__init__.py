"""Front-end output: console lines, summaries."""
