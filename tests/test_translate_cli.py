"""`marco translate` through the real entry point, with a scripted engine (and, marked `tiny`,
with the real llama.cpp engine on the tiny model)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from translate_fake import TranslateFake, default

from marco_cli.cli import main
from marco_cli.translate import JSON_FIELDS


class Stdin:
    """What the CLI reads: `buffer.read()` and `isatty()`."""

    def __init__(self, data: bytes, tty: bool = False) -> None:
        self.buffer = io.BytesIO(data)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture()
def engine(monkeypatch: pytest.MonkeyPatch) -> TranslateFake:
    """The engine every `marco translate` run of the test gets."""
    fake = TranslateFake()
    monkeypatch.setattr("marco_cli.cli.session.open_engine", lambda settings: fake)
    return fake


@pytest.fixture()
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(settings):
        raise AssertionError("the model must not be loaded")

    monkeypatch.setattr("marco_cli.cli.session.open_engine", refuse)


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    stdin: bytes | str | None = None,
    tty: bool = False,
) -> tuple[int, str, str]:
    if stdin is not None or tty:
        data = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
        monkeypatch.setattr(sys, "stdin", Stdin(data, tty=tty))
    with pytest.raises(SystemExit) as exc:
        main(["translate", *args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def flat(text: str) -> str:
    return " ".join(text.split())


# -- normal runs ----------------------------------------------------------------------------


def test_argument(capsys, monkeypatch, engine) -> None:
    engine.answers["你好"] = "Hello"
    code, out, err = run(capsys, monkeypatch, "--src", "zh", "--tgt", "en", "你好")
    assert (code, out, err) == (0, "Hello\n", "")
    assert engine.closed


def test_stdin_lines_keep_their_shape(capsys, monkeypatch, engine) -> None:
    engine.answers.update({"一": "one", "二": "two", "三": "three"})
    code, out, _ = run(capsys, monkeypatch, "--src", "zh", stdin="一\n\n二\n\n\n三")
    assert code == 0
    assert out == "one\n\ntwo\n\n\nthree"  # blank lines kept, no final newline added


def test_dash_reads_stdin_and_crlf_is_kept(capsys, monkeypatch, engine) -> None:
    engine.answers.update({"一": "one", "二": "two"})
    code, out, _ = run(capsys, monkeypatch, "--src", "zh", "-", stdin="一\r\n二\r\n")
    assert (code, out) == (0, "one\r\ntwo\r\n")


def test_one_output_line_per_input_line(capsys, monkeypatch, engine) -> None:
    engine.default = "First line\nsecond line of the same translation"
    lines = [f"第{i}行" for i in range(30)]
    code, out, _ = run(capsys, monkeypatch, "--src", "zh", stdin="\n".join(lines) + "\n")
    assert code == 0
    # in line mode the translation ends at the model's first line break
    assert out.splitlines() == ["First line"] * 30


def test_paragraphs_and_whole(capsys, monkeypatch, engine) -> None:
    engine.answers.update({"一\n二": "One and two.", "三": "Three."})
    code, out, _ = run(capsys, monkeypatch, "--src", "zh", "--paragraphs", stdin="一\n二\n\n三\n")
    assert (code, out) == (0, "One and two.\n\nThree.\n")
    engine.answers["一\n二\n\n三"] = "All of it."
    code, out, _ = run(capsys, monkeypatch, "--src", "zh", "--whole", stdin="一\n二\n\n三\n")
    assert (code, out) == (0, "All of it.\n")


def test_json_lines(capsys, monkeypatch, engine) -> None:
    engine.answers["这鞋有踩屎感"] = "These shoes feel wonderfully cushioned"
    code, out, _ = run(capsys, monkeypatch, "--src", "zh", "--json", stdin="这鞋有踩屎感\n\n")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 2
    assert all(list(r) == list(JSON_FIELDS) for r in records)
    first = records[0]
    assert first["translation"] == "These shoes feel wonderfully cushioned"
    assert first["terms"][0]["term"] == "踩屎感" and first["terms"][0]["source"] == "curated"
    assert first["strategy"] == "cot" and first["model"] == "fake-translator"
    assert records[1]["source"] == ""


def test_strategy_direct_and_no_glossary(capsys, monkeypatch, engine) -> None:
    code, _, _ = run(
        capsys, monkeypatch, "--src", "zh", "--strategy", "direct", "--no-glossary", "有踩屎感"
    )
    assert code == 0
    assert len(engine.prompts) == 1
    assert "Glossary" not in engine.prompts[0] and "<Thought>" not in engine.prompts[0][-20:]


def test_src_auto_detects_the_script(capsys, monkeypatch, engine) -> None:
    code, _, err = run(capsys, monkeypatch, "--tgt", "en", "今天天气很好")
    assert (code, err) == (0, "")
    assert "Translate the Chinese text below into English" in engine.prompts[0]


def test_auto_warns_when_input_is_already_the_target(capsys, monkeypatch, engine) -> None:
    code, _, err = run(capsys, monkeypatch, "--tgt", "en", "The weather is nice today")
    assert code == 0 and "looks like English already" in err


def test_user_glossary_wins_and_is_in_the_prompt(capsys, monkeypatch, engine, tmp_path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("踩屎感: our shop's word for memory-foam comfort\n", encoding="utf-8")
    code, _, _ = run(capsys, monkeypatch, "--src", "zh", "--glossary", str(mine), "有踩屎感")
    assert code == 0
    assert "- 踩屎感: our shop's word for memory-foam comfort" in engine.prompts[0]


def test_config_translate_section(capsys, monkeypatch, engine, tmp_path) -> None:
    (tmp_path / "terms.yaml").write_text(
        "你好: a greeting, from the config glossary\n", encoding="utf-8"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        "translate:\n  src: zh\n  tgt: fr\n  strategy: direct\n  glossaries: [terms.yaml]\n",
        encoding="utf-8",
    )
    code, _, _ = run(capsys, monkeypatch, "--config", str(config), "你好")
    assert code == 0
    prompt = engine.prompts[0]
    assert "Translate the Chinese text below into natural, idiomatic French" in prompt
    assert "- 你好: a greeting, from the config glossary" in prompt


@pytest.mark.parametrize(
    ("section", "args", "named"),
    [
        ("tgt: klingon", (), "tgt (config file) 'klingon'"),
        ("tgt: klingon", ("--tgt", "xx"), "--tgt 'xx'"),
        ("strategy: fast", (), "`translate.strategy` must be one of direct, cot, mcts"),
        ("src: en\n  tgt: en", (), "src (config file) and tgt (config file) are both en"),
    ],
)
def test_bad_config_values_are_named_as_config_keys(
    capsys, monkeypatch, engine, tmp_path, section, args, named
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"translate:\n  {section}\n", encoding="utf-8")
    code, out, err = run(capsys, monkeypatch, "--config", str(config), *args, "你好")
    assert code == 2 and out == ""
    assert err.startswith("marco: error: ") and named in err
    assert not engine.prompts  # refused before any model work


def test_output_is_streamed_unit_by_unit(monkeypatch, engine) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "stdin", Stdin("\n".join(f"第{i}行" for i in range(6)).encode()))
    seen: list[int] = []
    generate = engine.generate_batch

    def spy(requests, on_text=None):
        seen.append(out.getvalue().count("\n"))
        return generate(requests, on_text)

    engine.generate_batch = spy
    with pytest.raises(SystemExit) as exc:
        main(["translate", "--src", "zh", "--strategy", "direct", "--batch", "2"])
    assert exc.value.code == 0
    assert seen == [0, 2, 4]  # each batch starts after the previous one was written


def test_strategy_mcts(capsys, monkeypatch, engine) -> None:
    engine.answers["鞋子有踩屎感"] = "The shoes feel super soft"
    code, out, err = run(
        capsys,
        monkeypatch,
        "--src",
        "zh",
        "--strategy",
        "mcts",
        "--iterations",
        "2",
        "--json",
        "鞋子有踩屎感",
    )
    assert code == 0, err
    record = json.loads(out)
    assert record["translation"] == "The shoes feel super soft"
    assert record["strategy"] == "mcts" and record["confidence"] is not None


def test_progress_bar_on_a_terminal_stays_off_stdout(capsys, monkeypatch, engine) -> None:
    from rich.console import Console

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr("marco_cli.ui.console.stderr_console", lambda: console)
    code, out, _ = run(capsys, monkeypatch, "--src", "zh", stdin="一\n二\n三\n")
    assert code == 0
    assert out == "".join(f"{default(c)}\n" for c in "一二三")  # stdout: translations only
    assert "translating" in screen.getvalue() and "tok/s" in screen.getvalue()


# -- nothing to do --------------------------------------------------------------------------


def test_empty_stdin_is_nothing_to_do(capsys, monkeypatch, no_engine) -> None:
    assert run(capsys, monkeypatch, "--src", "zh", stdin="") == (0, "", "")


def test_blank_lines_only_pass_through(capsys, monkeypatch, no_engine) -> None:
    assert run(capsys, monkeypatch, "--src", "zh", stdin="\n \n\n") == (0, "\n \n\n", "")


def test_blank_lines_only_json(capsys, monkeypatch, no_engine) -> None:
    code, out, _ = run(capsys, monkeypatch, "--src", "zh", "--json", stdin="\n\n")
    assert code == 0 and [json.loads(x)["source"] for x in out.splitlines()] == ["", ""]


# -- bad input ------------------------------------------------------------------------------


def test_empty_argument(capsys, monkeypatch, no_engine) -> None:
    code, out, err = run(capsys, monkeypatch, "--src", "zh", "")
    assert (code, out) == (2, "")
    assert "the text to translate is empty" in flat(err)


def test_no_input_on_a_terminal(capsys, monkeypatch, no_engine) -> None:
    code, out, err = run(capsys, monkeypatch, "--src", "zh", tty=True)
    assert (code, out) == (2, "") and "no input" in err


def test_invalid_utf8_names_the_line(capsys, monkeypatch, no_engine) -> None:
    data = "好\n".encode() + "坏".encode("gbk") + b"\n"
    code, out, err = run(capsys, monkeypatch, "--src", "zh", stdin=data)
    assert (code, out) == (2, "")
    assert "stdin: line 2 is not valid UTF-8" in flat(err)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--src", "xx"], "--src 'xx' is not an ISO 639-1 language code"),
        (["--tgt", "klingon"], "--tgt 'klingon' is not an ISO 639-1 language code"),
        (["--tgt", "auto"], "--tgt cannot be auto"),
        (["--src", "chinese"], "use the ISO 639-1 code 'zh'"),
        (["--src", "en", "--tgt", "en"], "--src and --tgt are both en"),
        (["--strategy", "fast"], "--strategy takes direct, cot or mcts, not 'fast'"),
        (["--paragraphs", "--whole"], "--paragraphs and --whole exclude each other"),
        (["--glossary", "x.yaml", "--no-glossary"], "--glossary and --no-glossary contradict"),
    ],
)
def test_bad_options(capsys, monkeypatch, no_engine, args, message) -> None:
    code, out, err = run(capsys, monkeypatch, *args, "你好")
    assert (code, out) == (2, "")
    assert message in flat(err) and flat(err).startswith("marco: error:")


def test_malformed_glossary_names_file_and_line(capsys, monkeypatch, no_engine, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("好: fine\n坏: [[1, 2]]\n", encoding="utf-8")
    code, out, err = run(capsys, monkeypatch, "--src", "zh", "--glossary", str(bad), "你好")
    assert (code, out) == (2, "")
    assert f"{bad}:2: the meaning of '坏' must be text" in flat(err)


def test_missing_glossary(capsys, monkeypatch, no_engine, tmp_path) -> None:
    code, _, err = run(capsys, monkeypatch, "--src", "zh", "-g", str(tmp_path / "no.yaml"), "你")
    assert code == 2 and "does not exist" in err


def test_failed_unit_keeps_its_line_and_exits_4(capsys, monkeypatch, engine) -> None:
    engine.answers.update({"一": "one", "三": "three"})
    engine.fail = {"二"}
    code, out, err = run(capsys, monkeypatch, "--src", "zh", stdin="一\n二\n三\n")
    assert code == 4
    assert out == "one\n\nthree\n"
    assert "line 2: not translated: scripted failure" in flat(err)
    assert "1 of 3 units failed (line 2)" in flat(err)


def test_failed_unit_in_json(capsys, monkeypatch, engine) -> None:
    engine.fail = {"二"}
    code, out, _ = run(capsys, monkeypatch, "--src", "zh", "--json", stdin="一\n二\n")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 4 and [r["ok"] for r in records] == [True, False]
    assert records[1]["translation"] == "" and "scripted failure" in records[1]["error"]


def test_ctrl_c_keeps_what_was_written(capsys, monkeypatch, engine) -> None:
    engine.interrupt = {"三"}
    code, out, err = run(
        capsys, monkeypatch, "--src", "zh", "--batch", "2", stdin="一\n二\n三\n四\n"
    )
    assert code == 130
    assert out == f"{default('一')}\n{default('二')}\n"
    assert "interrupted; 2 units written" in err
    assert engine.closed


def test_unit_longer_than_the_context(capsys, monkeypatch, engine) -> None:
    engine.n_ctx = 4000
    engine.default = "Piece."
    long_line = "很长的句子。" * 200
    code, out, err = run(capsys, monkeypatch, "--src", "zh", stdin=f"短\n{long_line}\n末\n")
    assert code == 4  # that unit alone fails; the lines around it are translated
    assert out == "Piece.\n\nPiece.\n"
    assert "line 2: not translated: it needs about" in flat(err)
    assert "context holds 4000 (--ctx)" in flat(err) and "--split-long" in err
    code, out, err = run(
        capsys, monkeypatch, "--src", "zh", "--split-long", stdin=f"短\n{long_line}\n"
    )
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("Piece. Piece.")


def test_help_is_fast_and_lists_the_options(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["translate", "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    for option in (
        "--src",
        "--tgt",
        "--paragraphs",
        "--whole",
        "--json",
        "--glossary",
        "--no-glossary",
        "--strategy",
        "--split-long",
        "--model",
    ):
        assert option in out


def test_closed_pipe_ends_quietly(monkeypatch, engine) -> None:
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    monkeypatch.setattr(sys, "stdin", Stdin("一\n二\n".encode()))
    with pytest.raises(SystemExit) as exc:
        main(["translate", "--src", "zh"])
    assert exc.value.code == 141 and engine.closed  # what a shell reports for SIGPIPE


# -- the real engine, tiny model ------------------------------------------------------------


@pytest.mark.tiny
def test_tiny_model_fifty_lines_in_order(capsys, monkeypatch, tiny_model_path: Path) -> None:
    lines = [f"第{i}行：这个鞋有踩屎感" if i % 7 == 0 else f"第{i}行" for i in range(50)]
    code, out, err = run(
        capsys,
        monkeypatch,
        "--model",
        str(tiny_model_path),
        "--src",
        "zh",
        "--tgt",
        "en",
        "--strategy",
        "direct",
        "--json",
        "--max-tokens",
        "8",
        "--threads",
        "2",
        stdin="\n".join(lines) + "\n",
    )
    assert code in (0, 4), err  # a random model may produce an empty line: reported, not dropped
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["source"] for r in records] == lines
    assert all("\n" not in r["translation"] for r in records)
    failed = [r["line"] for r in records if not r["ok"]]
    assert all(f"line {n}: not translated" in err for n in failed)


@pytest.mark.tiny
def test_tiny_model_json_names_separable_terms(capsys, monkeypatch, tiny_model_path) -> None:
    lines = ["他又放我鸽子了", "我放了，鸽子飞走了", "他的演技一直很在线"]
    code, out, err = run(
        capsys,
        monkeypatch,
        *("--model", str(tiny_model_path), "--src", "zh", "--tgt", "en", "--json"),
        *("--strategy", "direct", "--max-tokens", "8", "--threads", "2"),
        stdin="\n".join(lines) + "\n",
    )
    assert code in (0, 4), err
    records = [json.loads(line) for line in out.splitlines()]
    (pigeon,) = records[0]["terms"]
    assert (pigeon["term"], pigeon["entry"]) == ("放我鸽子", "放…鸽子")
    assert pigeon["sense"] is None  # a direct translation says nothing about the sense it used
    assert records[1]["terms"] == []  # the comma ends the clause
    (online,) = records[2]["terms"]
    assert len(online["senses"]) == 2 and online["meaning"] == "; ".join(online["senses"])


@pytest.fixture(scope="module")
def tiny_engine_4k(tiny_model_path: Path):
    """The tiny model with room for translate's prompt (its vocabulary is bytes: a Chinese
    character costs three tokens, the fixed prompt about 3,000)."""
    from marco_cli.engine.llama import LlamaEngine

    engine = LlamaEngine(tiny_model_path, n_ctx=4096, n_threads=2)
    yield engine
    engine.close()


@pytest.mark.tiny
def test_tiny_model_prefix_is_evaluated_once(tiny_engine_4k) -> None:
    from marco_cli.glossary import build_glossary
    from marco_cli.languages import language
    from marco_cli.prompts import load_translate_prompts
    from marco_cli.translate import TranslateOptions, Translator, split_units

    engine = tiny_engine_4k
    prompts = load_translate_prompts()
    options = TranslateOptions(
        src=language("zh"), tgt=language("en"), strategy="cot", max_tokens=12, batch_size=4
    )
    translator = Translator(engine, prompts, options, build_glossary("zh"))
    lines = [f"第{i}行，吃瓜群众表示很上头" if i % 5 == 0 else f"第{i}行" for i in range(12)]
    document = split_units("\n".join(lines) + "\n")
    unit_prompts = [
        translator.prompter.prompt_tokens(u.text, translator.find_terms(u.text))
        for u in document.units
    ]
    prefix = min(_common(unit_prompts[0], p) for p in unit_prompts[1:])
    suffixes = sum(len(p) - prefix for p in unit_prompts)
    assert prefix > 1000  # system prompt, worked examples and instructions

    before = engine.stats.evaluated - engine.stats.generated
    results = list(translator.translate_document(document))
    prompt_work = (engine.stats.evaluated - engine.stats.generated) - before
    assert [r.source for r in results] == lines
    # Every prompt token evaluated once: the shared prefix once, each unit's own suffix once,
    # and per unit the thought's close (plus the last thought token, never decoded before).
    close = len(engine.tokenize(prompts.thought_close, special=False))
    assert prompt_work <= prefix + suffixes + len(lines) * (close + 2)
    assert prompt_work < 2 * prefix  # not once per unit (that would be 12 times)


def _common(a, b) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


# -- the real engine, demo model ------------------------------------------------------------

SLANG_MARGIN = 12
"""How many more slang sentences cot + glossary must get right than direct without glossary.
Measured on the demo model (Qwen2.5-Coder-0.5B Q4_K_M, greedy): 21 vs 2 of 25 (direct with the
glossary 17, cot without it 2); `python benchmarks/translate_speed.py slang` reproduces them.
The margin leaves room for small numeric differences between machines and thread counts."""


@pytest.mark.demo
def test_demo_slang_set_glossary_and_reasoning_beat_plain_direct(demo_model_path: Path) -> None:
    from slang_set import load_slang_set

    from marco_cli.engine.llama import LlamaEngine
    from marco_cli.glossary import build_glossary
    from marco_cli.languages import language
    from marco_cli.prompts import load_translate_prompts
    from marco_cli.translate import TranslateOptions, Translator, split_units

    cases = load_slang_set()
    assert len(cases) >= 15
    document = split_units("".join(case.sentence + "\n" for case in cases))
    prompts = load_translate_prompts()
    scores: dict[str, int] = {}
    report: list[str] = []
    with LlamaEngine(demo_model_path, n_ctx=8192) as engine:
        for name, strategy, glossary in [
            ("direct --no-glossary", "direct", None),
            ("cot + glossary", "cot", build_glossary("zh")),
        ]:
            options = TranslateOptions(src=language("zh"), tgt=language("en"), strategy=strategy)
            translator = Translator(engine, prompts, options, glossary)
            results = list(translator.translate_document(document))
            assert [r.source for r in results] == [c.sentence for c in cases]
            verdicts = [case.check(r.translation) for case, r in zip(cases, results, strict=True)]
            scores[name] = sum(ok for ok, _ in verdicts)
            report += [
                f"{name} {'PASS' if ok else 'fail'} {case.term}: {r.translation} [{why}]"
                for case, r, (ok, why) in zip(cases, results, verdicts, strict=True)
            ]
    print("\n".join(report))
    print(f"slang set: {scores} of {len(cases)}")
    plain, best = scores["direct --no-glossary"], scores["cot + glossary"]
    assert best >= plain + SLANG_MARGIN, f"{scores}\n" + "\n".join(report)
