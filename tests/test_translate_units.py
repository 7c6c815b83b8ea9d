"""Units, languages, prompts and the translator's logic, with a scripted engine."""

from __future__ import annotations

import io
import json
import os
import time

import pytest
from translate_fake import TranslateFake

from marco_cli.errors import UsageError
from marco_cli.glossary import Entry, Glossary
from marco_cli.languages import detect_language, language, parse_language
from marco_cli.prompts import TranslatePrompts, load_translate_prompts
from marco_cli.translate import (
    JSON_FIELDS,
    TranslateOptions,
    Translator,
    clean_translation,
    decode_input,
    split_sentences,
    split_to_fit,
    split_units,
)
from marco_cli.translate.feed import LineFeed

# -- units and reassembly -------------------------------------------------------------------


def texts(document) -> list[str]:
    return [unit.text for unit in document.units]


def echo(document) -> str:
    """Reassemble with every unit "translated" to itself."""
    return document.render([unit.text for unit in document.units])


@pytest.mark.parametrize(
    "text",
    [
        "a\nb\nc\n",
        "a\nb\nc",
        "a\n\n\nb\n",
        "\n\na\n",
        "a\r\nb\r\n\r\nc\r\n",
        "a\r\nb",
        "only\n",
        "\n",
        "  \n\t\n",
        "first para\nstill first\n\nsecond\n\n\nthird",
    ],
)
@pytest.mark.parametrize("mode", ["lines", "paragraphs", "whole"])
def test_reassembly_is_lossless(text: str, mode: str) -> None:
    assert echo(split_units(text, mode)) == text


def test_lines_one_unit_per_line_with_blank_lines_kept() -> None:
    doc = split_units("你好\n\n再见\n", "lines")
    assert texts(doc) == ["你好", "", "再见"]
    assert [u.line for u in doc.units] == [1, 2, 3]
    assert [u.blank for u in doc.units] == [False, True, False]
    assert [u.text for u in doc.pending] == ["你好", "再见"]
    assert doc.render(["hello", "", "bye"]) == "hello\n\nbye\n"


def test_trailing_newline_or_not() -> None:
    with_nl = split_units("a\nb\n")
    without = split_units("a\nb")
    assert with_nl.final_newline and not without.final_newline
    assert with_nl.render(["x", "y"]) == "x\ny\n"
    assert without.render(["x", "y"]) == "x\ny"
    assert [without.ending(i) for i in range(2)] == ["\n", ""]


def test_crlf_is_detected_and_kept() -> None:
    doc = split_units("一\r\n二\r\n")
    assert texts(doc) == ["一", "二"]
    assert doc.newline == "\r\n"
    assert doc.render(["one", "two"]) == "one\r\ntwo\r\n"


def test_paragraphs() -> None:
    doc = split_units("第一行\n第二行\n\n第二段\n", "paragraphs")
    assert texts(doc) == ["第一行\n第二行", "", "第二段"]
    assert [u.line for u in doc.units] == [1, 3, 4]
    assert doc.render(["P1", "", "P2"]) == "P1\n\nP2\n"


def test_whole_keeps_surrounding_blank_lines() -> None:
    doc = split_units("\n一\n\n二\n\n", "whole")
    assert texts(doc) == ["", "一\n\n二", ""]
    assert len(doc.pending) == 1 and doc.pending[0].line == 2


def test_empty_input_has_no_units() -> None:
    assert split_units("").units == ()
    assert split_units("\ufeff").units == ()


def test_bom_is_dropped() -> None:
    assert texts(split_units("\ufeff你好\n")) == ["你好"]


def test_unknown_mode() -> None:
    with pytest.raises(UsageError, match="unit mode"):
        split_units("a", "sentences")


def test_invalid_utf8_names_the_line() -> None:
    data = "第一行\n第二行\n".encode() + b"bad \xff byte\n"
    with pytest.raises(
        UsageError, match=r"stdin: line 3 is not valid UTF-8 \(byte 0xff at column 5\)"
    ):
        decode_input(data)
    assert decode_input(b"ok\n") == "ok\n"
    assert decode_input(b"\xef\xbb\xbfok") == "ok"


def test_sentence_splitting() -> None:
    assert split_sentences("你好。今天怎么样？很好！") == ["你好。", "今天怎么样？", "很好！"]
    assert split_sentences("One. Two? Three") == ["One.", "Two?", "Three"]


def test_split_to_fit_packs_sentences() -> None:
    text = "一二三。四五六。七八九。十。"
    pieces = split_to_fit(text, lambda piece: len(piece) <= 8)
    assert pieces == ["一二三。四五六。", "七八九。十。"]
    assert "".join(pieces) == text


def test_split_to_fit_cuts_an_overlong_sentence() -> None:
    text = "一二三四五六七八九十一二三四五六七八九十。"
    pieces = split_to_fit(text, lambda piece: len(piece) <= 6)
    assert all(len(p) <= 6 for p in pieces)
    assert "".join(pieces) == text


# -- output cleaning ------------------------------------------------------------------------


def test_clean_translation() -> None:
    assert clean_translation("  Hello\nworld </Output>", "x", single_line=True) == "Hello world"
    assert clean_translation('"Quoted"', "你好", single_line=True) == "Quoted"
    assert clean_translation('"Quoted"', "“你好”", single_line=True) == '"Quoted"'
    assert clean_translation("Translation: Hi", "x", single_line=True) == "Hi"
    assert clean_translation("A\n\n\nB", "x", single_line=False) == "A\nB"


# -- languages ------------------------------------------------------------------------------


def test_language_codes() -> None:
    assert parse_language("zh", "--src") == language("zh")
    assert language("zh").name == "Chinese"
    assert parse_language("EN", "--tgt").code == "en"
    assert parse_language("zh_TW", "--src").name == "Traditional Chinese"
    assert parse_language("zh-tw", "--src").base == "zh"
    assert parse_language("auto", "--src", allow_auto=True) is None


def test_language_table_is_shipped_data() -> None:
    from marco_cli.languages import LANGUAGES

    assert len(LANGUAGES) == 183  # every ISO 639-1 code
    assert LANGUAGES["zh"] == "Chinese" and LANGUAGES["ht"] == "Haitian Creole"
    assert all(len(code) == 2 and name.strip() == name for code, name in LANGUAGES.items())


@pytest.mark.parametrize(
    ("value", "flag", "message"),
    [
        ("xx", "--src", r"--src 'xx' is not an ISO 639-1 language code"),
        ("zz", "--tgt", r"--tgt 'zz' is not an ISO 639-1"),
        ("chinese", "--src", r"use the ISO 639-1 code 'zh'"),
        ("", "--tgt", r"--tgt is empty"),
        ("auto", "--tgt", r"--tgt cannot be auto"),
        ("eng", "--tgt", r"use the ISO 639-1 code .en. \(English\)"),
        ("jp", "--src", r"use the ISO 639-1 code .ja."),
        ("englsh", "--tgt", r"did you mean en \(English\)"),
        ("zh-", "--src", r"not an ISO 639-1"),
    ],
)
def test_language_errors_name_the_flag(value: str, flag: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_language(value, flag)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("这个鞋拥有踩屎感，很舒服", "zh"),
        ("這雙鞋很好看", "zh"),
        ("この靴はとても快適です", "ja"),
        ("이 신발은 정말 편해요", "ko"),
        ("Эти туфли очень удобные", "ru"),
        ("These shoes are very comfortable and the price is fair", "en"),
        ("Ces chaussures sont très confortables et le prix est bon", "fr"),
        ("Diese Schuhe sind nicht teuer und sehr bequem", "de"),
        ("Estos zapatos son muy cómodos y el precio es bueno", "es"),
        ("รองเท้าคู่นี้ใส่สบายมาก", "th"),
    ],
)
def test_detect_language(text: str, code: str) -> None:
    assert detect_language(text).code == code


def test_detect_language_without_letters() -> None:
    assert detect_language("12345 !!! 😀") is None


# -- the translator with a scripted engine --------------------------------------------------


@pytest.fixture()
def prompts() -> TranslatePrompts:
    return load_translate_prompts()


def options(**kwargs) -> TranslateOptions:
    values = {"src": language("zh"), "tgt": language("en"), "strategy": "cot"}
    values.update(kwargs)
    return TranslateOptions(**values)


def slang_glossary() -> Glossary:
    entries = {
        "踩屎感": Entry("踩屎感", "very soft and cushioned", source="curated"),
        "吃瓜": Entry("吃瓜", "to watch drama from the sidelines", source="cedict"),
    }
    return Glossary(layers=[entries])


def test_translate_units_in_order_with_blank_lines(prompts: TranslatePrompts) -> None:
    engine = TranslateFake({"一": "one", "二": "two", "三": "three"})
    doc = split_units("一\n\n二\n三\n")
    results = list(Translator(engine, prompts, options(batch_size=2)).translate_document(doc))
    assert [r.translation for r in results] == ["one", "", "two", "three"]
    assert [r.line for r in results] == [1, 2, 3, 4]
    assert doc.render([r.translation for r in results]) == "one\n\ntwo\nthree\n"
    # cot: two engine calls (thought, then translation) per batch of two units
    assert engine.stats.batch_sizes == [2, 2, 1, 1]


def test_cot_prompt_layout_and_reasoning(prompts: TranslatePrompts) -> None:
    engine = TranslateFake({"鞋子有踩屎感": "The shoes feel soft"}, thought=" = soft.")
    translator = Translator(engine, prompts, options(), slang_glossary())
    result = translator.translate("鞋子有踩屎感")
    assert result.ok and result.translation == "The shoes feel soft"
    assert result.reasoning == "Colloquial expressions:\n- 踩屎感 = soft."
    assert [m.surface for m in result.terms] == ["踩屎感"]
    first = engine.prompts[0]
    # fixed instructions first, then the glossary block, the unit last
    assert (
        first.index("Translate the Chinese text below into English")
        < first.index("- 踩屎感: very soft and cushioned")
        < first.rindex("Text:\n鞋子有踩屎感")
    )
    # the thought's list is opened with the first glossary term
    assert first.endswith("<|im_start|>assistant\n<Thought>\nColloquial expressions:\n- 踩屎感")
    second = engine.prompts[1]
    assert second.endswith("- 踩屎感 = soft.\n</Thought>\n<Output>\n")
    assert 0 < result.confidence <= 1


def test_direct_strategy_has_no_thought(prompts: TranslatePrompts) -> None:
    engine = TranslateFake({"你好": "Hello"})
    result = Translator(engine, prompts, options(strategy="direct")).translate("你好")
    assert result.translation == "Hello" and result.reasoning == ""
    assert len(engine.prompts) == 1 and engine.prompts[0].endswith("<Output>\n")
    assert "<Thought>" not in engine.prompts[0].split("Text:\n你好")[0].rsplit("user", 1)[-1]


def test_examples_only_for_their_language_pair(prompts: TranslatePrompts) -> None:
    zh_en = Translator(TranslateFake(), prompts, options())
    en_zh = Translator(TranslateFake(), prompts, options(src=language("en"), tgt=language("zh")))
    assert "双十一" in zh_en.engine.detokenize(zh_en.prompter.prompt_tokens("x"))
    text = en_zh.engine.detokenize(en_zh.prompter.prompt_tokens("x"))
    assert "双十一" not in text and "Translate the English text below into Chinese" in text


def test_unknown_source_language_is_named_generically(prompts: TranslatePrompts) -> None:
    t = Translator(TranslateFake(), prompts, options(src=None))
    assert "Translate the source text below into English" in t.engine.detokenize(
        t.prompter.prompt_tokens("x")
    )


def test_fixed_prefix_is_shared_across_units(prompts: TranslatePrompts) -> None:
    engine = TranslateFake()
    t = Translator(engine, prompts, options(), slang_glossary())
    a, b = (
        t.prompter.prompt_tokens("你好"),
        t.prompter.prompt_tokens("我是吃瓜群众", t.find_terms("我是吃瓜群众")),
    )
    common = next(i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)
    head = engine.detokenize(a[:common])
    assert (
        head.endswith("Translate the Chinese text below into English.\n") or "In <Output>" in head
    )


def test_failed_unit_is_reported_and_keeps_its_place(prompts: TranslatePrompts) -> None:
    engine = TranslateFake({"一": "one", "三": "three"}, fail=["二"])
    doc = split_units("一\n二\n三\n")
    results = list(Translator(engine, prompts, options(batch_size=8)).translate_document(doc))
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].translation == "" and "scripted failure" in results[1].error
    assert [r.translation for r in results] == ["one", "", "three"]


def test_empty_model_output_is_a_failure(prompts: TranslatePrompts) -> None:
    engine = TranslateFake(default="")
    result = Translator(engine, prompts, options(strategy="direct")).translate("你好")
    assert not result.ok and result.error == "the model produced no translation"


def test_interrupt_propagates_after_earlier_batches(prompts: TranslatePrompts) -> None:
    engine = TranslateFake(interrupt=["三"])
    doc = split_units("一\n二\n三\n四\n")
    got = []
    with pytest.raises(KeyboardInterrupt):
        for result in Translator(engine, prompts, options(batch_size=2)).translate_document(doc):
            got.append(result.source)
    assert got == ["一", "二"]


def test_unit_too_long_fails_alone(prompts: TranslatePrompts) -> None:
    engine = TranslateFake(n_ctx=3000, default="Short.")
    doc = split_units("短\n" + "很长的句子。" * 200 + "\n短\n")
    results = list(Translator(engine, prompts, options(strategy="direct")).translate_document(doc))
    assert [(r.line, r.ok, r.translation) for r in results] == [
        (1, True, "Short."),
        (2, False, ""),
        (3, True, "Short."),
    ]
    assert "context holds 3000 (--ctx)" in results[1].error and "--split-long" in results[1].error


def test_split_long_translates_pieces_as_one_unit(prompts: TranslatePrompts) -> None:
    engine = TranslateFake(n_ctx=3000, default="Piece.")
    doc = split_units("短\n" + "很长的句子。" * 200 + "\n")
    t = Translator(engine, prompts, options(strategy="direct", split_long=True))
    results = list(t.translate_document(doc))
    assert len(results) == 2
    assert results[1].pieces > 1 and results[1].ok
    assert results[1].translation == " ".join(["Piece."] * results[1].pieces)
    assert "\n" not in results[1].translation


def test_jsonl_schema(prompts: TranslatePrompts) -> None:
    engine = TranslateFake({"我是吃瓜群众": "I'm just watching from the sidelines"})
    doc = split_units("我是吃瓜群众\n\n")
    t = Translator(engine, prompts, options(), slang_glossary())
    records = [
        json.loads(json.dumps(r.to_json(), ensure_ascii=False)) for r in t.translate_document(doc)
    ]
    assert [list(r) for r in records] == [list(JSON_FIELDS)] * 2
    first = records[0]
    assert first["source"] == "我是吃瓜群众"
    assert first["translation"] == "I'm just watching from the sidelines"
    assert first["ok"] is True and first["error"] is None
    (term,) = first["terms"]
    assert term == {
        "term": "吃瓜",
        "entry": "吃瓜",
        "meaning": "to watch drama from the sidelines",
        "senses": ["to watch drama from the sidelines"],
        "sense": term["sense"],  # what the fake's reasoning says, if it names the term
        "translation": None,
        "source": "cedict",
    }
    assert first["reasoning"] and 0 < first["confidence"] <= 1
    assert first["model"] == "fake-translator" and first["strategy"] == "cot"
    assert (first["src"], first["tgt"]) == ("zh", "en")
    assert set(first["timings"]) == {
        "seconds",
        "prompt_tokens",
        "prompt_evaluated",
        "generated_tokens",
        "tokens_per_second",
    }
    assert first["timings"]["generated_tokens"] > 0
    assert records[1]["source"] == "" and records[1]["translation"] == ""


def test_bad_strategy(prompts: TranslatePrompts) -> None:
    with pytest.raises(UsageError, match="unknown --strategy 'fast'"):
        Translator(TranslateFake(), prompts, options(strategy="fast"))


def test_paragraph_mode_allows_multiline_translations(prompts: TranslatePrompts) -> None:
    engine = TranslateFake({"第一行\n第二行": "Line one\n\nline two"})
    doc = split_units("第一行\n第二行\n", "paragraphs")
    results = list(Translator(engine, prompts, options(mode="paragraphs")).translate_document(doc))
    assert results[0].translation == "Line one\nline two"


def test_chinese_left_in_the_translation_is_repaired(prompts: TranslatePrompts) -> None:
    engine = TranslateFake(
        {"博主推荐这款喵喵膏": "The博主 recommends this 喵喵膏.", "喵喵膏": "Meow balm"}
    )
    result = Translator(engine, prompts, options(strategy="direct")).translate("博主推荐这款喵喵膏")
    # 博主 is one CC-CEDICT word; 喵喵膏 is not, so the model translates it on its own
    assert result.translation == "The blogger recommends this meow balm."
    repair = engine.prompts[1:]
    assert len(repair) == 1 and 'Translate the Chinese word "喵喵膏" into English' in repair[0]


def test_no_repair_into_chinese(prompts: TranslatePrompts) -> None:
    engine = TranslateFake({"Hello": "你好"})
    t = Translator(
        engine, prompts, options(src=language("en"), tgt=language("zh"), strategy="direct")
    )
    assert t.translate("Hello").translation == "你好" and len(engine.prompts) == 1


def test_mcts_strategy_uses_the_search(prompts: TranslatePrompts) -> None:
    from marco_cli.search import SearchConfig

    engine = TranslateFake({"鞋子有踩屎感": "The shoes feel super soft"})
    search = SearchConfig(iterations=2, branch=2, early_stop=0, reflect=False, seed=1)
    t = Translator(engine, prompts, options(strategy="mcts", search=search), slang_glossary())
    events: list = []
    result = t.translate_document(split_units("鞋子有踩屎感\n"), on_event=events.append)
    (result,) = list(result)
    assert result.ok and result.translation == "The shoes feel super soft"
    assert result.strategy == "mcts" and result.confidence == pytest.approx(0.8)
    assert events and events[-1].kind == "done"
    assert result.generated_tokens > 0


# -- the line feed of a stream ---------------------------------------------------------------


def feed_chunks(data: bytes, size: int = 8) -> tuple[list[list[str]], str]:
    """The feed's chunks of `data` (as unit texts) and the output it renders for them."""
    feed = LineFeed(io.BytesIO(data), chunk_size=size)
    chunks = list(feed.chunks())
    units = [unit for chunk in chunks for unit in chunk]
    assert [u.index for u in units] == list(range(len(units)))
    assert [u.line for u in units] == [u.index + 1 for u in units]
    return [[u.text for u in chunk] for chunk in chunks], "".join(
        feed.render_unit(u.index, u.text.upper()) for u in units
    )


def test_feed_keeps_each_line_end_and_cuts_chunks() -> None:
    chunks, out = feed_chunks("\ufeffa\r\nb\n\nc\rd\ne".encode(), size=2)
    assert chunks == [["a", "b"], ["", "c\rd"], ["e"]]  # a lone CR is text, not a line end
    assert out == "A\r\nB\n\nC\rD\nE"  # no line end after a last line that had none
    assert feed_chunks(b"") == ([], "")
    assert feed_chunks("x\n\ufeffy\n".encode())[0] == [["x", "\ufeffy"]]  # BOM only at the start


def test_feed_names_the_line_that_is_not_utf8() -> None:
    feed = LineFeed(io.BytesIO("好\n".encode() * 9 + "坏".encode("gbk") + b"\n"), chunk_size=4)
    chunks = feed.chunks()
    assert len(next(chunks)) == 4 and len(next(chunks)) == 4
    with pytest.raises(UsageError, match=r"stdin: line 10 is not valid UTF-8"):
        next(chunks)


def test_feed_hands_on_a_line_without_waiting_for_a_full_batch() -> None:
    read_end, write_end = os.pipe()
    with open(read_end, "rb", buffering=0) as reader, open(write_end, "wb", buffering=0) as writer:
        feed = LineFeed(reader, chunk_size=8, wait=0.05)
        chunks = feed.chunks()
        writer.write("一\n二\n三".encode())
        started = time.monotonic()
        assert [u.text for u in next(chunks)] == ["一", "二"]  # the open pipe has no more yet
        assert time.monotonic() - started < 5
        writer.write("行\n".encode())
        assert [u.text for u in next(chunks)] == ["三行"]
        writer.close()
        assert next(chunks, None) is None
