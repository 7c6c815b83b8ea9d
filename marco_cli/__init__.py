"""marco: run Marco-o1 locally with chain of thought, Monte Carlo Tree Search and slang-aware translation."""

__version__ = "0.1.0"
