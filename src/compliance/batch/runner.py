"""Run a batch: partition the inputs, evaluate the partitions in parallel, merge the outputs.

The work directory (`DIR/.work`) holds the state a resumed run needs: the partitions and a
record of the inputs (pass 1, redone whole if it was interrupted), one set of outputs per
evaluated partition (pass 2, skipped on resume when complete), and the visit ids repeated
across units with the partitions evaluated again without them (`duplicates`). The final files
are merged from those parts and written atomically; `manifest.json` is written last, so its
presence means the run finished.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from .. import __version__
from ..api import Engine
from ..errors import ComplianceError, InputError, Problem
from ..privacy import redaction_key
from . import duplicates, executors
from .evaluate import PartitionTask, findings_schema, remember_engine, run_partition
from .executors import Executor
from .lock import locked
from .files import atomic_open, buffer_size, clean_temporaries, read_json, sha256_file, write_json
from .partition import InputFile, ReadCounts, part_path, plan_reads, read_into_partitions, unit_bounds
from ..ruleset.words import catalogue_words, vocabulary
from .summary import combine, rule_titles

WORK = ".work"
OUTPUTS = ("results.jsonl", "errors.jsonl", "summary.json", "findings.parquet")
"""What a run writes besides manifest.json (findings.parquet with --parquet only)."""
STATE_VERSION = 4
TARGET_PARTITION_BYTES = 24 * 1024 * 1024
MAX_PARTITIONS = 512
READS_PER_WORKER = 2


class BatchError(ComplianceError):
    """The run cannot proceed (exit code 2)."""


@dataclass
class Options:
    workers: int = 0
    resume: bool = False
    overwrite: bool = False
    parquet: bool = False
    redact_names: bool = False
    engine: str = "local"
    scheduler: str | None = None
    rules_dir: str | None = None
    partitions: int | None = None


@dataclass
class Progress:
    """Callbacks the command line uses to draw progress; silent by default."""

    phase: Callable[[str, int | None], None] = lambda name, total: None
    advance: Callable[[int, int], None] = lambda done, errors: None


@dataclass
class Outcome:
    records: int
    results: int
    errors: int
    partitions: int
    seconds: float
    resumed_partitions: int = 0
    out: Path = field(default_factory=Path)
    empty_inputs: tuple[str, ...] = ()
    """Inputs that held no record at all."""

    @property
    def complete(self) -> bool:
        return self.records == self.results + self.errors


def _problem(code: str, **params: Any) -> BatchError:
    return BatchError([Problem(code, params)])


def _identity(ruleset: Any, visits: int) -> dict[str, Any]:
    """A ruleset a batch used: its name and digest, the national base and the province's overlay
    it merges (each with the digest of its own files), and how many visits it evaluated."""
    out: dict[str, Any] = {"name": ruleset.name, "version": ruleset.version, "digest": ruleset.digest, "visits": visits}
    if ruleset.base is not None:
        out["base"] = {"name": ruleset.base.name, "version": ruleset.base.version, "digest": ruleset.layer_digest("base")}
        out["overlay"] = {"name": ruleset.name, "version": ruleset.version, "digest": ruleset.layer_digest("overlay")}
    return out


def plan_partitions(inputs: Sequence[InputFile]) -> int:
    estimate = sum(i.size * (5 if i.path.endswith(".gz") else 1) for i in inputs)
    return max(8, min(MAX_PARTITIONS, -(-estimate // TARGET_PARTITION_BYTES)))


def describe_inputs(paths: Sequence[str]) -> list[InputFile]:
    """Each input's size and time; its digest is filled in by `digests` while pass 1 reads."""
    out = []
    for index, name in enumerate(paths):
        path = Path(name)
        if path.is_dir():  # exists, so "no such file" would send the user looking for it
            raise BatchError([Problem("file_unreadable", {"detail": "is a directory", "detail_vi": "đây là thư mục, không phải tệp"}, file=name)])
        if not path.is_file():
            raise BatchError([Problem("file_missing", file=name)])
        stat = path.stat()
        out.append(InputFile(index, name, stat.st_size, stat.st_mtime_ns, ""))
    return out


@contextlib.contextmanager
def digests(inputs: Sequence[InputFile]) -> Iterator[None]:
    """Hash the inputs on a thread while the body runs (hashlib and file reads release the
    GIL, so pass 1 does not wait for a second read of every input); fills `sha256` on exit."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="compliance-digest") as hasher:
        futures = [hasher.submit(sha256_file, Path(info.path)) for info in inputs]
        try:
            yield
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        for info, future in zip(inputs, futures):
            info.sha256 = future.result()


def _inputs_unchanged(inputs: Sequence[InputFile]) -> list[str]:
    changed = []
    for info in inputs:
        path = Path(info.path)
        try:
            stat = path.stat()
        except OSError:
            changed.append(info.path)
            continue
        if stat.st_size != info.size or stat.st_mtime_ns != info.mtime_ns:
            changed.append(info.path)
    return changed


def run(paths: Sequence[str], out: Path, options: Options, progress: Progress | None = None) -> Outcome:
    progress = progress or Progress()
    started = time.time()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if not paths:
        raise _problem("empty_input")
    engine = Engine.load(options.rules_dir)  # refuse broken rules before any work
    # Absolute paths: the workers of a remote Dask cluster do not share this process's cwd.
    rules_dir = str(Path(options.rules_dir).absolute()) if options.rules_dir else None
    remember_engine(rules_dir, engine)
    # From here to the manifest, no other run may touch the directory (see lock.py).
    with locked(out):
        _refuse_links(out)
        _refuse_inputs_in(out, paths)
        return _run(paths, out, options, progress, engine, rules_dir, started, started_at)


def _run(
    paths: Sequence[str], out: Path, options: Options, progress: Progress, engine: Engine,
    rules_dir: str | None, started: float, started_at: str,
) -> Outcome:
    work = out / WORK
    state_path = work / "partition.json"
    manifest_path = out / "manifest.json"
    if manifest_path.exists() and not options.overwrite:
        if options.resume:
            manifest = read_json(manifest_path)
            if [i["path"] for i in manifest["inputs"]] != list(paths):
                raise BatchError([Problem("invalid_value", {"detail_en": f"{out} holds a finished batch of other inputs; --resume must name the same inputs",
                                                             "detail_vi": f"{out} có kết quả của các tệp đầu vào khác; --resume phải dùng đúng các tệp đầu vào đó"})])
            # Finished; a crash may have cut the final clean-up short (the manifest is written
            # before the work directory, a copy of the input, is removed).
            shutil.rmtree(work, ignore_errors=True)
            clean_temporaries(out)
            counts = manifest["counts"]
            empty = tuple(i["path"] for i in manifest["inputs"] if i["records"] == 0)
            return Outcome(counts["records"], counts["results"], counts["errors"], manifest["partitions"], 0.0, out=out,
                           empty_inputs=empty)
        raise BatchError([Problem("invalid_value", {"detail_en": f"{out} already holds a finished batch; use --overwrite to replace it",
                                                     "detail_vi": f"{out} đã có kết quả một lần chạy; dùng --overwrite để ghi đè"})])
    if work.exists() and not options.resume and not options.overwrite:
        raise BatchError([Problem("invalid_value", {"detail_en": f"{out} holds an unfinished batch; use --resume to finish it or --overwrite to start again",
                                                     "detail_vi": f"{out} có một lần chạy dở; dùng --resume để chạy tiếp hoặc --overwrite để chạy lại"})])
    taken = [name for name in OUTPUTS if (out / name).exists()]
    if taken and not work.exists() and not options.overwrite:
        # No manifest and no work directory: not this tool's, or not a run it can tell apart.
        raise BatchError([Problem("invalid_value", {"detail_en": f"{out} already holds {', '.join(taken)} that no batch run recorded (no manifest.json); use --overwrite to replace them or choose another --out",
                                                     "detail_vi": f"{out} đã có {', '.join(taken)} mà không lần chạy batch nào ghi nhận (không có manifest.json); dùng --overwrite để ghi đè hoặc chọn --out khác"})])
    state = read_json(state_path) if state_path.is_file() and not options.overwrite else None
    # Inputs are checked and the executor started (a scheduler connected to) before anything is
    # created: a run that cannot start leaves no work directory to refuse the next one.
    inputs = describe_inputs(paths) if state is None else []
    with contextlib.ExitStack() as joining:
        with _executor(options) as executor:
            out.mkdir(parents=True, exist_ok=True)
            if options.overwrite:
                for name in (*OUTPUTS, "manifest.json"):
                    with contextlib.suppress(FileNotFoundError):
                        (out / name).unlink()
                shutil.rmtree(work, ignore_errors=True)
            work.mkdir(exist_ok=True)
            clean_temporaries(out)
            clean_temporaries(work)
            clean_temporaries(work / "parts")
            if state is not None:
                if state.get("version") != STATE_VERSION or state.get("ruleset_digest") != engine.catalogue.digest:
                    raise BatchError([Problem("invalid_value", {"detail_en": "the unfinished batch used another ruleset or tool version; use --overwrite",
                                                                 "detail_vi": "lần chạy dở dùng bộ quy tắc hoặc phiên bản khác; dùng --overwrite"})])
                inputs = [InputFile(**i) for i in state["inputs"]]
                if [i.path for i in inputs] != list(paths):
                    raise BatchError([Problem("invalid_value", {"detail_en": "--resume must name the same inputs as the interrupted run",
                                                                 "detail_vi": "--resume phải dùng đúng các tệp đầu vào của lần chạy dở"})])
                changed = _inputs_unchanged(inputs) or [i.path for i in inputs if sha256_file(Path(i.path)) != i.sha256]
                if changed:
                    raise BatchError([Problem("file_unreadable", {"detail": "changed since the interrupted run started; use --overwrite", "detail_vi": "tệp đã thay đổi từ khi lần chạy dở bắt đầu; dùng --overwrite"}, file=changed[0])])
                partitions, reads, bounds = state["partitions"], state["reads"], state["bounds"]
                records, pass1_errors = state["records"], state["errors"]
                if bool(state.get("redact_key")) != options.redact_names:
                    raise BatchError([Problem("invalid_value", {"detail_en": "--resume must keep --redact-names as the interrupted run had it",
                                                                 "detail_vi": "--resume phải giữ --redact-names như lần chạy dở"})])
                redact_key = state.get("redact_key")
            else:
                shutil.rmtree(work / "partitions", ignore_errors=True)
                progress.phase("read", None)
                with digests(inputs):
                    bounds = unit_bounds(inputs, options.partitions or plan_partitions(inputs))
                    partitions = len(bounds) + 1
                    records, pass1_errors, reads = _read_inputs(inputs, work / "partitions", bounds, executor, progress)
                changed = _inputs_unchanged(inputs)
                if changed:
                    raise BatchError([Problem("file_unreadable", {"detail": "changed while it was being read", "detail_vi": "tệp đã thay đổi trong khi đang được đọc"}, file=changed[0])])
                # The key stays in the work directory (removed at the end) so a resumed run gives the
                # same pseudonyms; with $COMPLIANCE_REDACT_KEY they match other runs too.
                redact_key = redaction_key() if options.redact_names else None
                write_json(
                    state_path,
                    {
                        "version": STATE_VERSION,
                        "ruleset_digest": engine.catalogue.digest,
                        "partitions": partitions,
                        "bounds": bounds,
                        "reads": reads,
                        "records": records,
                        "errors": pass1_errors,
                        "inputs": [asdict(i) for i in inputs],
                        "redact_key": redact_key,
                    },
                )

            parts = work / "parts"
            parts.mkdir(exist_ok=True)
            tasks = [
                PartitionTask(
                    index=i,
                    parts=tuple(str(part_path((work / "partitions").absolute(), i, r)) for r in range(reads)),
                    out_dir=str(parts.absolute()),
                    rules_dir=rules_dir,
                    sources=tuple(i.path for i in inputs),
                    parquet=options.parquet,
                    redact_key=redact_key,
                )
                for i in range(partitions)
            ]
            # Visit ids repeated across units; the marker is written once the exclusions are, so a
            # resumed run reuses them rather than finding them again in lists they already changed.
            # Known exclusions go on the tasks before asking which are done: a partition evaluated
            # again without a repeated id is finished only with its exclusions.
            marker = work / "duplicates.json"
            if marker.is_file():
                tasks = _with_exclusions(tasks, read_json(marker)["evaluate_again"], work / "duplicates")
            pending = [t for t in tasks if not t.done()]
            # The results are put end to end while pass 2 runs, each partition as soon as every
            # one before it is done, so that copying them overlaps evaluation instead of following it.
            results_out = _Joiner(joining.enter_context(atomic_open(out / "results.jsonl")),
                                  [parts / f"results-{t.index:04d}.jsonl" for t in tasks])
            results_out.done([t.index for t in tasks if t not in pending])
            resumed = len(tasks) - len(pending)
            progress.phase("evaluate", records)
            done_records = sum(read_json(t.stats_path)["counts"]["records"] for t in tasks if t.done()) + pass1_errors
            errors_so_far = pass1_errors + sum(read_json(t.stats_path)["counts"]["errors"] for t in tasks if t.done())
            progress.advance(done_records, errors_so_far)
            for stats in _evaluate(pending, executor):
                results_out.done([stats["index"]])
                done_records += stats["counts"]["records"]
                errors_so_far += stats["counts"]["errors"]
                progress.advance(done_records, errors_so_far)

            if not marker.is_file():
                write_json(marker, {"evaluate_again": duplicates.find(tasks, work / "duplicates")})
                tasks = _with_exclusions(tasks, read_json(marker)["evaluate_again"], work / "duplicates")
                again = [t for t in tasks if not t.done()]
                if again:
                    progress.phase("duplicates", None)
                    results_out.redo([t.index for t in again])
                    for stats in _evaluate(again, executor):
                        results_out.done([stats["index"]])

        progress.phase("merge", None)
        tally = {"results": 0, "errors": pass1_errors}

        def partial_summaries() -> Iterator[dict[str, Any]]:
            # One partition's stats in memory at a time: with hundreds of partitions, holding all
            # their partial summaries at once would grow with the input.
            for task in tasks:
                stats = read_json(task.stats_path)
                tally["results"] += stats["counts"]["results"]
                tally["errors"] += stats["counts"]["errors"]
                yield stats["summary"]

        catalogue = engine.catalogue
        ruleset: dict[str, Any] = {"name": catalogue.name, "version": catalogue.version, "digest": catalogue.digest}
        summary = combine(partial_summaries(), errors=0, ruleset=ruleset)
        used = summary.pop("visits_by_ruleset", {})
        ruleset["rulesets"] = [_identity(r, used.get(r.name, 0)) for r in catalogue.rulesets if used.get(r.name)]
        summary["ruleset"] = ruleset
        results, errors = tally["results"], tally["errors"]
        summary["errors"] = errors
        summary["rule_titles"] = rule_titles((i.check for i in engine.checks), summary["findings_by_rule"])
        summary["report_words"] = vocabulary(
            catalogue_words(catalogue.rulesets), {i.check.id: list(i.check.rules) for i in engine.checks}
        ).model_dump()
        results_out.finish()
        joining.close()  # results.jsonl in place, before the files that say the run is complete
        _merge_lines(
            [work / "partitions" / f"errors-{r:04d}.jsonl" for r in range(reads)] + [parts / f"errors-{t.index:04d}.jsonl" for t in tasks],
            out / "errors.jsonl",
        )
        if options.parquet:
            _concat_parquet([parts / f"findings-{t.index:04d}.parquet" for t in tasks], out / "findings.parquet")
        else:  # left by the interrupted run of a resume that no longer asks for it
            with contextlib.suppress(FileNotFoundError):
                (out / "findings.parquet").unlink()
        write_json(out / "summary.json", summary)
        changed = _inputs_unchanged(inputs)
        if changed:
            raise BatchError([Problem("file_unreadable", {"detail": "changed during the run; results may not match it", "detail_vi": "tệp đã thay đổi trong khi chạy; kết quả có thể không khớp với tệp"}, file=changed[0])])
        outcome = Outcome(records, results, errors, partitions, time.time() - started, resumed, out,
                          tuple(i.path for i in inputs if i.records == 0))
        write_json(
            out / "manifest.json",
            {
                "tool": {"name": "compliance", "version": __version__},
                "ruleset": ruleset,
                "inputs": [{"path": i.path, "size": i.size, "sha256": i.sha256, "records": i.records} for i in inputs],
                "counts": {"records": records, "results": results, "errors": errors},
                "complete": outcome.complete,
                "partitions": partitions,
                "names_redacted": options.redact_names,
                "engine": options.engine,
                "workers": _workers(options),
                "started_at": started_at,
                "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "outputs": sorted(name for name in OUTPUTS if options.parquet or name != "findings.parquet") + ["manifest.json"],
            },
        )
        shutil.rmtree(work, ignore_errors=True)
        return outcome


def _refuse_links(out: Path) -> None:
    """The run writes and deletes only what it made: a symbolic link among its outputs or in
    its work directory (where `--overwrite` and `--resume` delete files) would have it write
    or delete elsewhere, so the run stops before touching anything."""
    names = [*OUTPUTS, "manifest.json", WORK]
    found = [name for name in names if (out / name).is_symlink()]
    work = out / WORK
    if not found and work.is_dir():
        for root, dirs, files in os.walk(work):
            found.extend(str(Path(root, name).relative_to(out)) for name in dirs + files if Path(root, name).is_symlink())
    if found:
        raise BatchError([Problem("symlink_in_output", {"name": name}, file=str(out / name)) for name in found])


def _refuse_inputs_in(out: Path, paths: Sequence[str]) -> None:
    """An input that is one of the files the run writes or deletes (`--out DIR` over
    `DIR/results.jsonl`, or anything in the work directory) is refused before it is lost."""
    ours = [out / name for name in (*OUTPUTS, "manifest.json")]
    work = (out / WORK).resolve()
    problems = []
    for name in paths:
        path = Path(name)
        if name == "-" or not path.is_file():
            continue
        for target in ours:
            with contextlib.suppress(OSError):
                if target.exists() and os.path.samefile(path, target):
                    problems.append(Problem("input_is_output", {"name": target.name, "out": str(out)}, file=name))
        if path.resolve().is_relative_to(work):
            problems.append(Problem("input_is_output", {"name": WORK, "out": str(out)}, file=name))
    if problems:
        raise BatchError(problems)


def _with_exclusions(tasks: Sequence[PartitionTask], again: Iterable[int], directory: Path) -> list[PartitionTask]:
    """The tasks, those in `again` evaluated without the records another unit keeps the ids of."""
    chosen = set(again)
    return [replace(t, exclusions=str(duplicates.exclusions_path(directory, t.index))) if t.index in chosen else t for t in tasks]


def _workers(options: Options) -> int:
    return options.workers or os.cpu_count() or 1


def _executor(options: Options) -> contextlib.AbstractContextManager[Executor]:
    if options.engine == "dask":
        return executors.dask(options.scheduler, options.workers or None)
    return executors.local(_workers(options))


def _read_inputs(
    inputs: Sequence[InputFile], directory: Path, bounds: Sequence[str], executor: Executor, progress: Progress
) -> tuple[int, int, int]:
    """Pass 1 over read tasks; returns records, errors and the number of read tasks."""
    # Workers that cannot open the inputs (a remote cluster's) leave pass 1 to this process.
    reader = executor if executor.sees_inputs else Executor()
    # Several tasks per worker even out pieces that hold more bad records or bigger visits.
    reads = plan_reads(inputs, directory, bounds, READS_PER_WORKER * reader.workers if reader.workers > 1 else 1)
    records = errors = 0
    by_input = {info.index: info for info in inputs}
    outcomes: Iterable[ReadCounts]
    if reader.workers == 1:  # one task: it reports its own progress
        outcomes = [read_into_partitions(task, progress.advance) for task in reads]
    else:

        def tick() -> None:
            running = reader.progress()
            if running is not None:
                progress.advance(*running)

        outcomes = reader.map(read_into_partitions, reads, tick)
    for counts in outcomes:
        for index, n in counts.records.items():
            by_input[index].records += n
            records += n
        errors += counts.errors
    progress.advance(records, errors)
    return records, errors, len(reads)


def _evaluate(tasks: Sequence[PartitionTask], executor: Executor) -> Iterator[dict[str, Any]]:
    """Pass 2, in the partitions' order, so that their results can be joined as they come:
    partitions hold ranges of units of similar size (`unit_bounds`), so the last to finish
    are no longer than the others."""
    yield from executor.map(run_partition, sorted(tasks, key=lambda t: t.index))


def _key_lines(path: Path, buffering: int) -> Iterator[tuple[bytes, bytes]]:
    if not path.is_file():
        return
    with path.open("rb", buffering=buffering) as handle:
        for line in handle:
            key, _, body = line.partition(b"\t")
            yield key, body


def _merge_lines(paths: Sequence[Path], target: Path) -> None:
    """K-way merge of key-sorted part files into one file of their bodies, in key order."""
    # Hundreds of parts are open at once: their buffers share a fixed budget.
    buffering = buffer_size(len(paths))
    streams = [_key_lines(p, buffering) for p in paths]
    with atomic_open(target) as out:
        # Keys end with the record's input position, so they are unique: (key, body) pairs
        # compare by key alone.
        out.writelines(body for _, body in heapq.merge(*streams))


class _Joiner:
    """Puts the partitions' results end to end into `out`: partitions hold ranges of units in
    order, each written in order, so this is the run's order. A partition is copied (by the
    kernel where it can) once every partition before it is done."""

    def __init__(self, out: IO[bytes], paths: Sequence[Path]):
        self._out = out
        self._paths = paths
        self._done: set[int] = set()
        self._starts: list[int] = []
        """Where each copied partition begins in `out`."""

    def done(self, indices: Iterable[int]) -> None:
        self._done.update(indices)
        while len(self._starts) < len(self._paths) and len(self._starts) in self._done:
            self._out.flush()
            self._starts.append(self._out.tell())
            _copy_into(self._out, self._paths[len(self._starts) - 1])

    def redo(self, indices: Iterable[int]) -> None:
        """Partitions evaluated again (for visit ids another unit's visit has): what was copied
        from the first of them on is cut off and copied again once they are done."""
        again = set(indices)
        self._done -= again
        first = min(again, default=len(self._paths))
        if first < len(self._starts):
            self._out.seek(self._starts[first])
            self._out.truncate()
            del self._starts[first:]

    def finish(self) -> None:
        self.done(())
        if len(self._starts) < len(self._paths):
            raise RuntimeError(f"partition {len(self._starts)} was not evaluated")


def _copy_into(out: IO[bytes], path: Path) -> None:
    if not path.is_file():
        return
    with path.open("rb") as part:
        size = os.fstat(part.fileno()).st_size
        copied = 0
        with contextlib.suppress(OSError):
            while copied < size:
                step = os.copy_file_range(part.fileno(), out.fileno(), size - copied)
                if step == 0:
                    break
                copied += step
        if copied < size:  # no copy_file_range here (another system, another file system)
            part.seek(copied)
            shutil.copyfileobj(part, out, 1 << 20)
            out.flush()


def _concat_parquet(paths: Sequence[Path], target: Path) -> None:
    import pyarrow.parquet as pq

    with atomic_open(target) as handle:
        writer = pq.ParquetWriter(handle, findings_schema())
        try:
            for path in paths:
                if path.is_file():
                    parquet = pq.ParquetFile(path)
                    for group in range(parquet.num_row_groups):
                        writer.write_table(parquet.read_row_group(group))
        finally:
            writer.close()


__all__ = ["BatchError", "Options", "Outcome", "Progress", "run", "InputError", "IO"]
