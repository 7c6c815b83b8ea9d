"""The glossary step: longest match, scripts, layers, YAML files, the CC-CEDICT subset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marco_cli.errors import UsageError
from marco_cli.glossary import (
    Entry,
    Glossary,
    build_glossary,
    cedict_gloss,
    curated_glossary,
    load_cedict,
    load_glossary_file,
    parse_cedict,
)


def entries(source: str, **terms: str) -> dict[str, Entry]:
    return {term: Entry(term, meaning, source=source) for term, meaning in terms.items()}


def surfaces(glossary: Glossary, text: str) -> list[str]:
    return [m.surface for m in glossary.scan(text)]


# -- matching -------------------------------------------------------------------------------


def test_longest_match_wins_over_a_shorter_overlapping_term() -> None:
    g = Glossary(
        layers=[
            {
                "吃瓜": Entry("吃瓜", "to follow gossip"),
                "吃瓜群众": Entry("吃瓜群众", "onlookers"),
                "群众": Entry("群众", "the masses"),
            }
        ]
    )
    matches = g.scan("我就是个吃瓜群众啊")
    assert [(m.surface, m.start, m.end) for m in matches] == [("吃瓜群众", 4, 8)]
    assert matches[0].entry.meaning == "onlookers"


def test_leftmost_match_consumes_its_characters() -> None:
    g = Glossary(layers=[entries("user", 甲乙="x", 乙丙="y", 丙丁="z")])
    # 甲乙丙丁: 甲乙 is taken first, so 乙丙 cannot match; 丙丁 still does.
    assert surfaces(g, "甲乙丙丁") == ["甲乙", "丙丁"]
    assert surfaces(g, "乙丙丁") == ["乙丙"]


def test_every_occurrence_is_found_but_hints_are_unique() -> None:
    g = Glossary(layers=[{"买它": Entry("买它", "buy it!")}])
    assert surfaces(g, "买它，买它！") == ["买它", "买它"]
    assert [m.surface for m in g.hints("买它，买它！")] == ["买它"]


def test_hints_limit_keeps_the_strongest_layers() -> None:
    user = entries("user", 甲乙="u")
    cedict = entries("cedict", 丙丁="c1", 戊己="c2")
    g = Glossary(layers=[user, cedict])
    hints = g.hints("丙丁戊己甲乙", limit=2)
    assert [m.surface for m in hints] == ["丙丁", "甲乙"]  # user kept, order of the text kept


def test_traditional_and_simplified_forms_match_one_entry() -> None:
    char_map = {"踩": "踩", "鞋": "鞋", "雙": "双", "運": "运", "動": "动", "顏": "颜", "紅": "红"}
    g = Glossary(
        layers=[entries("curated", 颜值="good looks", 网红="influencer")],
        char_map={**char_map, "網": "网"},
    )
    assert surfaces(g, "這個顏值很高") == ["顏值"]  # the surface form is the text's own
    assert surfaces(g, "她是網紅") == ["網紅"]
    assert g.get("顏值").term == "颜值"


def test_variants_match() -> None:
    g = Glossary(layers=[{"YYDS": Entry("YYDS", "the best", variants=("永远的神",))}])
    assert surfaces(g, "真是永远的神") == ["永远的神"]


def test_ascii_terms_are_case_insensitive_whole_words() -> None:
    g = Glossary(layers=[entries("curated", YYDS="the best", emo="gloomy", 打call="to cheer")])
    assert surfaces(g, "火锅yyds！") == ["yyds"]
    assert surfaces(g, "今天有点EMO") == ["EMO"]
    assert surfaces(g, "this demo works, emotional") == []
    assert surfaces(g, "给他打call") == ["打call"]
    assert surfaces(g, "给他打caller") == []


def test_user_entries_win_over_curated_and_dictionary() -> None:
    user = entries("user", 躺平="to rest (our house style)")
    curated = entries("curated", 躺平="to opt out of the rat race", 内卷="rat race")
    cedict = entries("cedict", 躺平="to lie flat", 内卷="involution", 佛系="laid-back")
    g = Glossary(layers=[user, curated, cedict])
    assert g.get("躺平").meaning == "to rest (our house style)"
    assert g.get("内卷").source == "curated"
    assert g.get("佛系").source == "cedict"


def test_empty_glossary() -> None:
    g = Glossary()
    assert len(g) == 0 and g.scan("任何文字") == [] and g.hints("") == []


def test_entry_hint_line() -> None:
    assert Entry("板正", "crisp and neat").hint() == "板正: crisp and neat"
    assert Entry("板正", "crisp", translation="crisp").hint() == '板正: crisp; render as "crisp"'
    assert Entry("x", "soft (of soles)").hint() == "x: soft"


# -- YAML glossary files --------------------------------------------------------------------


def test_user_glossary_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "# my terms\n"
        "踩屎感: super cushioned\n"
        "板正:\n"
        "  meaning: crisp and neat\n"
        "  translation: crisp\n"
        "  variants: [闆正]\n"
        "只有译法:\n"
        "  translation: only a rendering\n",
        encoding="utf-8",
    )
    got = load_glossary_file(path)
    assert got["踩屎感"].meaning == "super cushioned" and got["踩屎感"].source == "user"
    assert got["踩屎感"].origin == f"{path}:2"
    assert got["板正"].translation == "crisp" and got["板正"].variants == ("闆正",)
    assert got["只有译法"].meaning == '"only a rendering"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: b\n  c: d\n", r"g\.yaml:2: not valid YAML"),
        ("- just\n- a list\n", r"g\.yaml:1: a glossary is a mapping"),
        ("ok: fine\nempty:\n", r"g\.yaml:2: the meaning of 'empty' must be text"),
        ("ok: fine\nbad: [[1, 2]]\n", r"g\.yaml:2: the meaning of 'bad' must be text"),
        ("ok: fine\nbad: []\n", r"g\.yaml:2: the meaning of 'bad' must be text"),
        ("x: 1\ny: 2\nx: 3\n", r"g\.yaml:3: term 'x' is defined twice \(first on line 1\)"),
        ("t:\n  meening: typo\n", r"g\.yaml:2: unknown field 'meening'"),
        ("t:\n  variants: [a]\n", r"g\.yaml:1: term 't' needs a meaning or a translation"),
        ("t: '  '\n", r"g\.yaml:1: the meaning of 't' is empty"),
    ],
)
def test_malformed_glossary_names_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        load_glossary_file(path)


def test_missing_and_non_utf8_glossary_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_glossary_file(tmp_path / "nope.yaml")
    bad = tmp_path / "gbk.yaml"
    bad.write_bytes(b"a: b\n" + "踩屎感: 软\n".encode("gbk"))
    with pytest.raises(UsageError, match=r"gbk\.yaml:2: not valid UTF-8"):
        load_glossary_file(bad)


def test_empty_glossary_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    assert load_glossary_file(path) == {}


def test_curated_glossary_is_valid_and_covers_the_papers_examples() -> None:
    curated = curated_glossary()
    assert len(curated) >= 60
    for term in (
        "踩屎感",
        "板正",
        "卷边",
        "心巴",
        "YYDS",
        "绝绝子",
        "破防",
        "躺平",
        "内卷",
        "打工人",
        "种草",
        "拔草",
        "凡尔赛",
        "摆烂",
        "上头",
        "真香",
        "社死",
        "给力",
        "吃瓜",
    ):
        assert term in curated, term
        assert curated[term].source == "curated" and curated[term].meaning


# -- CC-CEDICT ------------------------------------------------------------------------------


def test_cedict_gloss_rules() -> None:
    # slang-only word: its marked senses, labels removed
    assert cedict_gloss("社死", ["(neologism c. 2020) (slang) to die of embarrassment"]) == (
        "to die of embarrassment"
    )
    # idiom: the figurative part, the literal one dropped
    assert (
        cedict_gloss(
            "虎头蛇尾",
            ["lit. tiger's head, snake's tail (idiom); fig. a strong start but weak finish"],
        )
        == "a strong start but weak finish"
    )
    # everyday word with a newer slang sense: both, so the model can choose
    assert cedict_gloss("备胎", ["spare tire", "(slang) fallback guy (or girl)"]) == (
        "literally spare tire; as slang: fallback guy (or girl)"
    )
    # figurative sense of an everyday word: dropped (味道 "flavor" would become "feeling")
    assert cedict_gloss("味道", ["flavor; taste", "(fig.) feeling (of ...)"]) is None
    # two characters, only "(coll.)": dropped
    assert cedict_gloss("就算", ["(coll.) even if"]) is None
    # no label at all
    assert cedict_gloss("桌子", ["table", "desk"]) is None
    # sth / sb are spelled out, pinyin and traditional forms removed
    assert cedict_gloss(
        "破防",
        [
            "(video games) to break through defenses",
            "(by extension) (slang) to get to sb",
            "to make sb feel upset or moved",
        ],
    ) == (
        "literally to break through defenses; as slang: to get to someone; "
        "to make someone feel upset or moved"
    )


def test_parse_cedict_lines() -> None:
    lines = [
        "# comment\n",
        "社死 社死 [she4 si3] /(neologism c. 2020) (slang) to die of embarrassment/\n",
        "給力 给力 [gei3 li4] /cool/nifty/\n",
        "網紅 网红 [wang3 hong2] /(coll.) Internet celebrity/\n",
        "牛 牛 [niu2] /ox/(slang) awesome/\n",
        "88 88 [ba1 ba1] /(Internet slang) bye-bye/\n",
    ]
    rows, char_map = parse_cedict(lines)
    assert [row[0] for row in rows] == ["社死"]  # single characters and numbers are too noisy
    assert char_map["給"] == "给" and char_map["網"] == "网" and char_map["紅"] == "红"


def test_cedict_subset_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARCO_CACHE_DIR", str(tmp_path))
    load_cedict.cache_clear()
    try:
        first = load_cedict()
        cache = tmp_path / "cedict-slang.json"
        assert cache.is_file()
        data = json.loads(cache.read_text(encoding="utf-8"))
        assert data["rows"] and data["char_map"]
        load_cedict.cache_clear()
        second = load_cedict()
        assert second.entries.keys() == first.entries.keys()
        assert len(first.entries) > 3000
        assert first.entries["社死"].source == "cedict"
        assert first.char_map["網"] == "网"
    finally:
        load_cedict.cache_clear()


def test_build_glossary_for_chinese_and_other_languages(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("躺平: to take it easy (house style)\nbrb: be right back\n", encoding="utf-8")
    zh = build_glossary("zh", [mine])
    assert zh.get("躺平").source == "user"  # user wins over curated and CC-CEDICT
    assert zh.get("踩屎感").source == "curated"
    assert zh.get("杠精").source in ("curated", "cedict")
    assert zh.get("虎头蛇尾").source == "cedict"
    assert [m.surface for m in zh.scan("這雙鞋有踩屎感")] == ["踩屎感"]
    assert [m.surface for m in zh.scan("我们公司內捲太嚴重")] == ["內捲"]  # traditional
    en = build_glossary("en", [mine])
    assert en.get("踩屎感") is None and en.get("brb").source == "user"
    assert len(build_glossary("ja")) == 0
    assert len(build_glossary("zh", dictionary=False)) == 0


def test_later_glossary_file_wins(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("摸鱼: from a\n", encoding="utf-8")
    b.write_text("摸鱼: from b\n", encoding="utf-8")
    assert build_glossary("zh", [a, b]).get("摸鱼").meaning == "from b"


def test_slang_set_terms_found_in_their_sentences() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from slang_set import load_slang_set

    g = build_glossary("zh")
    missing = [c.term for c in load_slang_set() if not g.hints(c.sentence)]
    assert missing == []


def test_the_unlisted_slang_set_is_outside_every_glossary() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from slang_set import UNLISTED_TSV, load_slang_set

    g = build_glossary("zh")
    cases = load_slang_set(UNLISTED_TSV)
    assert len(cases) >= 15
    found = {c.term: [m.entry.term for m in g.hints(c.sentence, limit=50)] for c in cases}
    # no entry covers the slang term or a piece of it that would give its meaning away
    overlapping = {
        term: hits for term, hits in found.items() if any(h in term or term in h for h in hits)
    }
    assert overlapping == {}


def test_dictionary_words_for_leftover_repair() -> None:
    from marco_cli.glossary import dictionary_words, parse_cedict_words

    words = parse_cedict_words(
        [
            "# comment\n",
            "博主 博主 [bo2 zhu3] /blogger/\n",
            "李 李 [Li3] /surname Li/\n",
            "李 李 [li3] /plum/\n",
            "甲 甲 [jia3] /variant of 乙[yi3]/first/\n",
            "領口 领口 [ling3 kou3] /collar; neckline/\n",
        ]
    )
    assert words == {"博主": "blogger", "李": "plum", "甲": "first", "领口": "collar"}
    assert dictionary_words()["奶茶"] == "milk tea"


# -- separable expressions ------------------------------------------------------------------


def separable_glossary(**extra: str) -> Glossary:
    layer = entries("curated", **{"放…鸽子": "to stand someone up"}, **extra)
    return Glossary(layers=[layer], words=lambda: {"放下", "放心"})


@pytest.mark.parametrize(
    ("text", "surface"),
    [
        ("他又放我鸽子了", "放我鸽子"),
        ("放了他三次鸽子", "放了他三次鸽子"),
        ("别放鸽子", "放鸽子"),
        ("她放了Tom的鸽子", "放了Tom的鸽子"),
    ],
)
def test_separable_term_matches_with_a_filler_or_none(text: str, surface: str) -> None:
    (match,) = separable_glossary().scan(text)
    assert match.surface == surface and match.entry.term == "放…鸽子"
    assert match.hint() == f"{surface} (放…鸽子): to stand someone up"


@pytest.mark.parametrize(
    "text",
    [
        "我放了，鸽子飞走了",  # a comma between the parts: two clauses
        "我放了 鸽子飞走了",
        "放了他三次的那只鸽子",  # a filler longer than MAX_FILLER
        "放下书包看见鸽子",  # 放下 is a word of its own
        "放心吧鸽子",
        "鸽子放了",
    ],
)
def test_separable_term_makes_no_false_hit(text: str) -> None:
    assert separable_glossary().scan(text) == []


def test_longest_match_wins_between_separable_and_plain_terms() -> None:
    g = separable_glossary(**{"放了": "released", "放了他三次鸽子就走": "a longer plain term"})
    assert [m.entry.term for m in g.scan("放了他三次鸽子")] == ["放…鸽子"]
    assert [m.entry.term for m in g.scan("放了他三次鸽子就走")] == ["放了他三次鸽子就走"]
    assert [m.entry.term for m in g.scan("放了就好")] == ["放了"]
    # the same span written without a gap: the plain term wins the tie
    g = Glossary(layers=[entries("curated", **{"帮…忙": "to help", "帮倒忙": "to make it worse"})])
    assert [m.entry.term for m in g.scan("你这是帮倒忙")] == ["帮倒忙"]
    assert [m.entry.term for m in g.scan("你帮了我大忙")] == ["帮…忙"]


def test_three_dots_mark_a_filler_too() -> None:
    g = Glossary(layers=[entries("user", **{"吃...醋": "to be jealous"})])
    assert surfaces(g, "她又吃我前女友的醋了") == ["吃我前女友的醋"]


# The examples of issue 26, as a new user meets them: each must get its figurative meaning.
FIGURATIVE = [
    ("他又放我鸽子了", "放我鸽子", "stand someone up"),
    ("我放了他三次鸽子", "放了他三次鸽子", "stand someone up"),
    ("这波操作太秀了", "太秀了", "show-off"),
    ("我真的会谢", "会谢", "thanks for nothing"),
    ("今天又被老板怼了", "怼", "tell off"),
    ("蹭热点就是他的流量密码", "流量密码", "views"),
    ("她说话总是阴阳怪气的", "阴阳怪气", "passive-aggressive"),
    ("他的演技一直很在线", "在线", "at one's best"),
    ("她们俩就是塑料姐妹花", "塑料姐妹花", "fake friends"),
]


@pytest.mark.parametrize(("text", "surface", "meaning"), FIGURATIVE)
def test_shipped_glossary_gives_the_figurative_meaning(
    text: str, surface: str, meaning: str
) -> None:
    hints = build_glossary("zh").hints(text)
    assert any(m.surface == surface and meaning in m.hint() for m in hints), hints


def test_every_sense_in_the_hint_and_the_sense_the_reasoning_used() -> None:
    from marco_cli.glossary import parse_glossary_yaml, sense_used

    layer = parse_glossary_yaml("在线: [online, at one's best; reliably good]\n", "g.yaml")
    assert layer["在线"].senses == ("online", "at one's best; reliably good")
    assert layer["在线"].meaning == "online; at one's best; reliably good"
    (match,) = Glossary(layers=[layer]).scan("他的演技一直很在线")
    assert match.hint() == "在线: (1) online; (2) at one's best; reliably good"
    thought = "Colloquial expressions:\n- 在线 here means his acting is reliably good.\nDone."
    assert sense_used(match, thought) == "at one's best; reliably good"
    assert sense_used(match, "- 在线: he is online now") == "online"
    assert sense_used(match, "- 演技: acting") is None  # the term is not discussed
    assert sense_used(match, "") is None
    record = match.to_json(thought)
    assert record["senses"] == ["online", "at one's best; reliably good"]
    assert record["sense"] == "at one's best; reliably good" and record["entry"] == "在线"
