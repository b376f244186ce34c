"""core.io.store: content-addressed entries, plain files only, LRU eviction under a cap, pins."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from core.io import store


@pytest.fixture(autouse=True)
def empty_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("PRUNESCOPE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(store.ENV_CACHE_MAX_MB, raising=False)
    return tmp_path / "cache" / "store"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_an_entry_round_trips_as_plain_files(empty_store: Path) -> None:
    embeddings = np.arange(12, dtype=np.float32).reshape(4, 3)
    digest = _digest("a")
    assert store.put_entry(
        digest, kind="embeddings", files={"input-0": b"raw", "embeddings.npy": embeddings},
        meta={"names": ["x.npy"]},
    )  # fmt: skip
    entry = store.get_entry(digest)
    assert entry is not None
    assert entry.kind == "embeddings"
    assert entry.meta == {"names": ["x.npy"]}
    assert entry.files["input-0"].read_bytes() == b"raw"
    np.testing.assert_array_equal(store.load_array(entry.files["embeddings.npy"]), embeddings)
    assert sorted(p.name for p in (empty_store / "entries" / digest).iterdir()) == [
        "embeddings.npy", "entry.json", "input-0",
    ]  # fmt: skip
    assert store.has_entry(digest)
    assert not store.has_entry(_digest("b"))
    assert store.get_entry(_digest("b")) is None


def test_bad_digests_and_names_are_refused() -> None:
    with pytest.raises(ValueError, match="64 lowercase hex"):
        store.put_entry("../etc", kind="x", files={})
    with pytest.raises(ValueError, match="plain letters"):
        store.put_entry(_digest("a"), kind="x", files={"../up": b""})
    assert store.get_entry("../../etc") is None


def test_object_arrays_are_never_unpickled(empty_store: Path) -> None:
    digest = _digest("obj")
    folder = empty_store / "entries" / digest
    folder.mkdir(parents=True)
    # np.save pickles object arrays by default: a hostile file the store must refuse to load
    np.save(folder / "embeddings.npy", np.array([{"a": 1}], dtype=object))
    (folder / "entry.json").write_text(json.dumps({"kind": "x", "files": ["embeddings.npy"]}))
    entry = store.get_entry(digest)
    assert entry is not None
    with pytest.raises(ValueError, match="allow_pickle"):
        store.load_array(entry.files["embeddings.npy"])


def test_least_recently_used_entries_are_evicted_first(empty_store: Path) -> None:
    cap = 2500
    old, used, new = _digest("old"), _digest("used"), _digest("new")
    for i, digest in enumerate((old, used)):
        assert store.put_entry(digest, kind="x", files={"data": bytes(1000)}, max_bytes=cap)
        os.utime(empty_store / "entries" / digest / "entry.json", (1000 + i, 1000 + i))
    assert store.get_entry(old) is not None  # reading marks it used: now `used` is the oldest
    assert store.put_entry(new, kind="x", files={"data": bytes(1000)}, max_bytes=cap)
    assert store.has_entry(old)
    assert store.has_entry(new)
    assert not store.has_entry(used)
    # An entry larger than the cap is not stored at all.
    assert not store.put_entry(_digest("huge"), kind="x", files={"data": bytes(cap)}, max_bytes=cap)
    assert store.store_usage()[0] == 2


def test_the_cap_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert store.max_store_bytes() == 2048 * 1024**2
    monkeypatch.setenv(store.ENV_CACHE_MAX_MB, "3")
    assert store.max_store_bytes() == 3 * 1024**2
    monkeypatch.setenv(store.ENV_CACHE_MAX_MB, "lots")
    with pytest.raises(ValueError, match="PRUNESCOPE_CACHE_MAX_MB='lots'"):
        store.max_store_bytes()


def test_pins_round_trip_and_damaged_rows_are_dropped(empty_store: Path) -> None:
    store.save_pins("sample:x:ssl", [5, 1], [3])
    assert store.load_pins("sample:x:ssl", n_examples=10) == ((1, 5), (3,))
    assert store.load_pins("sample:x:ssl", n_examples=4) == ((1,), (3,))
    assert store.load_pins("sample:other:ssl", n_examples=10) == ((), ())
    path = next((empty_store / "pins").iterdir())
    path.write_text(json.dumps({"dataset_key": "sample:x:ssl", "always_keep": [1, "2", 2.0, -1],
                                "always_drop": [1, 4]}))  # fmt: skip
    assert store.load_pins("sample:x:ssl", n_examples=10) == ((), (4,))
    store.save_pins("sample:x:ssl", [], [])
    assert not path.exists()


def test_clear_store_removes_everything(empty_store: Path) -> None:
    store.put_entry(_digest("a"), kind="x", files={"data": b"12345"})
    store.save_pins("k", [1], [])
    assert store.store_usage()[1] > 5
    assert store.clear_store() > 5
    assert store.store_usage() == (0, 0)
    assert store.get_entry(_digest("a")) is None


def test_imported_scores_round_trip_replace_and_forget(empty_store: Path) -> None:
    values = np.linspace(-1.0, 2.0, 50)
    meta = {"score_file": "s.csv", "column": "loss", "higher_is_easier": True}
    assert store.save_imported_scores("sample:a", "imported:loss", values, meta=meta)
    assert store.save_imported_scores("sample:a", "imported:margin", values[::-1], meta=meta)
    found = store.load_imported_scores("sample:a", n_examples=50)
    assert [item.metric for item in found] == ["imported:loss", "imported:margin"]
    np.testing.assert_array_equal(found[0].values, values)
    np.testing.assert_array_equal(found[1].values, values[::-1])
    assert found[0].meta == meta
    # Another dataset, or another row count, gets none of them.
    assert store.load_imported_scores("sample:b", n_examples=50) == []
    assert store.load_imported_scores("sample:a", n_examples=49) == []
    # Importing the same column again replaces it; forgetting one keeps the other.
    assert store.save_imported_scores("sample:a", "imported:loss", values * 2, meta=meta)
    store.forget_imported_scores("sample:a", "imported:margin")
    (only,) = store.load_imported_scores("sample:a", n_examples=50)
    np.testing.assert_array_equal(only.values, values * 2)


def test_damaged_or_evicted_imported_scores_are_left_out(empty_store: Path) -> None:
    meta = {"column": "loss"}
    assert store.save_imported_scores("sample:a", "imported:loss", np.ones(10), meta=meta)
    assert store.save_imported_scores("sample:a", "imported:nan", np.ones(10), meta=meta)
    entries = json.loads(next((empty_store / "imported").glob("*.json")).read_text())["entries"]
    # A stored array rewritten with a NaN, and one whose entry is gone, are both skipped.
    np.save(empty_store / "entries" / entries["imported:nan"] / "values.npy", np.full(10, np.nan))
    assert [item.metric for item in store.load_imported_scores("sample:a", n_examples=10)] == [
        "imported:loss"
    ]
    store.clear_store()
    assert store.load_imported_scores("sample:a", n_examples=10) == []
