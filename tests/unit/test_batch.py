import io
import json
from pathlib import Path

import pytest

from calmline.analysis.base import Turn
from calmline.batch import EMOTION_NAMES, BatchInputError, CallWindows, run_batch


def _run(lines: list[str], **kw: object) -> tuple[list[dict[str, object]], object]:
    out = io.StringIO()
    report = run_batch(io.StringIO("\n".join(lines) + "\n"), out, progress=False, **kw)  # type: ignore[arg-type]
    return [json.loads(line) for line in out.getvalue().splitlines()], report


def _j(**kw: object) -> str:
    return json.dumps(kw)


def test_one_output_line_per_input_line_in_order_with_all_fields() -> None:
    lines = [_j(id=f"u{i}", text=t) for i, t in enumerate(["hello", "I want to die", "my husband hits me"])]
    results, report = _run(lines)
    assert [r["id"] for r in results] == ["u0", "u1", "u2"]
    for r in results:
        assert set(r) == {"id", "findings", "emotions", "distress", "guardrails", "empathy"}
        assert list(r["emotions"]) == list(EMOTION_NAMES)  # type: ignore[arg-type]
        assert 0.0 <= r["distress"] <= 1.0  # type: ignore[operator]
    assert results[0]["findings"] == []
    (finding,) = results[1]["findings"]  # type: ignore[misc]
    assert finding["type"] == "suicide_risk" and finding["assertion"] == "present"
    assert {"type", "level", "score", "evidence", "assertion", "experiencer", "analyzer"} <= set(finding)
    assert report.lines == 3 and report.bad == 0  # type: ignore[attr-defined]
    assert report.lines_per_second > 0  # type: ignore[attr-defined]


def test_agent_lines_have_guardrails_and_no_emotions() -> None:
    results, _ = _run([_j(id=1, text="don't worry, you'll be fine", speaker="agent")])
    (r,) = results
    assert r["id"] == 1
    assert r["emotions"] == {} and r["distress"] == 0.0 and r["findings"] == []
    assert [g["level"] for g in r["guardrails"]] == ["false_reassurance"]  # type: ignore[index, union-attr]


def test_lines_sharing_a_call_id_see_the_call_history() -> None:
    lines = [
        _j(id="a", call_id="c1", text="I want to die"),
        _j(id="x", call_id="c2", text="I have the pills right here"),
        _j(id="b", call_id="c1", speaker="agent", text="are you safe?"),
        _j(id="c", call_id="c1", text="I have the pills right here"),
        _j(id="d", text="I have the pills right here"),
    ]
    results = {r["id"]: r for r in _run(lines)[0]}
    # Without the history the means alone is at most the learned head's "ask directly" flag (uncertain, low).
    for alone in ("x", "d"):  # another call, and no call id: no history
        assert all(
            f["assertion"] == "uncertain" and f["tier"] == "low"
            for f in results[alone]["findings"]  # type: ignore[union-attr]
        )
    (combined,) = results["c"]["findings"]  # type: ignore[misc]
    assert combined["type"] == "suicide_risk" and combined["tier"] == "high"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (_j(text="secret words"), "missing field 'id'"),
        (_j(id="a"), "missing field 'text'"),
        (_j(id="a", text=5), "'text' must be a string"),
        (_j(id=True, text="secret words"), "'id' must be a string or an integer"),
        (_j(id="a", text="secret words", speaker="nurse"), "'speaker' must be one of"),
        (_j(id="a", text="secret words", seq="3"), "'seq' must be an integer"),
        (_j(id="a", text="secret words", call_id=[1]), "'call_id' must be"),
    ],
)
def test_malformed_line_raises_with_line_number_and_problem_without_text(line: str, problem: str) -> None:
    with pytest.raises(BatchInputError) as err:
        _run([_j(id="ok", text="hello"), line])
    assert err.value.line_no == 2
    assert str(err.value).startswith("line 2: ")
    assert problem in str(err.value)
    assert "secret" not in str(err.value)


def test_skip_bad_counts_and_writes_nothing_for_bad_lines() -> None:
    results, report = _run(
        [_j(id="a", text="hi"), "{oops", _j(id="b"), "", _j(id="c", text="bye")], skip_bad=True
    )
    assert [r["id"] for r in results] == ["a", "c"]
    assert (report.lines, report.bad) == (2, 2)  # type: ignore[attr-defined]


def test_paths_work_for_input_and_output(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    dst = tmp_path / "out.jsonl"
    src.write_text(_j(id="a", text="hello") + "\n", encoding="utf-8")
    report = run_batch(src, dst, progress=False)
    assert report.lines == 1
    assert json.loads(dst.read_text(encoding="utf-8"))["id"] == "a"
    assert report.as_dict()["lines"] == 1


def test_call_windows_are_bounded() -> None:
    windows = CallWindows(max_calls=3, window=2)
    for call in range(10):
        for seq in range(1, 6):
            windows.add(f"c{call}", Turn(seq, "caller", "x"))
    assert len(windows) == 3
    turns, next_seq = windows.history("c9")
    assert [t.seq for t in turns] == [4, 5] and next_seq == 6
    assert windows.history("c0") == ((), 1)  # evicted


def test_many_lines_stream_with_constant_state() -> None:
    lines = (_j(id=i, call_id=f"c{i % 50}", text="hello there") for i in range(2000))
    out = io.StringIO()
    report = run_batch(io.StringIO("\n".join(lines)), out, progress=False)
    assert report.lines == 2000
    assert len(out.getvalue().splitlines()) == 2000


def test_agent_lines_carry_empathy_levels_read_against_the_callers_line() -> None:
    from calmline.analysis.base import AnalyzerRegistry
    from calmline.analysis.empathy import EmpathyAnalyzer

    lines = [
        _j(id="c", text="since my wife died I can't sleep", call_id="k", speaker="caller"),
        _j(id="a", text="I'm so sorry. What goes through your mind at night?", call_id="k", speaker="agent"),
    ]
    (caller, agent), _ = _run(lines, registry=AnalyzerRegistry([EmpathyAnalyzer()]))
    assert caller["empathy"] == {} and caller["findings"] == []
    empathy = agent["empathy"]
    assert {k: empathy[k] for k in ("emotional_reaction", "interpretation", "exploration")} == {  # type: ignore[index]
        "emotional_reaction": 1,
        "interpretation": 0,
        "exploration": 2,
    }
    assert empathy["open_question"] is True and agent["findings"] == []  # type: ignore[index]
