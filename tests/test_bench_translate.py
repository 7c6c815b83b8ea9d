"""The translate suite: the set format, keyword checks, and a run through the real Translator
on a scripted engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from marco_cli.bench.translate_suite import (
    glossary_pairs_table,
    keyword_check,
    read_translation_set,
    run_translate_suite,
    terms_found,
    translate_table,
)
from marco_cli.errors import UsageError


def test_read_translation_set(tmp_path: Path) -> None:
    path = tmp_path / "set.tsv"
    path.write_text(
        "# a comment\n"
        "source\treferences\tmust\tmust-not\n"
        "这个鞋拥有踩屎感\tThe shoes feel soft.|These shoes are cushioned."
        "\tsoft|cushion\tpoop|shit\n"
        "\n"
        "太好看了\tSo pretty!\n",
        encoding="utf-8",
    )
    items = read_translation_set(path)
    assert [i.id for i in items] == ["1", "2"]
    assert items[0].references == ("The shoes feel soft.", "These shoes are cushioned.")
    assert items[0].must == ("soft", "cushion") and items[0].must_not == ("poop", "shit")
    assert items[1].has_checks is False


def test_translation_set_errors(tmp_path: Path) -> None:
    path = tmp_path / "set.tsv"
    path.write_text("only a source\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"set\.tsv:1: expected source<TAB>reference"):
        read_translation_set(path)


@pytest.mark.parametrize(
    ("text", "must", "must_not", "passed"),
    [
        ("These shoes are super soft.", ["soft", "cushion"], ["poop"], True),
        ("Feels like stepping on poop.", ["soft"], ["poop"], False),
        ("Very cushioned soles", ["cushion"], [], True),  # a keyword may start a longer word
        ("Nice shoes.", ["soft"], [], False),
        ("It's so cheap", ["it's so"], [], True),
        ("It\u2019s so cheap", ["it's so"], [], True),  # typographic apostrophe
        ("a softball", ["soft"], [], True),
        ("shiitake", [], ["shit"], True),
        ("microsoft", ["soft"], [], False),  # a keyword starts at a word boundary
        ("He stood me up again", ["st(an|oo)d (me|him) up"], ["pigeon"], True),  # expressions
        ("He let the pigeons go", ["st(an|oo)d (me|him) up"], ["pigeon"], False),
        ("", [], [], True),
    ],
)
def test_keyword_check(text: str, must: list, must_not: list, passed: bool) -> None:
    assert keyword_check(text, must, must_not)[0] is passed


def test_run_on_a_scripted_engine(tmp_path: Path) -> None:
    from fake_engine import FakeEngine

    from marco_cli.languages import language
    from marco_cli.prompts import load_translate_prompts

    path = tmp_path / "set.tsv"
    path.write_text(
        "这个鞋拥有踩屎感\tThe shoes feel soft.\tsoft\tpoop\n太好看了\tSo pretty!\n",
        encoding="utf-8",
    )
    engine = FakeEngine("", [], fallback="The shoes feel soft.\n</Output>")
    results = run_translate_suite(
        engine,
        read_translation_set(path),
        load_translate_prompts(),
        src=language("zh"),
        tgt=language("en"),
        strategies=["direct"],
        glossary_modes=(False,),
        max_tokens=64,
    )
    (r,) = results
    assert [i["translation"] for i in r.items] == ["The shoes feel soft.", "The shoes feel soft."]
    assert r.items[0]["chrf"] == pytest.approx(100.0)
    assert (r.keyword_passed, r.keyword_total, r.errors) == (1, 1, 0)
    assert 0 < r.chrf < 100
    table = translate_table(results)
    assert table.rows[0][:3] == ["direct", "off", "2"] and table.rows[0][5] == "1/1 (100%)"
    signature = "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no"
    assert r.to_json()["chrf_signature"] == signature
    assert f"chrF2 signature (sacrebleu's): {signature}" in table.notes


def test_translate_suite_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fake_engine import FakeEngine

    import marco_cli.cli.session as session
    from marco_cli.cli import main

    path = tmp_path / "set.tsv"
    path.write_text("这个鞋拥有踩屎感\tThe shoes feel soft.\tsoft\tpoop\n", encoding="utf-8")
    engine = FakeEngine("", [], fallback="The shoes feel soft.\n</Output>")
    monkeypatch.setattr(session, "open_engine", lambda settings: engine)
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "bench",
                "--suite",
                "translate",
                "-d",
                str(path),
                "-s",
                "direct",
                "--no-glossary",
                "--report",
                str(tmp_path / "t.md"),
            ]
        )
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    assert "| direct | off | 1 | 100.0 | 100.0 | 1/1 (100%) | – | 0 |" in out
    report = (tmp_path / "t.md").read_text(encoding="utf-8")
    assert "| direct | off | 1 |" in report
    signature = "chrF2 signature (sacrebleu's): nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no"
    assert signature in out and signature in report
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--suite", "translate"])
    assert exc.value.code == 2 and "needs one --dataset" in " ".join(
        capsys.readouterr().err.split()
    )


def test_kill_stops_the_translate_suite_keeping_the_lines_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGTERM (`kill PID`) is Ctrl-C for every suite: exit 130, the lines done kept in --out
    and a resume hint, as for the math suite."""
    import os
    import signal

    from fake_engine import FakeEngine

    import marco_cli.cli.session as session
    from marco_cli.cli import main

    class KilledOnItsSecondBatch(FakeEngine):
        def generate_batch(self, requests, on_text=None):
            if len(self.calls) == 1:
                os.kill(os.getpid(), signal.SIGTERM)
            return super().generate_batch(requests, on_text)

    path = tmp_path / "set.tsv"
    path.write_text("这个鞋拥有踩屎感\tsoft shoes\n太好看了\tso pretty\n", encoding="utf-8")
    engine = KilledOnItsSecondBatch("", [], fallback="Soft.\n</Output>")
    monkeypatch.setattr(session, "open_engine", lambda settings: engine)
    out = tmp_path / "out.jsonl"
    args = ["bench", "--suite", "translate", "-d", str(path), "-s", "direct,cot"]
    with pytest.raises(SystemExit) as exc:
        main([*args, "--no-glossary", "-o", str(out)])
    err = " ".join(capsys.readouterr().err.split())
    assert exc.value.code == 130, err
    assert f"the lines done are safe in {out}" in err and "--resume" in err
    # direct's two lines came in the first batch; cot's batch was cut.
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2 and engine.closed


def test_set_with_terms_and_no_reference(tmp_path: Path) -> None:
    path = tmp_path / "set.tsv"
    path.write_text(
        "source\treference\tmust\tmust-not\tterms\n"
        "他又放我鸽子了\t\tst(oo|an)d (me|him) up|bail(ed)? on\tpigeon\t放…鸽子\n",
        encoding="utf-8",
    )
    (item,) = read_translation_set(path)
    assert item.references == () and item.terms == ("放…鸽子",)
    assert item.must == ("st(oo|an)d (me|him) up", "bail(ed)? on")
    path.write_text("好\t\t(unclosed\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"set\.tsv:1: keyword '\(unclosed' is not a regular"):
        read_translation_set(path)


def test_terms_found_covers_separable_terms() -> None:
    from marco_cli.glossary import Entry, Glossary

    g = Glossary(layers=[{"放…鸽子": Entry("放…鸽子", "to stand someone up")}])
    assert terms_found(g, "他又放我鸽子了，真气人", ["放…鸽子", "气人"]) == [True, False]
    assert terms_found(g, "我放了，鸽子飞走了", ["放…鸽子"]) == [False]
    assert terms_found(None, "放鸽子", ["放…鸽子"]) == [False]


def test_results_store_resumes_and_pairs_are_compared(tmp_path: Path) -> None:
    from fake_engine import FakeEngine

    from marco_cli.bench import ResultStore
    from marco_cli.languages import language
    from marco_cli.prompts import load_translate_prompts

    path = tmp_path / "set.tsv"
    path.write_text(
        "他又放我鸽子了\t\tstood me up\tpigeon\t放…鸽子\n这个鞋有踩屎感\t\tsoft\tpoop\t踩屎感\n",
        encoding="utf-8",
    )
    items = read_translation_set(path)
    kwargs = {
        "src": language("zh"),
        "tgt": language("en"),
        "strategies": ["direct"],
        "max_tokens": 64,
        "dataset": "set.tsv",
        "stamp": {"model": "fake"},
    }
    out = tmp_path / "results.jsonl"
    engine = FakeEngine("", [], fallback="He stood me up again.\n</Output>")
    with ResultStore(out) as store:  # only the first line: a run stopped half-way
        run_translate_suite(engine, items[:1], load_translate_prompts(), store=store, **kwargs)
    with ResultStore(out, resume=True) as store:
        results = run_translate_suite(
            engine, items, load_translate_prompts(), store=store, **kwargs
        )
    assert len(engine.calls) == 4  # each line once per glossary mode
    off, on = results
    assert [i["strategy"] for i in off.items] == ["direct", "direct"]
    assert [i["strategy"] for i in on.items] == ["direct+glossary", "direct+glossary"]
    assert (on.terms_found, on.terms_total) == (2, 2) and off.terms_total == 0
    assert (off.keyword_passed, on.keyword_passed) == (1, 1) and on.items[0]["model"] == "fake"
    assert on.items[0]["terms"][0]["entry"] == "放…鸽子"
    assert translate_table(results).rows[1][6] == "2/2 (100%)"
    pairs = glossary_pairs_table(results)
    assert pairs is not None and pairs.rows == [["direct", "2", "1", "1", "0", "0", "1"]]
    assert glossary_pairs_table(results[:1]) is None
