"""`compliance rules validate`: every mistake of a ruleset, located, at once; and every other
command refuses the same ruleset with the same messages."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from _authoring_support import PROBE_RULES, VISIT_2018, copy_rules, line_of, replace_nth, run, shipped_probe, write_jsonl

from compliance.errors import RulesError
from compliance.plugins import installed_checks
from compliance.ruleset.catalogue import load_catalogue
from compliance.ruleset.loader import MAX_RULES_FILE_BYTES, load_ruleset


def _problem_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if ".yaml:" in line]


def test_shipped_rules_are_valid() -> None:
    done = run("rules", "validate")
    assert done.exit_code == 0, done.output
    assert "the ruleset is valid" in done.output
    done = run("rules", "validate", "--lang", "vi")
    assert done.exit_code == 0 and "bộ quy tắc hợp lệ" in done.output


def test_two_mistakes_in_one_file_are_both_reported_and_evaluate_refuses_alike(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    hours = rules / "working_hours.yaml"
    # A misspelt key and a word where a number belongs, in the same file.
    misspelt = replace_nth(hours, "      severity: minor\n      thresholds: {grace_minutes: 0}", "      severty: minor\n      thresholds: {grace_minutes: 0}", -1)
    wordy = replace_nth(hours, "thresholds: {grace_minutes: 0}", "thresholds: {grace_minutes: five}", 1)

    done = run("rules", "validate", rules)
    assert done.exit_code == 1, done.output
    problems = _problem_lines(done.output)
    assert len(problems) == 2, done.output  # the misspelling does not also report 'severity' missing
    by_line = {int(p.split(":")[1]): p for p in problems}
    assert set(by_line) == {misspelt, wordy}
    assert by_line[misspelt].startswith(f"{hours}:{misspelt}:7: rules › late_arrival › ")
    assert "unknown key 'severty' (did you mean 'severity'?)" in by_line[misspelt]
    assert "allowed here:" in by_line[misspelt] and "legal_basis" in by_line[misspelt]
    assert "thresholds › grace_minutes: expected a whole number, found 'five'" in by_line[wordy]
    assert "2 error(s) in 1 file(s)" in done.output

    visits = write_jsonl(tmp_path / "v.jsonl", [VISIT_2018])
    refused = run("evaluate", "--rules", rules, visits)
    assert refused.exit_code == 2
    for line in problems:
        assert line in refused.output
    # ... and so does every other command that loads rules.
    for args in (
        ("explain", visits, "--rules", rules),
        ("rules", "test", rules),
        ("rules", "diff", rules, rules),
        ("checks", "--rules", rules),
    ):
        other = run(*args)
        assert other.exit_code == 2, (args, other.output)
        for line in problems:
            assert line in other.output, (args, other.output)


def test_vietnamese_messages(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    replace_nth(rules / "working_hours.yaml", "thresholds: {grace_minutes: 0}", "thresholds: {grace_minutes: five}")
    replace_nth(rules / "office_culture.yaml", "severity: minor", "severity: minr")
    done = run("rules", "validate", rules, "--lang", "vi")
    assert done.exit_code == 1
    assert "cần một số nguyên, nhận được 'five'" in done.output
    assert "giá trị 'minr' không hợp lệ" in done.output and "(ý bạn là 'minor'?)" in done.output
    assert "2 lỗi trong 2 tệp" in done.output


Mutation = Callable[[Path], tuple[Path, int]]


def _duplicate_key(rules: Path) -> tuple[Path, int]:
    path = rules / "office_culture.yaml"
    line = replace_nth(path, "      severity: minor\n", "      severity: minor\n      severity: minor\n") + 1
    return path, line


def _gap(rules: Path) -> tuple[Path, int]:
    """Reported at the earlier version's effective_to, which is what usually needs changing."""
    path = rules / "working_hours.yaml"
    replace_nth(path, "    - effective_from: 2016-09-05\n      severity: moderate", "    - effective_from: 2016-09-07\n      severity: moderate")
    return path, line_of(path, "      effective_to: 2016-09-04")  # absent_unexcused's first version


def _overlap(rules: Path) -> tuple[Path, int]:
    path = rules / "working_hours.yaml"
    replace_nth(path, "    - effective_from: 2016-09-05\n      severity: minor", "    - effective_from: 2016-09-01\n      severity: minor")
    return path, line_of(path, "      effective_to: 2016-09-04", 2)  # late_arrival's first version


def _same_start(rules: Path) -> tuple[Path, int]:
    path = rules / "working_hours.yaml"
    return path, replace_nth(path, "    - effective_from: 2016-09-05\n      severity: minor", "    - effective_from: 2010-01-01\n      severity: minor")


def _placeholder_mismatch(rules: Path) -> tuple[Path, int]:
    path = rules / "working_hours.yaml"
    old = 'en: "{absent} of {checked} staff checked absent with no reason ({share}) - heuristic threshold"'
    en_line = replace_nth(path, old, old.replace("({share})", "({shares})"))
    return path, en_line - 1  # the message mapping starts with its 'vi:' line


def _unknown_rule_ref(rules: Path) -> tuple[Path, int]:
    path = rules / "sanctions.yaml"
    return path, replace_nth(path, "working_hours.late_arrival,", "working_hours.late_arival,")


def _unknown_fine_rule(rules: Path) -> tuple[Path, int]:
    path = rules / "sanctions.yaml"
    return path, replace_nth(path, "  - rule: alcohol_tobacco.alcohol_during_work", "  - rule: alcohol_tobacco.alcohol_during_wrk")


def _unknown_severity(rules: Path) -> tuple[Path, int]:
    path = rules / "working_hours.yaml"
    return path, replace_nth(path, "severity: serious", "severity: grave")


def _unknown_sanction_code(rules: Path) -> tuple[Path, int]:
    path = rules / "sanctions.yaml"
    return path, replace_nth(path, "{code: reminder, target: official}", "{code: remind, target: official}")


def _no_legal_basis(rules: Path) -> tuple[Path, int]:
    path = rules / "tthc_posting.yaml"
    line = replace_nth(path, "      legal_basis: *nd92\n", "      legal_basis: []\n")
    return path, line


def _open_before_next(rules: Path) -> tuple[Path, int]:
    path = rules / "working_hours.yaml"
    line = replace_nth(path, "      effective_to: 2016-09-04\n", "") - 1
    return path, line


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_duplicate_key, "duplicate key 'severity' (first at line"),
        (_gap, "rules › absent_unexcused › version from 2010-01-01 › effective_to: gap between versions: the version from "
               "2010-01-01 ends 2016-09-04 but the next one starts only 2016-09-07; set effective_to of the version from "
               "2010-01-01 to 2016-09-06, the day before the next version starts (or the next version's effective_from to 2016-09-05)"),
        (_overlap, "rules › late_arrival › version from 2010-01-01 › effective_to: versions overlap: the version from 2010-01-01 "
                   "ends 2016-09-04, after the next one has started on 2016-09-01; set effective_to of the version from "
                   "2010-01-01 to 2016-08-31, the day before the next version starts"),
        (_same_start, "rules › late_arrival › version from 2010-01-01 (#2) › effective_from: two versions start on 2010-01-01"),
        (_placeholder_mismatch, "the vi and en texts use different placeholders: only the Vietnamese has {share}, only the English has {shares}"),
        (_unknown_rule_ref, "unknown rule 'working_hours.late_arival' (did you mean 'working_hours.late_arrival'?)"),
        # A fine's rule is one string: the path ends at it, with no list index after.
        (_unknown_fine_rule, "fines › #1 › rule: unknown rule 'alcohol_tobacco.alcohol_during_wrk'"),
        (_unknown_severity, "invalid value 'grave'; expected one of: minor, moderate, serious, critical"),
        (_unknown_sanction_code, "invalid value 'remind'; expected one of: reminder,"),
        (_no_legal_basis, "version without legal basis: legal_basis must list at least one document"),
        (_open_before_next, "has no effective_to but another starts 2016-09-05; give the version from 2010-01-01 effective_to: 2016-09-04"),
    ],
    ids=["duplicate_key", "gap", "overlap", "same_start", "placeholder_mismatch", "unknown_rule", "unknown_fine_rule", "unknown_severity", "unknown_sanction", "no_legal_basis", "open_version"],
)
def test_each_mistake_is_reported_with_its_location(tmp_path: Path, mutate: Mutation, expected: str) -> None:
    rules = copy_rules(tmp_path)
    path, line = mutate(rules)
    done = run("rules", "validate", rules)
    assert done.exit_code == 1, done.output
    hits = [p for p in _problem_lines(done.output) if expected in p]
    assert hits, done.output
    assert any(h.startswith(f"{path}:{line}:") for h in hits), (line, done.output)
    assert " › " in hits[0]  # the YAML path, e.g. 'rules › absent_unexcused › version from 2016-09-05 › effective_from'


def test_placeholder_the_evidence_does_not_provide(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    path = rules / "office_culture.yaml"
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    vi = data["rules"]["no_id_card"][0]["message"]["vi"]
    en = data["rules"]["no_id_card"][0]["message"]["en"]
    replace_nth(path, vi, vi + " {room}")
    replace_nth(path, en, en + " {room}")
    done = run("rules", "validate", rules)
    assert done.exit_code == 1
    assert "placeholder '{room}' is not provided by the rule's evidence" in done.output
    assert "rules › no_id_card › version from 2007-09-01 › message › vi" in done.output


def test_a_duplicate_key_does_not_hide_the_other_mistakes_of_its_file(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    path, dup_line = _duplicate_key(rules)
    replace_nth(path, "severity: minor", "severity: minr", -1)
    done = run("rules", "validate", rules)
    assert done.exit_code == 1
    assert f"{path}:{dup_line}:7: rules › no_id_card › version from 2007-09-01 › severity: duplicate key 'severity'" in done.output
    assert "invalid value 'minr'" in done.output


def test_checks_of_a_broken_file_still_run_on_its_valid_rules(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    replace_nth(rules / "working_hours.yaml", "thresholds: {grace_minutes: 0}", "thresholds: {grace_minutes: five}")
    _gap(rules)  # in absent_unexcused, which is itself valid
    done = run("rules", "validate", rules)
    assert "expected a whole number, found 'five'" in done.output
    assert "gap between versions" in done.output


def test_unknown_rules_file_and_misspelt_rule_id(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    (rules / "office_cultur.yaml").write_text((rules / "office_culture.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    line = replace_nth(rules / "working_hours.yaml", "\n  late_arrival:\n", "\n  late_arival:\n") + 1
    done = run("rules", "validate", rules)
    assert done.exit_code == 1
    assert "'office_cultur.yaml' (did you mean 'office_culture'?)" in done.output
    assert f"working_hours.yaml:{line}:3: rules › late_arival: unknown key 'late_arival' (did you mean 'late_arrival'?)" in done.output
    assert "required key 'late_arrival' is missing" not in done.output


def test_case_files_are_checked_too(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path, cases=False)
    (rules / "cases").mkdir()
    case = rules / "cases" / "mine.yaml"
    case.write_text(
        "check: working_hours\n"
        "base: {visit_id: T, inspected_at: '2018-06-12T08:00:00+07:00', unit: {id: u, level: commune}}\n"
        "cases:\n"
        "  - name: misspelt rule\n"
        "    visit: {personnel: [{id: a, attendence: absent}]}\n"
        "    expect:\n"
        "      - {rule: absent_unexcuse, subject: a}\n",
        encoding="utf-8",
    )
    done = run("rules", "validate", rules)
    assert done.exit_code == 1
    assert f"{case}:7:" in done.output and "has no rule 'absent_unexcuse' (did you mean 'absent_unexcused'?)" in done.output
    assert f"{case}:5:" in done.output and "attendence" in done.output
    assert run("rules", "validate", rules, "--no-cases").exit_code == 0


def test_a_plugins_shipped_case_files_are_checked_as_rules_test_runs_them(tmp_path: Path) -> None:
    from compliance.authoring.validate import validate_rules
    from compliance.cases import case_files
    from compliance.engine import Engine

    rules = copy_rules(tmp_path)
    plugin = shipped_probe(tmp_path, cases=PROBE_MISSPELT)
    checks = installed_checks([plugin])
    shipped = tmp_path / "probe_plugin" / "cases" / "probe.yaml"
    assert shipped in case_files(Engine.load(rules, plugins=[plugin]))
    report = validate_rules(rules, checks)
    assert shipped in report.case_files
    assert [(p.file, p.path) for p in report.problems] == [(str(shipped), "cases › #1 › expect › #1 › rule")]


PROBE_MISSPELT = """\
check: probe
base: {visit_id: P-1, inspected_at: "2018-06-12T08:00:00+07:00", unit: {id: u, level: commune}}
cases:
  - name: fires
    expect: [{rule: od, subject: u}]
"""


def test_json_format(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    line = replace_nth(rules / "working_hours.yaml", "thresholds: {grace_minutes: 0}", "thresholds: {grace_minutes: five}")
    done = run("rules", "validate", rules, "--format", "json")
    assert done.exit_code == 1
    data = json.loads(done.stdout)
    assert data["valid"] is False and data["errors"] == 1
    problem = data["problems"][0]
    assert problem["line"] == line and problem["column"] > 0
    assert problem["path"].endswith("thresholds › grace_minutes")
    assert set(problem["message"]) == {"vi", "en"}


def test_missing_directory_is_invalid(tmp_path: Path) -> None:
    done = run("rules", "validate", tmp_path / "nowhere")
    assert done.exit_code == 1
    assert "no such file or directory" in done.output


MISTAKES = yaml.safe_load((Path(__file__).parent / "fixtures" / "rules_mistakes.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", MISTAKES, ids=[c["name"] for c in MISTAKES])
def test_every_mistake_of_a_table_case_is_reported_in_one_run(tmp_path: Path, case: dict) -> None:
    """tests/fixtures/rules_mistakes.yaml: each case's problems, all of them and only them, located and in both languages."""
    rules = copy_rules(tmp_path, cases=False)
    for edit in case["edits"]:
        replace_nth(rules / edit["file"], edit["old"], edit["new"], edit.get("nth", 1))
    for lang in ("en", "vi"):
        done = run("rules", "validate", rules, "--lang", lang)
        assert done.exit_code == 1, done.output
        lines = _problem_lines(done.output)
        assert len(lines) == len(case["expect"]), done.output
        for want in case["expect"]:
            path = rules / want["file"]
            prefix = f"{path}:{line_of(path, want['at'], want.get('nth', 1))}:"
            assert any(line.startswith(prefix) and want[lang] in line for line in lines), (prefix, want[lang], done.output)


def test_an_oversized_rules_file_is_refused_by_its_size_before_it_is_read(tmp_path: Path) -> None:
    """A 64 MiB file must not cost 64 MiB of memory to be refused (its limit is 2 MiB)."""
    rules = copy_rules(tmp_path, cases=False)
    big = rules / "sanctions.yaml"
    with big.open("r+b") as stream:
        stream.truncate(64 * 1024 * 1024)  # sparse: no disk is used
    checks = [c.check for c in installed_checks()]
    tracemalloc.start()
    try:
        with pytest.raises(RulesError) as caught:
            load_catalogue(rules, checks)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (problem,) = caught.value.problems
    assert problem.code == "file_too_large" and problem.file == str(big)
    assert problem.params == {"size": 64 * 1024 * 1024, "limit": MAX_RULES_FILE_BYTES}
    assert peak < 16 * 1024 * 1024, peak


@pytest.mark.parametrize("linked", ["grading.yaml", "cases/working_hours.yaml"])
def test_a_rules_file_that_is_a_symbolic_link_is_not_read_and_nothing_of_its_target_is_shown(tmp_path: Path, linked: str) -> None:
    """A rules directory others can write (a pull request that CI validates) must not make the
    tool print what a link points at: here a file of secrets shaped like YAML keys."""
    rules = copy_rules(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("AWS_SECRET_KEY_0xDEADBEEF: 1\nroot:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    target = rules / linked
    target.unlink()
    target.symlink_to(secret)
    for lang, words in (("en", "a rules file that is a symbolic link is not read"),
                        ("vi", "tệp quy tắc là liên kết tượng trưng (symlink) nên không được đọc")):
        for args in (["rules", "validate", rules], ["rules", "validate", rules, "--format", "json"]):
            done = run(*args, "--lang", lang)
            assert done.exit_code == 1, done.output
            assert "DEADBEEF" not in done.output and "root:x" not in done.output and "AWS" not in done.output
            assert words in done.output and str(target) in done.output
    if linked == "grading.yaml":
        evaluated = run("evaluate", "--rules", rules, str(Path(__file__).parent / "fixtures" / "visit.example.yaml"))
        assert evaluated.exit_code == 2 and "DEADBEEF" not in evaluated.output


def test_a_plugin_check_without_its_rules_file_is_reported_where_the_plugin_should_ship_it(tmp_path: Path) -> None:
    """Before, the problem stood against `<ruleset>/probe.yaml`, a file the plugin's author never
    writes; the plugin's own rules directory is where it belongs, and both places are named."""
    from compliance.authoring.validate import validate_rules

    rules = copy_rules(tmp_path, cases=False)
    plugin = shipped_probe(tmp_path)
    shipped = tmp_path / "probe_plugin" / "probe.yaml"
    shipped.unlink()
    (problem,) = validate_rules(rules, installed_checks([plugin]), cases=False).problems
    assert problem.code == "rules_no_rules_for_check" and problem.file == str(shipped)
    assert problem.render("en") == (
        f"{shipped}: check 'probe' is installed but has no rules: neither {shipped} (the plugin's rules directory, "
        f"where the plugin should ship it) nor {rules / 'probe.yaml'} (the ruleset directory, where a province puts "
        "its own copy) was found"
    )
    assert problem.render("vi") == (
        f"{shipped}: kiểm tra 'probe' đã cài đặt nhưng không có quy tắc: không có tệp {shipped} (thư mục quy tắc của "
        f"plugin, nơi plugin phải kèm tệp này), cũng không có tệp {rules / 'probe.yaml'} (thư mục bộ quy tắc, nơi một "
        "tỉnh đặt bản của mình)"
    )
    # A copy in the ruleset directory is enough: a province's own file wins anyway.
    (rules / "probe.yaml").write_text(PROBE_RULES, encoding="utf-8")
    assert validate_rules(rules, installed_checks([plugin]), cases=False).problems == []
