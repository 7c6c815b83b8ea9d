"""The work of a translation run: a job is one engine request's worth of a unit, a piece is
what a job produced."""

from __future__ import annotations

from dataclasses import dataclass, field

from marco_cli.engine.base import Generation
from marco_cli.glossary import Match
from marco_cli.translate.units import Unit


@dataclass
class Job:
    """One request's worth of work: a unit, or a piece of one cut by --split-long."""

    unit: Unit
    piece: int
    text: str
    terms: list[Match]
    out_budget: int
    thought_budget: int
    prompt_length: int
    prompt: list[int] = field(default_factory=list)
    """Built when the job's batch runs (a large input never holds every prompt at once)."""

    @property
    def need(self) -> int:
        """KV cells the job needs: its prompt, the thought and close, the translation."""
        extra = self.thought_budget + 8 if self.thought_budget else 0
        return self.prompt_length + self.out_budget + extra


@dataclass
class Piece:
    """What one job produced: its translation, or the error that stopped it."""

    translation: str = ""
    reasoning: str = ""
    error: str | None = None
    confidence: float | None = None
    generations: list[Generation] = field(default_factory=list)
    generated_tokens: int = 0
    prompt_evaluated: int = 0

    def __post_init__(self) -> None:
        if self.generations:
            self.generated_tokens = sum(len(g.tokens) for g in self.generations)
            self.prompt_evaluated = sum(g.prompt_evaluated for g in self.generations)
