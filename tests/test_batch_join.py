"""results.jsonl is joined while pass 2 runs: each partition's results are copied once every
partition before it is done. Whatever order the partitions finish in, and when some are
evaluated again (for a visit id another unit's visit has), the file is the partitions end to
end, each in its final version."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from compliance.batch.files import atomic_open
from compliance.batch.runner import _Joiner


def _parts(tmp_path: Path, count: int, version: str) -> list[Path]:
    paths = []
    for index in range(count):
        path = tmp_path / f"results-{index:04d}.jsonl"
        # Partitions of very different sizes, one of them empty.
        path.write_bytes(b"".join(f'{{"p":{index},"n":{n},"v":"{version}"}}\n'.encode() for n in range(index * 37 % 11)))
        paths.append(path)
    return paths


@pytest.mark.parametrize("seed", range(20))
def test_partitions_finishing_in_any_order_and_some_evaluated_again_join_to_their_final_bytes(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    count = rng.randint(1, 9)
    paths = _parts(tmp_path, count, "first")
    target = tmp_path / "results.jsonl"
    with atomic_open(target) as out:
        joiner = _Joiner(out, paths)
        order = list(range(count))
        rng.shuffle(order)
        already = rng.randint(0, count)  # done by a run that was resumed
        joiner.done(order[:already])
        for index in order[already:]:
            joiner.done([index])
        again = rng.sample(range(count), rng.randint(0, count))
        joiner.redo(again)
        for index in again:
            paths[index].write_bytes(paths[index].read_bytes().replace(b'"first"', b'"again"'))
        rng.shuffle(again)
        for index in again:
            joiner.done([index])
        joiner.finish()
    assert target.read_bytes() == b"".join(p.read_bytes() for p in paths)


def test_a_partition_never_done_is_not_left_out_silently(tmp_path: Path) -> None:
    paths = _parts(tmp_path, 3, "first")
    with pytest.raises(RuntimeError, match="partition 1 was not"), atomic_open(tmp_path / "results.jsonl") as out:
        joiner = _Joiner(out, paths)
        joiner.done([0, 2])
        joiner.finish()
    assert not (tmp_path / "results.jsonl").exists()
