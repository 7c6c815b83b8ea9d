import pytest

from marco_cli.response import parse_response


@pytest.mark.parametrize(
    ("text", "thought", "answer", "closed"),
    [
        (
            "<Thought>\nadd 48 and 24\n</Thought>\n<Output>\n72\n</Output>",
            "add 48 and 24",
            "72",
            True,
        ),
        # The forced prefix is part of the text; the model skipped </Thought>.
        ("<Thought>\nhalf of 48 is 24\n<Output>72</Output>", "half of 48 is 24", "72", True),
        # Budget hit inside the answer: what exists is returned, marked not closed.
        ("<Thought>\nstep\n</Thought>\n<Output>\nThe total is 7", "step", "The total is 7", False),
        # Budget hit inside the thought: no answer yet.
        ("<Thought>\nstill thinking", "still thinking", "", False),
        # Closed thought without an <Output> tag: the rest is the answer.
        ("<Thought>a</Thought> 72", "a", "72", False),
        # No tags at all: a plain answer.
        ("72 clips", "", "72 clips", False),
        # Text after </Output> (e.g. the model kept going) is dropped.
        ("<Thought>x</Thought><Output>5</Output>\nmore", "x", "5", True),
    ],
)
def test_parse_response(text: str, thought: str, answer: str, closed: bool) -> None:
    parsed = parse_response(text)
    assert (parsed.thought, parsed.answer, parsed.closed) == (thought, answer, closed)
