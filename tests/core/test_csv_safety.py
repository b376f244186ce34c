"""CSV round trips: pandas' own header on the way in, quoting and formula guards on the way out."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from core.export import (
    CSV_FORMULA_GUARD,
    build_manifest,
    csv_line,
    manifest_bytes,
    neutralise_formula,
    scores_csv_bytes,
)
from core.io.data import load_embeddings, make_dataset
from core.scores.metrics import ScoreParams, Scores


def _scores(values: list[float], clusters: list[int] | None = None) -> Scores:
    return Scores(
        metric="ssp",
        values=np.asarray(values, dtype=np.float64),
        clusters=None if clusters is None else np.asarray(clusters, dtype=np.int64),
        centroids=None,
        params=ScoreParams(k=2, seed=0),
    )


def test_pandas_default_header_keeps_every_row(tmp_path: Path) -> None:
    matrix = np.random.default_rng(0).normal(size=(50, 7)).astype(np.float32)
    pd.DataFrame(matrix).to_csv(tmp_path / "emb.csv", index=False)  # header 0,1,...,6
    loaded = load_embeddings(tmp_path / "emb.csv")
    assert loaded.shape == (50, 7)
    np.testing.assert_allclose(loaded, matrix, rtol=1e-6)
    pd.DataFrame(matrix[:, :1]).to_csv(tmp_path / "one.csv", index=False)  # header "0"
    assert load_embeddings(tmp_path / "one.csv").shape == (50, 1)


def test_numeric_first_rows_that_do_not_count_from_zero_are_data(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("1,2,3\n4,5,6\n")
    assert load_embeddings(tmp_path / "a.csv").shape == (2, 3)
    (tmp_path / "b.csv").write_text("0.5,1.5\n2,3\n")
    assert load_embeddings(tmp_path / "b.csv").shape == (2, 2)
    (tmp_path / "c.csv").write_text("0\n1\n2\n")  # one integer column: "0" is data
    assert load_embeddings(tmp_path / "c.csv").shape == (3, 1)


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=12,
)
_EXTRA = st.sampled_from(["", ",", '"', "\r", "\n", "\r\n", "=", "-", "+", "@", "\t", " "])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(_EXTRA, _TEXT, _EXTRA), min_size=2, max_size=8, unique=True),
    st.lists(_TEXT, min_size=2, max_size=8),
)
def test_every_export_reads_back_exactly(parts: list[tuple[str, ...]], labels: list[str]) -> None:
    ids = list(dict.fromkeys("".join(p) for p in parts))
    if len(ids) < 2:
        return
    labels = (labels * len(ids))[: len(ids)]
    dataset = make_dataset(np.ones((len(ids), 2)), ids=np.array(ids, dtype=object), labels=labels)
    data = scores_csv_bytes(dataset, _scores([-0.5] * len(ids), [0] * len(ids)))
    expected_ids = [neutralise_formula(str(i)) for i in dataset.ids]
    expected_labels = [neutralise_formula(str(v)) for v in dataset.label_strings()]
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows[0] == ["index", "id", "score", "cluster", "label"]
    assert [row[1] for row in rows[1:]] == expected_ids
    assert [row[4] for row in rows[1:]] == expected_labels
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert frame["id"].tolist() == expected_ids
    assert frame["label"].tolist() == expected_labels
    assert frame["score"].tolist() == ["-0.5"] * len(ids)  # numbers are never prefixed


def test_formula_cells_are_neutralised_and_the_manifest_says_so() -> None:
    ids = ['=HYPERLINK("x")', "+1", "-5", "@SUM(A1)", "\tcmd", "\rcmd", "plain", "a=b"]
    labels = ["=evil", "cat", "cat", "cat", "cat", "cat", "-dog", "cat"]
    dataset = make_dataset(np.ones((8, 2)), ids=ids, labels=labels)
    scores = _scores([-1.0, 0, 1, 2, 3, 4, 5, 6])
    frame = pd.read_csv(io.BytesIO(scores_csv_bytes(dataset, scores)), dtype=str)
    assert frame["id"].tolist() == ["'" + i for i in ids[:6]] + ["plain", "a=b"]
    assert frame["label"].tolist() == ["'=evil", *["cat"] * 5, "'-dog", "cat"]
    assert frame["score"].tolist()[0] == "-1"
    manifest = json.loads(manifest_bytes(build_manifest(dataset, scores, None)))
    assert manifest["csv_formula_guard"] == CSV_FORMULA_GUARD == "owasp-single-quote"


def test_ordinary_ids_export_the_same_bytes_as_before() -> None:
    dataset = make_dataset(np.ones((3, 2)), ids=["a", "b c", "007"], labels=["x", "y", "x"])
    data = scores_csv_bytes(dataset, _scores([0.25, -0.0, 1e-12], [1, 0, 1]))
    assert data == (b"index,id,score,cluster,label\n0,a,0.25,1,x\n1,b c,0,0,y\n2,007,1e-12,1,x\n")


def test_the_column_at_once_writes_what_csv_line_writes_row_by_row() -> None:
    """Id and label cells are checked for quoting and formulas once per column; a NUL before
    "=" inside an id must not fool that check (it falls back to the row-by-row rule)."""
    plain = [f"r{i}" for i in range(40)]
    for odd in ([], ["x,y"], ["a\x00=b"], ["=1"], ['q"'], ["-\x00"]):
        ids = plain + odd
        labels = ["cat", "dog"] * (len(ids) // 2) + ["cat"] * (len(ids) % 2)
        dataset = make_dataset(np.ones((len(ids), 2)), ids=ids, labels=labels)
        values = np.linspace(-1.0, 1.0, len(ids))
        data = scores_csv_bytes(dataset, _scores(values.tolist(), list(range(len(ids)))))
        expected = csv_line(["index", "id", "score", "cluster", "label"]) + "".join(
            csv_line([i, neutralise_formula(str(name)), f"{v + 0.0:.9g}", i, label])
            for i, (name, v, label) in enumerate(zip(dataset.ids, values, labels, strict=True))
        )
        assert data == expected.encode("utf-8")
