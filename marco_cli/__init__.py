"""marco: run Marco-o1 locally.

Chain of thought, Monte Carlo Tree Search and slang-aware translation on llama.cpp.
"""

__version__ = "0.1.0"
