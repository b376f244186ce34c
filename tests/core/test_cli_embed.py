"""Tests for the ``embed`` and ``embed-text`` CLI commands (through core.cli.main)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from core.cli import main


@pytest.fixture
def image_folder(tmp_path):
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        array = rng.integers(0, 256, size=(10, 10), dtype=np.uint8)
        Image.fromarray(array).save(folder / f"img{i:02d}.png")
    (folder / "notes.txt").write_text("not an image")
    labels = tmp_path / "labels.csv"
    labels.write_text("file,label\n" + "".join(f"img{i:02d}.png,{i % 3}\n" for i in range(12)))
    return folder, labels


def test_embed_pixels_with_labels(image_folder, tmp_path, capsys) -> None:
    folder, labels = image_folder
    out = tmp_path / "emb.npy"
    assert (
        main(
            ["embed", str(folder), "--method", "pixels", "--labels", str(labels), "--out", str(out)]
        )
        == 0
    )
    embeddings = np.load(out)
    assert embeddings.shape == (12, 100)
    assert embeddings.dtype == np.float32
    assert embeddings.min() >= 0.0
    assert embeddings.max() <= 1.0
    meta = pd.read_csv(tmp_path / "emb.ids.csv", dtype=str)
    assert meta.columns.tolist() == ["id", "label"]
    assert meta["id"].tolist()[:2] == ["img00.png", "img01.png"]
    assert meta["label"].tolist()[:4] == ["0", "1", "2", "0"]
    assert "skipped 1 non-image" in capsys.readouterr().err


@pytest.mark.slow
def test_embed_ssl_from_zip(image_folder, tmp_path) -> None:
    folder, _ = image_folder
    archive = tmp_path / "imgs.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(folder.iterdir()):
            handle.write(path, arcname=path.name)
    out = tmp_path / "ssl.npy"
    encoder = tmp_path / "enc.pt"
    assert (
        main(
            [
                "embed",
                str(archive),
                "--method",
                "ssl",
                "--epochs",
                "1",
                "--seed",
                "0",
                "--out",
                str(out),
                "--save-encoder",
                str(encoder),
            ]
        )
        == 0
    )
    embeddings = np.load(out)
    assert embeddings.shape == (12, 128)
    assert np.isfinite(embeddings).all()
    assert encoder.is_file()
    assert pd.read_csv(tmp_path / "ssl.ids.csv").columns.tolist() == ["id"]


def test_embed_with_torchscript_model(image_folder, tmp_path) -> None:
    import torch

    folder, _ = image_folder
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1))
    model = tmp_path / "net.ts"
    with pytest.warns(DeprecationWarning, match="torch.jit"):
        torch.jit.save(torch.jit.script(net), str(model))
    out = tmp_path / "m.npy"
    assert (
        main(
            [
                "embed",
                str(folder),
                "--method",
                f"model:{model}",
                "--model-size",
                "16",
                "--normalize",
                "imagenet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert np.load(out).shape == (12, 4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "clip"], "--method 'clip' should be ssl, pixels or model:PATH"),
        (["--method", "pixels", "--epochs", "0"], "--epochs 0 should be >= 1"),
        (["--method", "model:"], "needs a path after 'model:'"),
        (["--method", "model:missing.ts"], "file not found: missing.ts"),
    ],
)
def test_embed_bad_options(image_folder, tmp_path, capsys, args, message) -> None:
    folder, _ = image_folder
    assert main(["embed", str(folder), "--out", str(tmp_path / "e.npy"), *args]) == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line.startswith("error: ")
    assert message in last_line
    assert not (tmp_path / "e.npy").exists()


def test_embed_bad_inputs(tmp_path, capsys) -> None:
    out = str(tmp_path / "e.npy")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as handle:
        handle.writestr("../x.png", b"x")
    assert main(["embed", str(evil), "--method", "pixels", "--out", out]) == 2
    assert "unsafe member name" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["embed", str(empty), "--method", "pixels", "--out", out]) == 2
    assert "no readable images" in capsys.readouterr().err
    assert main(["embed", str(tmp_path / "nope"), "--method", "pixels", "--out", out]) == 2
    assert "file not found" in capsys.readouterr().err
    assert main(["embed", str(empty), "--method", "pixels", "--out", str(tmp_path / "e.txt")]) == 2
    assert "should end in .npy" in capsys.readouterr().err


@pytest.mark.slow  # loads the MiniLM model (~2.5 s in whichever test loads it first)
def test_embed_text(tmp_path) -> None:
    texts = tmp_path / "t.csv"
    texts.write_text("id,text,topic\na,The cat sleeps.,pets\nb,Stocks fell.,money\n")
    out = tmp_path / "t.npy"
    assert (
        main(
            [
                "embed-text",
                str(texts),
                "--column",
                "text",
                "--label-column",
                "topic",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert np.load(out).shape == (2, 384)
    meta = pd.read_csv(tmp_path / "t.ids.csv", dtype=str)
    assert meta.to_dict("list") == {
        "id": ["a", "b"],
        "label": ["pets", "money"],
        "text": ["The cat sleeps.", "Stocks fell."],
    }


def test_embed_text_bad_column(tmp_path, capsys) -> None:
    texts = tmp_path / "t.csv"
    texts.write_text("body\nx\n")
    assert main(["embed-text", str(texts), "--out", str(tmp_path / "t.npy")]) == 2
    assert "no column 'text'" in capsys.readouterr().err


@pytest.mark.slow  # loads the MiniLM model (~2.5 s in whichever test loads it first)
def test_embed_text_reads_a_label_column_by_default(tmp_path) -> None:
    texts = tmp_path / "t.csv"
    texts.write_text("id,text,label\na,The cat sleeps.,pets\nb,Stocks fell.,money\n")
    assert main(["embed-text", str(texts), "--out", str(tmp_path / "t.npy")]) == 0
    meta = pd.read_csv(tmp_path / "t.ids.csv", dtype=str)
    assert meta["label"].tolist() == ["pets", "money"]
    unlabelled = tmp_path / "u.csv"
    unlabelled.write_text("text\nThe cat sleeps.\nStocks fell.\n")
    assert main(["embed-text", str(unlabelled), "--out", str(tmp_path / "u.npy")]) == 0
    assert "label" not in pd.read_csv(tmp_path / "u.ids.csv", dtype=str).columns


def test_embed_imagefolder_zip_writes_class_labels_for_the_next_command(tmp_path) -> None:
    from PIL import Image

    rng = np.random.default_rng(1)
    archive = tmp_path / "pets.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for i in range(12):
            buffer = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(buffer, "PNG")
            handle.writestr(f"pets/{('cat', 'dog', 'owl')[i % 3]}/{i:02d}.png", buffer.getvalue())
    out = tmp_path / "emb.npy"
    assert main(["embed", str(archive), "--method", "pixels", "--out", str(out)]) == 0
    meta = pd.read_csv(tmp_path / "emb.ids.csv", dtype=str)
    assert meta.columns.tolist() == ["id", "label"]
    assert meta["label"].value_counts().to_dict() == {"cat": 4, "dog": 4, "owl": 4}
    # The README's next step reads that file as --meta and balances by the folder classes.
    kept = tmp_path / "kept.csv"
    argv = ["prune", str(out), "--meta", str(tmp_path / "emb.ids.csv"), "--keep", "0.5"]
    argv += ["--k", "3", "--balance-by", "label", "--out", str(kept)]
    assert main(argv) == 0
    assert set(pd.read_csv(kept, dtype=str)["label"]) == {"cat", "dog", "owl"}
