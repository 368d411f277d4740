"""A damaged, foreign or duplicated shard is reported with its path and never trusted.

Every shard records a checksum of its content and the (kind, key, shard) it was written for;
the store verifies both on read, so ``score`` recomputes a damaged unit instead of failing on
it, ``show`` skips it, and ``lmforecast store check [--repair]`` finds (and moves aside) the lot.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_store_resume import write_task

from lmforecast.cli import main
from lmforecast.cli.app import console
from lmforecast.engine import ScoreConfig
from lmforecast.models import load_model
from lmforecast.signals import scored
from lmforecast.store import Store
from lmforecast.tasks import get_task


def rows(start: int, n: int) -> pa.Table:
    idx = list(range(start, start + n))
    return pa.table({"request_index": pa.array(idx, pa.int64()), "x": [float(i) for i in idx]})


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    """Entry scores/k1 with shards u0 (requests 0-1) and u1 (2-3); entry scores/k2 with u9."""
    s = Store(tmp_path / "store")
    s.write_shard("scores", "k1", "u0", rows(0, 2))
    s.write_shard("scores", "k1", "u1", rows(2, 2))
    s.write_meta("scores", "k1", {"model": "m", "task": "t"})
    s.write_shard("scores", "k2", "u9", rows(100, 3))
    s.write_meta("scores", "k2", {"model": "m2", "task": "t"})
    return s


def shard_path(s: Store, key: str, shard: str) -> Path:
    return s.entry_dir("scores", key) / f"{shard}.parquet"


def indices(table: pa.Table | None) -> list[int]:
    assert table is not None
    return sorted(table.column("request_index").to_pylist())


def only_problem(s: Store, path: Path, *words: str) -> str:
    """The single problem the store met: it names ``path`` and its cause contains ``words``."""
    assert [p.path for p in s.problems] == [path], s.problems
    reason = s.problems[0].reason
    for w in words:
        assert w in reason, reason
    return reason


def test_written_shards_verify_and_read_back_as_written(store: Store) -> None:
    assert store.shards("scores", "k1") == {"u0", "u1"}
    table = store.read("scores", "k1", sort_by="request_index")
    assert table is not None and table.equals(pa.concat_tables([rows(0, 2), rows(2, 2)]))
    assert table.schema.metadata is None  # the integrity record is the store's, not the caller's
    assert store.problems == []
    assert all(r.ok for r in store.verify())


def test_checksum_is_stable_for_every_column_type(tmp_path: Path) -> None:
    """No false alarms: nulls, lists with nulls, nested, dictionary and temporal columns."""
    table = pa.table(
        {
            "request_index": pa.array([0, 1, 2, None], pa.int64()),
            "f32": pa.array([1.5, None, float("nan"), -0.0], pa.float32()),
            "flag": pa.array([True, None, False, True]),
            "text": pa.array(["a", None, "", "ünïcode"]),
            "blob": pa.array([b"\x00", None, b"", b"xyz"], pa.binary()),
            "toks": pa.array([[1, 2], None, [], [None, 3]], pa.list_(pa.int32())),
            "big": pa.array([["a"], None, ["b", None], []], pa.large_list(pa.large_string())),
            "rec": pa.array(
                [{"a": 1, "b": "x"}, None, {"a": None, "b": "y"}, {"a": 4, "b": None}],
                pa.struct([("a", pa.int16()), ("b", pa.string())]),
            ),
            "cat": pa.array(["p", "q", None, "p"]).dictionary_encode(),
            "when": pa.array([dt.datetime(2024, 1, 1), None, dt.datetime(1999, 12, 31, 1), None]),
            "day": pa.array([dt.date(2020, 2, 29), None, dt.date(1970, 1, 1), None]),
            "nothing": pa.nulls(4),
        }
    ).replace_schema_metadata({"mine": "kept"})
    s = Store(tmp_path)
    s.write_shard("k", "e", "a", table.slice(1, 3))  # a slice: buffers with an offset
    s.write_shard("k", "e", "b", pa.concat_tables([table.slice(0, 1), table.slice(0, 0)]))
    assert s.shards("k", "e") == {"a", "b"}
    back = s.read("k", "e")
    assert back is not None and back.num_rows == 4
    assert back.schema.metadata == {b"mine": b"kept"}
    assert s.problems == []


def test_truncated_shard_is_skipped_and_recomputable(store: Store) -> None:
    path = shard_path(store, "k1", "u1")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert store.shards("scores", "k1") == {"u0"}  # so `score` recomputes u1
    assert indices(store.read("scores", "k1")) == [0, 1]
    only_problem(store, path, "unreadable")
    # Rewriting the unit repairs the entry.
    store.write_shard("scores", "k1", "u1", rows(2, 2))
    fresh = Store(store.root)
    assert fresh.shards("scores", "k1") == {"u0", "u1"}
    assert indices(fresh.read("scores", "k1")) == [0, 1, 2, 3]
    assert fresh.problems == []


def test_garbage_shard_is_skipped(store: Store) -> None:
    path = shard_path(store, "k1", "u0")
    path.write_bytes(os.urandom(3000))
    assert store.shards("scores", "k1") == {"u1"}
    assert indices(store.read("scores", "k1")) == [2, 3]
    only_problem(store, path, "unreadable")


def test_changed_content_fails_the_checksum(store: Store) -> None:
    """A file that still parses but whose rows are not what was written."""
    path = shard_path(store, "k1", "u1")
    table = pq.read_table(path)
    x = pa.array([99.0, 3.0])
    pq.write_table(table.set_column(1, "x", x), path)  # same metadata, other values
    assert store.shards("scores", "k1") == {"u0"}
    only_problem(store, path, "checksum")


def test_copy_of_another_unit_is_foreign(store: Store) -> None:
    """u0's valid file copied over u1: it would duplicate requests 0-1 and lose 2-3."""
    path = shard_path(store, "k1", "u1")
    shutil.copyfile(shard_path(store, "k1", "u0"), path)
    assert store.shards("scores", "k1") == {"u0"}
    assert indices(store.read("scores", "k1")) == [0, 1]  # no duplicate rows
    only_problem(store, path, "written as", "u0")


def test_copy_from_another_entry_is_foreign(store: Store) -> None:
    path = shard_path(store, "k1", "u9")
    shutil.copyfile(shard_path(store, "k2", "u9"), path)  # same shard name, other entry
    assert store.shards("scores", "k1") == {"u0", "u1"}
    assert indices(store.read("scores", "k1")) == [0, 1, 2, 3]
    only_problem(store, path, "written as", "k2")


def test_garbage_meta_json_is_treated_as_missing(store: Store) -> None:
    meta = store.entry_dir("scores", "k1") / "meta.json"
    meta.write_text('{"model": "m", "ta')
    assert store.read_meta("scores", "k1") is None
    assert dict(store.entries("scores")) == {"k2": {"model": "m2", "task": "t"}}
    only_problem(store, meta, "JSON")
    meta.write_text("[1, 2]")  # valid JSON, but not an object
    assert Store(store.root).read_meta("scores", "k1") is None
    store.write_meta("scores", "k1", {"model": "m"})  # the next run rewrites it
    assert Store(store.root).read_meta("scores", "k1") == {"model": "m"}


def test_old_style_shard_without_metadata_is_accepted(store: Store) -> None:
    """Stores written before shards carried checksums stay valid."""
    pq.write_table(rows(4, 2), store.entry_dir("scores", "k1") / "old.parquet")
    assert store.shards("scores", "k1") == {"u0", "u1", "old"}
    assert indices(store.read("scores", "k1")) == [0, 1, 2, 3, 4, 5]
    assert store.problems == []
    assert all(r.ok for r in store.verify())


def test_duplicate_request_index_is_never_trusted(store: Store) -> None:
    """Old-style shards carry no identity: a copy shows only as duplicate requests."""
    directory = store.entry_dir("scores", "k1")
    pq.write_table(rows(4, 2), directory / "old1.parquet")
    shutil.copyfile(directory / "old1.parquet", directory / "old2.parquet")
    assert store.shards("scores", "k1") == {"u0", "u1"}  # both suspects are recomputed
    assert indices(store.read("scores", "k1")) == [0, 1, 2, 3]
    assert sorted(p.path.name for p in store.problems) == ["old1.parquet", "old2.parquet"]
    assert all("duplicate request_index" in p.reason for p in store.problems)


def test_old_shard_overlapping_verified_ones_is_the_one_distrusted(store: Store) -> None:
    """u0 and u1 verified as this entry's own files; the old shard next to them goes."""
    directory = store.entry_dir("scores", "k1")
    pq.write_table(rows(1, 3), directory / "old.parquet")  # requests 1-3: in u0 and u1
    pq.write_table(pa.table({"request_index": [7, 7]}), directory / "twice.parquet")
    assert store.shards("scores", "k1") == {"u0", "u1"}
    assert indices(store.read("scores", "k1")) == [0, 1, 2, 3]
    reasons = {p.path.name: p.reason for p in store.problems}
    assert set(reasons) == {"old.parquet", "twice.parquet"}
    assert (
        reasons["old.parquet"] == "duplicate request_index 1, 2, 3 (also in u0.parquet, u1.parquet)"
    )
    assert reasons["twice.parquet"] == "duplicate request_index 7 (repeated within this shard)"


def test_duckdb_views_skip_damaged_shards(store: Store) -> None:
    shard_path(store, "k1", "u1").write_bytes(b"garbage")
    out = store.query('SELECT count(*) AS n, sum(request_index) AS s FROM "scores"')
    assert out.to_pylist() == [{"n": 5, "s": 0 + 1 + 100 + 101 + 102}]
    assert [p.path.name for p in store.problems] == ["u1.parquet"]


# -- lmforecast store check -------------------------------------------------------------------


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["lmforecast", *args])
    monkeypatch.setattr(console, "width", 80)  # long paths must not wrap
    try:
        main()
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def damage(store: Store) -> dict[str, Path]:
    """One of each problem: truncated, garbage, foreign, garbage meta.json, duplicates."""
    d1 = store.entry_dir("scores", "k1")
    paths = {
        "truncated": d1 / "u0.parquet",
        "foreign": d1 / "u1.parquet",
        "meta": d1 / "meta.json",
        "garbage": store.entry_dir("scores", "k2") / "u9.parquet",
        "dup1": d1 / "old1.parquet",
        "dup2": d1 / "old2.parquet",
    }
    shutil.copyfile(paths["garbage"], paths["foreign"])
    paths["truncated"].write_bytes(paths["truncated"].read_bytes()[:100])
    paths["garbage"].write_bytes(b"\x00" * 50)
    paths["meta"].write_text("not json")
    pq.write_table(rows(4, 2), paths["dup1"])
    pq.write_table(rows(5, 1), paths["dup2"])
    return paths


def test_store_check_clean_store_exits_zero(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["store", "check", "--store-dir", str(store.root)], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "3 shards in 2 entries" in out and "no problems" in out, out


def test_store_check_reports_one_line_per_problem_and_repairs(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = damage(store)
    args = ["store", "check", "--store-dir", str(store.root)]
    assert run_cli(args, monkeypatch) == 1
    out = capsys.readouterr().out.splitlines()
    assert "Traceback" not in "\n".join(out)
    for path in paths.values():
        [line] = [x for x in out if x.startswith(f"{path}: ")]  # one line: path, then cause
        assert len(line) > len(f"{path}: ")
    assert out[-1].startswith("6 problems"), out
    assert all(p.exists() for p in paths.values())  # check alone changes nothing

    assert run_cli([*args, "--repair"], monkeypatch) == 1  # problems were found
    out = capsys.readouterr().out
    quarantine = store.root / "quarantine"
    for path in paths.values():
        rel = path.relative_to(store.root)
        assert not path.exists()
        assert (quarantine / rel).is_file()
        assert f"moved {path} to {quarantine / rel}" in out, out
    assert run_cli(args, monkeypatch) == 0  # clean now; the quarantine is not part of the store
    assert "no problems" in capsys.readouterr().out
    assert store.shards("scores", "k1") == set()

    # The same damage again: moving aside never overwrites an earlier quarantined file.
    store.write_shard("scores", "k1", "u0", rows(0, 2))
    paths["truncated"].write_bytes(b"junk")
    assert run_cli([*args, "--repair", "--delete"], monkeypatch) == 1
    out = capsys.readouterr().out
    assert f"deleted {paths['truncated']}" in out, out
    assert not paths["truncated"].exists()
    assert (quarantine / paths["truncated"].relative_to(store.root)).is_file()


def test_store_check_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    assert run_cli(["store", "check", "--store-dir", str(missing)], monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(missing) in err and "Traceback" not in err
    assert not missing.exists()
    Store(tmp_path / "s")
    assert run_cli(["store", "check", "--delete", "--store-dir", str(tmp_path / "s")], monkeypatch)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--repair" in err, err


# -- end to end: score, damage a shard, score again ---------------------------------------------


def test_score_recomputes_a_damaged_unit(
    tmp_path: Path, tiny_llama_dir: Path, lmf_home: Path
) -> None:
    task_file = write_task(tmp_path / "task.jsonl", 30)
    model = load_model(str(tiny_llama_dir))
    task = get_task(str(task_file))
    config = ScoreConfig(batch_size=4, unit_size=8)
    store_dir = tmp_path / "store"
    first = scored.score_task(model, task, config, Store(store_dir))
    assert first.total_units >= 3 and first.computed_units == first.total_units

    entry = Store(store_dir).entry_dir(scored.KIND, first.key)
    victim, other = sorted(entry.glob("*.parquet"))[:2]
    left = len(task.requests) - pq.read_metadata(victim).num_rows
    victim.write_bytes(victim.read_bytes()[:-200])  # truncated

    # `show` skips what it cannot read and says so (one line naming the shard), no traceback.
    cmd = [sys.executable, "-m", "lmforecast", "show", "--store-dir", str(store_dir)]
    env = {**os.environ, "COLUMNS": "1000"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if str(victim) in line], proc.stderr
    assert f" {left}/{len(task.requests)} " in proc.stdout, proc.stdout  # the rest is shown

    store = Store(store_dir)
    second = scored.score_task(model, task, config, store)
    assert second.computed_units == 1
    assert [p.path for p in store.problems] == [victim]
    columns = [c for c in first.table.column_names if not c.startswith("cost_")]
    assert second.table.select(columns).equals(first.table.select(columns))

    # A copy of another unit's shard is recomputed too; a third run then computes nothing.
    shutil.copyfile(other, victim)
    store = Store(store_dir)
    third = scored.score_task(model, task, config, store)
    assert third.computed_units == 1
    assert third.table.select(columns).equals(first.table.select(columns))
    assert scored.score_task(model, task, config, Store(store_dir)).computed_units == 0
    assert json.loads((entry / "meta.json").read_text())["units"] == first.total_units
