"""Which strategies a bench run compares: their names (`cot`, `mcts-step`, `sc-5`, with
`-reflect`), parsed into `StrategySpec`s, and the search a self-consistency strategy matches."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from marco_cli.errors import UsageError
from marco_cli.reasoning import Strategy

STRATEGY_BASES: dict[str, tuple[Strategy, str | None]] = {
    "cot": ("cot", None),
    "mcts-step": ("mcts", "step"),
    "mcts-mini64": ("mcts", "mini-64"),
    "mcts-mini32": ("mcts", "mini-32"),
}
"""Bench strategy name -> (solve strategy, MCTS action). Self-consistency is `sc-K` (see
`bench.self_consistency`), K chains; plain `sc` is `sc-5`."""

_SC = re.compile(r"sc(?:-([1-9]\d*))?")

_ALIASES = {
    "mcts": "mcts-step",
    "mcts-mini-64": "mcts-mini64",
    "mcts-mini-32": "mcts-mini32",
    "mini64": "mcts-mini64",
    "mini32": "mcts-mini32",
    "step": "mcts-step",
}


@dataclass(frozen=True)
class StrategySpec:
    """One benchmarked strategy. `name` is canonical: the base, plus `-reflect` when on."""

    base: str
    reflect: bool

    @property
    def name(self) -> str:
        return f"{self.base}-reflect" if self.reflect else self.base

    @property
    def strategy(self) -> str:
        return "sc" if self.chains else STRATEGY_BASES[self.base][0]

    @property
    def solve_strategy(self) -> Strategy:
        """What `solve()` runs for one attempt: sc's chains are chains of thought."""
        return "cot" if self.chains else STRATEGY_BASES[self.base][0]

    @property
    def action(self) -> str | None:
        return None if self.chains else STRATEGY_BASES[self.base][1]

    @property
    def chains(self) -> int:
        """K of a self-consistency strategy `sc-K`; 0 for the others."""
        return int(self.base[3:]) if self.base.startswith("sc-") else 0


def parse_strategies(text: str | Sequence[str], *, reflect: bool = False) -> list[StrategySpec]:
    """`"cot,mcts-step-reflect"` -> specs. A `-reflect`/`-noreflect` suffix overrides `reflect`."""
    parts = text.split(",") if isinstance(text, str) else [p for t in text for p in t.split(",")]
    specs: list[StrategySpec] = []
    for raw in parts:
        item = raw.strip().lower()
        if not item:
            continue
        on, asked = reflect, False
        for suffix, value in (("-noreflect", False), ("-no-reflect", False), ("-reflect", True)):
            if item.endswith(suffix):
                item, on, asked = item[: -len(suffix)], value, value
                break
        base = _ALIASES.get(item, item)
        sc = _SC.fullmatch(base)
        if sc:
            spec = _sc_spec(raw.strip(), int(sc[1] or 0), asked)
        elif base in STRATEGY_BASES:
            spec = StrategySpec(base, on)
        else:
            known = ", ".join(STRATEGY_BASES)
            raise UsageError(
                f"unknown strategy {raw.strip()!r}: use {known}, sc or sc-K "
                "(optionally with -reflect or -noreflect)"
            )
        if spec not in specs:
            specs.append(spec)
    if not specs:
        raise UsageError("--strategies is empty: name at least one of " + ", ".join(STRATEGY_BASES))
    return specs


def _sc_spec(raw: str, chains: int, reflect: bool) -> StrategySpec:
    """`sc` / `sc-K`: K chains (0: the default), never with reflection; the --reflect default of
    the other strategies does not apply, since sc samples plain chains of thought."""
    from marco_cli.bench.self_consistency import DEFAULT_CHAINS, MAX_CHAINS

    chains = chains or DEFAULT_CHAINS
    if chains > MAX_CHAINS:
        raise UsageError(f"{raw!r}: sc takes at most {MAX_CHAINS} chains")
    if reflect:
        raise UsageError(f"{raw!r}: sc samples plain chains of thought, without reflection")
    return StrategySpec(f"sc-{chains}", False)


def match_strategy(strategies: Sequence[StrategySpec], match_tokens: bool) -> StrategySpec | None:
    """The search whose tokens `sc` matches: the first MCTS strategy listed (with
    `match_tokens`); refuses --match-tokens without one."""
    if not match_tokens or not any(s.chains for s in strategies):
        return None
    for spec in strategies:
        if spec.strategy == "mcts":
            return spec
    raise UsageError(
        "--match-tokens needs an MCTS strategy in --strategies whose tokens sc matches, "
        "e.g. -s cot,mcts-step,sc --match-tokens"
    )
