"""The prompt of one unit, built from the prompt set `prompts/translate.yaml`.

The fixed part (system prompt, worked examples of the language pair, instructions) comes first
and the unit last, so the engine evaluates the fixed part once and reuses it from its KV cache
for every unit. Glossary hints sit between the instructions and the unit.
"""

from __future__ import annotations

from collections.abc import Sequence

from marco_cli.engine.base import Engine
from marco_cli.glossary import Match
from marco_cli.prompts import TranslatePrompts
from marco_cli.translate.options import TranslateOptions


class PromptBuilder:
    """Prompts of one kind ("cot": think first, or "direct") for one language pair."""

    def __init__(
        self,
        engine: Engine,
        prompts: TranslatePrompts,
        options: TranslateOptions,
        *,
        with_hints: bool,
    ) -> None:
        self.engine = engine
        self.prompts = prompts
        self.kind = "direct" if options.strategy == "direct" else "cot"
        src_name = options.src.name if options.src else "source"
        self._names = {"src": src_name, "tgt": options.tgt.name}
        src = options.src.base if options.src else "?"
        self._pair = f"{src}-{options.tgt.base}"
        self._with_hints = with_hints
        """Whether units get glossary hints (the worked examples then show theirs too)."""
        self._head: list[dict[str, str]] | None = None

    def fill(self, template: str) -> str:
        """`template` with the language names in place of {src} and {tgt}."""
        return template.replace("{src}", self._names["src"]).replace("{tgt}", self._names["tgt"])

    def _user_message(self, text: str, hints: Sequence[str]) -> str:
        parts = [self.fill(self.prompts.instructions(self.kind))]
        if hints:
            lines = "\n".join(f"- {hint}" for hint in hints)
            parts.append(f"{self.prompts.glossary_header}\n{lines}")
        parts.append(self.prompts.text_header + "\n" + text)
        return "\n\n".join(parts)

    def _fixed_messages(self) -> list[dict[str, str]]:
        """System prompt and the worked examples of this language pair."""
        if self._head is not None:
            return self._head
        kind = self.kind
        messages = [{"role": "system", "content": self.fill(self.prompts.system(kind))}]
        for example in self.prompts.examples:
            if example.pair != self._pair:
                continue
            hints = list(example.hints) if self._with_hints else []
            messages.append({"role": "user", "content": self._user_message(example.text, hints)})
            output = f"<Output>\n{example.output}\n</Output>"
            if kind == "cot":
                output = f"<Thought>\n{example.thought}\n</Thought>\n{output}"
            messages.append({"role": "assistant", "content": output})
        self._head = messages
        return messages

    def prompt_tokens(self, text: str, terms: Sequence[Match] = ()) -> list[int]:
        """The full prompt of one unit, ending inside the assistant turn after its prefix."""
        hints = [m.hint() for m in terms]
        # llama.cpp takes messages as C strings, which end at a NUL byte: the model sees the
        # text without them (the unit's source and the output keep them).
        text = text.replace("\0", "")
        messages = [
            *self._fixed_messages(),
            {"role": "user", "content": self._user_message(text, hints)},
        ]
        prefix = self.assistant_prefix(terms)
        return self.engine.chat_tokens(messages) + self.engine.tokenize(prefix, special=False)

    def assistant_prefix(self, terms: Sequence[Match] = ()) -> str:
        """How the assistant turn opens. For cot with glossary terms, the thought's list of
        expressions is started with the first term found, so the model discusses the terms
        instead of declaring the text plain (small models do that despite the glossary)."""
        prefix = self.prompts.assistant_prefix(self.kind)
        if self.kind == "cot" and terms and self.prompts.seed_first_term:
            prefix += f"\n- {terms[0].surface}"
        return prefix

    def opened_thought(self, terms: Sequence[Match]) -> str:
        """The part of the thought that the prompt itself wrote (after <Thought>)."""
        return self.assistant_prefix(terms).split("<Thought>", 1)[-1].lstrip("\n")

    def repair_tokens(self, word: str) -> list[int]:
        """The prompt asking for the target-language rendering of one leftover source word."""
        template = self.prompts.repair_instructions
        messages = [
            {"role": "system", "content": self.fill(self.prompts.system_direct)},
            {"role": "user", "content": self.fill(template).replace("{word}", word)},
        ]
        return self.engine.chat_tokens(messages)
