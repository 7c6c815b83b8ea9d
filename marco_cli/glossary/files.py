"""Glossary files in YAML: a user's `--glossary FILE` and the curated glossary shipped in
`marco_cli/data/slang_zh.yaml`."""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path

from marco_cli.errors import UsageError
from marco_cli.glossary.entries import Entry


def parse_glossary_yaml(text: str, origin: str, source: str = "user") -> dict[str, Entry]:
    """Entries of a glossary document; errors name `origin` and the line.

    The document is a mapping of term → meaning, or term → {meaning, translation, variants}.
    A meaning may be a list of senses (the model is asked to choose by context), and a term may
    mark with "…" where a separable expression's filler goes:

        踩屎感: very soft and cushioned underfoot (of shoe soles)
        板正:
          meaning: crisp and neat, holding its shape (of clothes)
          translation: crisp
          variants: [闆正]
        放…鸽子: to stand someone up
        在线: [online, at one's best; on top form (as in 演技在线)]
    """
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark else origin
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(f"{where}: not valid YAML ({problem})") from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise UsageError(
            f"{origin}:{root.start_mark.line + 1}: a glossary is a mapping of term: meaning"
        )

    def fail(node: yaml.Node, message: str) -> UsageError:
        return UsageError(f"{origin}:{node.start_mark.line + 1}: {message}")

    def scalar(node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            raise fail(node, f"{what} must be text")
        value = str(node.value).strip()
        if not value:
            raise fail(node, f"{what} is empty")
        return value

    def senses(node: yaml.Node, what: str) -> tuple[str, ...]:
        if isinstance(node, yaml.SequenceNode) and node.value:
            return tuple(scalar(v, what) for v in node.value)
        return (scalar(node, what),)

    entries: dict[str, Entry] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in root.value:
        term = scalar(key_node, "a term")
        line = key_node.start_mark.line + 1
        if term in lines:
            raise fail(key_node, f"term {term!r} is defined twice (first on line {lines[term]})")
        lines[term] = line
        translation = None
        variants: tuple[str, ...] = ()
        if isinstance(value_node, yaml.MappingNode):
            fields: dict[str, yaml.Node] = {}
            for field_key, field_value in value_node.value:
                name = scalar(field_key, "a field name")
                if name not in ("meaning", "translation", "variants"):
                    raise fail(
                        field_key,
                        f"unknown field {name!r} for {term!r} (use meaning, translation, variants)",
                    )
                fields[name] = field_value
            if "meaning" not in fields and "translation" not in fields:
                raise fail(key_node, f"term {term!r} needs a meaning or a translation")
            meanings = (
                senses(fields["meaning"], f"the meaning of {term!r}") if "meaning" in fields else ()
            )
            if "translation" in fields:
                translation = scalar(fields["translation"], f"the translation of {term!r}")
            if "variants" in fields:
                node = fields["variants"]
                if isinstance(node, yaml.SequenceNode):
                    variants = tuple(scalar(v, f"a variant of {term!r}") for v in node.value)
                else:
                    variants = (scalar(node, f"the variants of {term!r}"),)
            meanings = meanings or (f'"{translation}"',)
        else:
            meanings = senses(value_node, f"the meaning of {term!r}")
        entries[term] = Entry(
            term=term,
            meaning="; ".join(meanings),
            translation=translation,
            source=source,
            origin=f"{origin}:{line}",
            variants=variants,
            senses=meanings if len(meanings) > 1 else (),
        )
    return entries


def load_glossary_file(path: str | os.PathLike[str]) -> dict[str, Entry]:
    """A user glossary file (YAML); a missing or unreadable file is a usage error."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"glossary file {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read glossary file {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"{path}:{line}: not valid UTF-8") from None
    return parse_glossary_yaml(text, str(path), source="user")


@cache
def curated_glossary() -> dict[str, Entry]:
    """The glossary shipped with marco (`marco_cli/data/slang_zh.yaml`)."""
    text = resources.files("marco_cli.data").joinpath("slang_zh.yaml").read_text(encoding="utf-8")
    return parse_glossary_yaml(text, "slang_zh.yaml", source="curated")
