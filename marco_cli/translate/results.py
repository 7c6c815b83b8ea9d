"""The translation of one unit as printed and as recorded in JSON Lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marco_cli.glossary import Match


@dataclass
class UnitResult:
    """The translation of one unit, as printed (`translation`) and as recorded (`to_json`)."""

    index: int
    line: int
    source: str
    translation: str
    ok: bool = True
    error: str | None = None
    terms: list[Match] = field(default_factory=list)
    reasoning: str = ""
    confidence: float | None = None
    model: str = ""
    strategy: str = ""
    src: str | None = None
    tgt: str = ""
    prompt_tokens: int = 0
    prompt_evaluated: int = 0
    """Prompt tokens the engine had to evaluate (the rest came from its KV cache)."""
    generated_tokens: int = 0
    seconds: float = 0.0
    """Wall-clock time attributed to this unit (a batch's time is shared by its units)."""
    pieces: int = 1
    """More than 1 when --split-long cut the unit into several requests."""

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "line": self.line,
            "source": self.source,
            "translation": self.translation,
            "ok": self.ok,
            "error": self.error,
            "terms": [match.to_json(self.reasoning) for match in self.terms],
            "reasoning": self.reasoning or None,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "model": self.model,
            "strategy": self.strategy,
            "src": self.src,
            "tgt": self.tgt,
            "timings": {
                "seconds": round(self.seconds, 3),
                "prompt_tokens": self.prompt_tokens,
                "prompt_evaluated": self.prompt_evaluated,
                "generated_tokens": self.generated_tokens,
                "tokens_per_second": round(self.generated_tokens / self.seconds, 2)
                if self.seconds > 0
                else None,
            },
        }


JSON_FIELDS = (
    "index",
    "line",
    "source",
    "translation",
    "ok",
    "error",
    "terms",
    "reasoning",
    "confidence",
    "model",
    "strategy",
    "src",
    "tgt",
    "timings",
)
"""The keys of every JSON Lines record, in order."""
