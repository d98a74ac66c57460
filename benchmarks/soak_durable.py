"""Soak test of the durable-rules wrapper: a million distinct subjects in one process.

    python benchmarks/soak_durable.py                      # 1,000,000 subjects, 4 threads
    python benchmarks/soak_durable.py --subjects 200000    # a shorter run

durable-rules keeps every session's state until told otherwise and, left alone, fails after
about a thousand live sessions; `RuleNetwork` deletes each decision's session. This run asks
the base ruleset's compiled sanction network (`SanctionPolicy`'s `RuleNetwork`) about one
million distinct subjects, each fact carrying many fields (the seven the policy matches on
plus ids, names and evidence), first sequentially, then from four concurrent threads. It
prints peak and current RSS every 100,000 subjects and fails (exit 1) when

- memory is not flat: peak RSS grows by 20 MB or more after the first 100,000 subjects, or
- any thread's answer differs from the sequential run's answer for the same subject, or
- an answer differs from `SanctionPolicy.explain` / `decide` for the same decision tuple.

Not part of the test suite (it takes a minute or two); tests/test_durable.py runs 100,000.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import threading
import time
from array import array
from datetime import date
from typing import Any

from compliance import Engine
from compliance.common import Severity

CHECKPOINT = 100_000
LIMIT_KIB = 20 * 1024


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def current_kib() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:  # pragma: no cover - not Linux
        pass
    return -1


def decision_tuples(rule_ids: list[str]) -> list[tuple[str, Severity, str, str, bool, date, int]]:
    """Every (rule, severity, subject type, category, leader, day, repeats) the policy can see."""
    days = [date(2012, 3, 1), date(2018, 6, 12), date(2021, 1, 4), date(2025, 8, 1)]
    categories = ["cadre", "civil_servant", "public_employee", "worker", "-"]
    out = []
    for rule, severity, subject, category, leader, day, repeats in itertools.product(
        rule_ids, list(Severity), ["official", "unit"], categories, [False, True], days, range(4)
    ):
        if subject == "unit" and (category != "-" or leader):
            continue
        out.append((rule, severity, subject, category, leader, day, repeats))
    return out


def fact(subject: int, decision: tuple[Any, ...]) -> dict[str, str | int]:
    """A many-field fact: the seven matched fields plus ids, names and evidence of one subject."""
    rule, severity, kind, category, leader, day, repeats = decision
    return {
        "rule": rule,
        "severity": severity.rank,
        "subject": kind,
        "category": category,
        "leader": int(leader),
        "day": day.toordinal(),
        "repeats": repeats,
        "subject_id": f"official-{subject:07d}",
        "unit_id": f"vp.unit.{subject % 5000:04d}",
        "visit_id": f"VP-{2016 + subject % 10}-{subject:07d}",
        "official_name": f"Nguyễn Văn {subject % 997}",
        "position": "Trưởng phòng" if leader else "Chuyên viên",
        "province": "Vĩnh Phúc",
        "visit_time": f"{7 + subject % 10:02d}:{subject % 60:02d}",
        "minutes_late": subject % 240,
        "rooms_inspected": subject % 20,
        "rooms_untidy": subject % 3,
        "procedures_in_scope": 120,
        "procedures_posted": 120 - subject % 40,
        "evidence_note": "x" * (subject % 50),
    }


def mask(indexes: list[int]) -> int:
    return sum(1 << i for i in indexes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    total, threads = args.subjects, args.threads

    engine = Engine.load()
    policy = engine.policy
    network = policy._network  # the RuleNetwork the policy compiled (what the engine asks)
    rule_ids = sorted(f"{c.check.id}.{r}" for c in engine.checks for r in c.check.rules)
    decisions = decision_tuples(rule_ids)
    print(f"policies compiled: {network.size}; distinct decision tuples: {len(decisions):,}; "
          f"subjects: {total:,}; threads: {threads}")

    # Reference answers per decision tuple from the policy's own explain() (also a durable call).
    reference = array("I", [0]) * len(decisions)
    for k, (rule, severity, kind, category, leader, day, repeats) in enumerate(decisions):
        matches = policy.explain(rule, severity, kind, None if category == "-" else category, leader, day, repeats)
        reference[k] = mask([i for i, m in enumerate(matches) if m.matched])
        policy.decide(rule, severity, kind, None if category == "-" else category, leader, day, repeats)
    cached = policy.cached_decisions

    sequential = array("I", [0]) * total
    threaded = array("I", [0]) * total
    stride = 7919  # a prime: consecutive subjects get unrelated decision tuples

    def run(target: array, start: int, stop: int, step: int) -> None:
        for subject in range(start, stop, step):
            decision = decisions[(subject * stride) % len(decisions)]
            target[subject] = mask(network.matching(fact(subject, decision)))

    failures: list[str] = []
    checkpoints: dict[str, list[tuple[int, int, int]]] = {"sequential": [], "threads": []}
    started = time.perf_counter()
    for phase in ("sequential", "threads"):
        phase_started = time.perf_counter()
        for begin in range(0, total, CHECKPOINT):
            end = min(total, begin + CHECKPOINT)
            if phase == "sequential":
                run(sequential, begin, end, 1)
            else:
                workers = [
                    threading.Thread(target=run, args=(threaded, begin + t, end, threads), name=f"soak-{t}")
                    for t in range(threads)
                ]
                for w in workers:
                    w.start()
                for w in workers:
                    w.join()
            checkpoints[phase].append((end, peak_kib(), current_kib()))
            elapsed = time.perf_counter() - phase_started
            print(f"{phase:>10} {end:>9,} subjects  peak RSS {peak_kib() / 1024:7.1f} MB  "
                  f"current RSS {current_kib() / 1024:7.1f} MB  {end / elapsed:9,.0f} subjects/s", flush=True)

    for subject in range(total):
        expected = reference[(subject * stride) % len(decisions)]
        if sequential[subject] != expected or threaded[subject] != sequential[subject]:
            failures.append(f"subject {subject}: reference {expected:#x}, sequential {sequential[subject]:#x}, "
                            f"threaded {threaded[subject]:#x}")
            if len(failures) >= 10:
                break
    if policy.cached_decisions != cached:
        failures.append(f"the decision cache grew from {cached} to {policy.cached_decisions}")

    matched = sum(1 for answer in sequential if answer)
    print(f"\ndistinct answers: {len(set(reference))}; subjects with at least one policy: {matched:,}")
    every = checkpoints["sequential"] + checkpoints["threads"]
    growth = every[-1][1] - every[0][1]
    print(f"answers: {total:,} sequential == {total:,} threaded == reference: {not failures}")
    print(f"peak RSS after the first {CHECKPOINT:,}: {every[0][1] / 1024:.1f} MB; at the end: {every[-1][1] / 1024:.1f} MB; "
          f"growth {growth / 1024:.1f} MB (limit {LIMIT_KIB / 1024:.0f} MB)")
    print(f"total time {time.perf_counter() - started:.1f} s for {2 * total:,} durable-rules decisions")
    if growth >= LIMIT_KIB:
        failures.append(f"peak RSS grew by {growth / 1024:.1f} MB after the first {CHECKPOINT:,} subjects")
    for failure in failures:
        print("FAIL:", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
