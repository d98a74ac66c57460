"""Problems per document are capped and a user's long text is quoted shortened, whatever the
channel (API, files, service): 170,000 stray keys must cost neither seconds nor megabytes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from compliance import Engine
from compliance.cli.main import main as cli
from compliance.errors import ECHO_LIMIT, MAX_PROBLEMS, InputError, Problem, cap_problems, shorten

VISIT = {
    "visit_id": "VP-1",
    "inspected_at": "2018-06-12T07:50:00+07:00",
    "unit": {"id": "u1", "level": "commune"},
    "personnel": [{"id": "o1", "category": "civil_servant", "attendance": "absent"}],
}
STRAY = 170_000


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


def _stray_keys(count: int) -> dict[str, object]:
    return {**VISIT, **{f"k{i:06d}": 0 for i in range(count)}}


def test_the_api_reports_at_most_a_hundred_problems_and_counts_the_rest(engine: Engine) -> None:
    with pytest.raises(InputError) as caught:
        engine.evaluate(orjson.dumps(_stray_keys(STRAY)))
    problems = caught.value.problems
    assert len(problems) == MAX_PROBLEMS + 1
    assert [p.code for p in problems[:-1]] == ["unknown_observation"] * MAX_PROBLEMS
    more = problems[-1]
    assert more.code == "more_problems" and more.params == {"count": STRAY - MAX_PROBLEMS, "limit": MAX_PROBLEMS}
    assert f"{STRAY - MAX_PROBLEMS} more problems not listed" in more.message("en")
    assert f"còn {STRAY - MAX_PROBLEMS} lỗi khác không được liệt kê" in more.message("vi")


def test_a_file_reports_at_most_a_hundred_problems(tmp_path: Path) -> None:
    path = tmp_path / "visit.json"
    path.write_bytes(orjson.dumps(_stray_keys(5000)))
    run = CliRunner().invoke(cli, ["evaluate", str(path), "--lang", "en"])
    assert run.exit_code == 2 and "Traceback" not in run.output
    assert run.output.count("unknown field") == MAX_PROBLEMS
    assert f"{str(path)}: 4900 more problems not listed" in run.output


def test_a_long_key_is_quoted_shortened(engine: Engine) -> None:
    key = "x" * 1_000_000
    with pytest.raises(InputError) as caught:
        engine.evaluate({**VISIT, key: 1})
    problem = caught.value.problems[0]
    assert problem.code == "unknown_observation"
    for text in (problem.message("vi"), problem.message("en"), problem.path or ""):
        assert len(text) < 200 and "…" in text


problems = st.builds(
    Problem,
    code=st.sampled_from(["unknown_field", "missing", "wrong_type", "more_problems"]),
    params=st.fixed_dictionaries({"count": st.integers(0, 1000)}),
    path=st.none() | st.text(max_size=5),
)


@given(st.lists(problems, max_size=300), st.integers(1, 50))
def test_capping_keeps_the_first_problems_and_the_count(found: list[Problem], limit: int) -> None:
    capped = cap_problems(found, limit)
    real = [p for p in found if p.code != "more_problems"]
    hidden = sum(p.params["count"] for p in found if p.code == "more_problems") + max(0, len(real) - limit)
    assert capped[: min(limit, len(real))] == real[:limit]
    assert len(capped) <= limit + 1
    if hidden:
        assert capped[-1].code == "more_problems" and capped[-1].params["count"] == hidden
    else:
        assert all(p.code != "more_problems" for p in capped)
    assert cap_problems(capped, limit) == capped


@given(st.text(max_size=300))
def test_shorten(text: str) -> None:
    short = shorten(text)
    assert len(short) <= ECHO_LIMIT
    assert short == text if len(text) <= ECHO_LIMIT else short.endswith("…") and text.startswith(short[:-1])
