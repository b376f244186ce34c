"""The deterministic build of ``sample_data/``: source images, SSL training, embeddings, README.

``python -m core build-samples [--out sample_data] [--seed 0]`` regenerates every shipped file
(see :mod:`core.io.samples` for what they are and how to load them).
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core._progress import ProgressFn, report, sub_progress
from core.export import write_atomic
from core.io.samples import (
    CHECKSUMS_FILE,
    DATASET_FILES,
    SAMPLE_DATA_DIR,
    SAMPLES,
    SampleInfo,
    check_sample_name,
)

#: CPU threads used by the build (results are reproducible for a fixed thread count).
BUILD_THREADS = 2


#: k-NN evaluation used for the quality figures (see ``core.analysis.knn.knn_accuracy``).
KNN_K = 10


KNN_TEST_SIZE = 0.2


# The package README lists the classes alphabetically; codes 0..9 follow that order (checked by
# looking at the images: 0 bears ... 6 giraffes ... 9 zebras).
_ANIMAL_CLASSES = (
    "bear",
    "bird",
    "cat",
    "cow",
    "dog",
    "elephant",
    "giraffe",
    "horse",
    "sheep",
    "zebra",
)


@dataclass(frozen=True, eq=False, slots=True)
class SampleBuild:
    """What :func:`build_all` made for one sample."""

    name: str
    n_examples: int
    epochs: int
    knn_ssl: float
    knn_pixels: float  # the shipped pixel embedding
    knn_raw_pixels: float  # all pixels / 255, no PCA
    final_loss: float
    train_seconds: float


def build_all(
    out_dir: str | Path = SAMPLE_DATA_DIR,
    *,
    seed: int = 0,
    epochs: int | None = None,
    names: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
) -> tuple[SampleBuild, ...]:
    """Regenerate every shipped file deterministically from ``seed``.

    Parameters
    ----------
    out_dir : path
        Written: ``<name>/{images.npz, metadata.csv, ssl_embeddings.npy, pixel_embeddings.npy,
        encoder.pt}``, ``checksums.json`` and ``README.md``.
    seed : int
        Seeds SSL training and the k-NN split.
    epochs : int, optional
        SSL training epochs for every sample; default each sample's ``ssl_epochs``.
    names : sequence of str, optional
        Build only these samples (the checksums and README then list only them).
    progress : callable (fraction, message), optional

    Returns
    -------
    tuple of SampleBuild
    """
    import torch

    selected = [check_sample_name(n) for n in (names or list(SAMPLES))]
    if epochs is not None and epochs < 1:
        raise ValueError(f"epochs={epochs} should be >= 1")
    out = Path(out_dir)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(BUILD_THREADS)
    try:
        builds = []
        for i, name in enumerate(selected):
            child = sub_progress(progress, i / len(selected), (i + 1) / len(selected))
            builds.append(_build_one(SAMPLES[name], out / name, seed, epochs, child))
    finally:
        torch.set_num_threads(previous_threads)
    checksums = {}
    for name in selected:
        for filename in DATASET_FILES:
            data = (out / name / filename).read_bytes()
            checksums[f"{name}/{filename}"] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
            }
    _write(out / CHECKSUMS_FILE, _json_bytes({"seed": seed, "files": checksums}))
    _write(out / "README.md", _readme(builds, checksums, seed).encode("utf-8"))
    report(progress, 1.0, "done")
    return tuple(builds)


def _build_one(
    info: SampleInfo, folder: Path, seed: int, epochs: int | None, progress: ProgressFn | None
) -> SampleBuild:
    from core.analysis.knn import knn_accuracy
    from core.embed.ssl import embed_images, encoder_bytes, train_ssl_encoder
    from core.io.images import pixel_embeddings

    images, labels = _source_images(info.name)
    n = images.shape[0]
    width = 5 if n >= 10_000 else 4
    ids = [f"{info.id_prefix}-{i:0{width}d}" for i in range(n)]
    pixels = _pixel_embeddings(images, pca=info.name == "animal_mnist", seed=seed)
    raw = pixel_embeddings(images)

    start = time.perf_counter()
    encoder = train_ssl_encoder(
        images,
        epochs=info.ssl_epochs if epochs is None else epochs,
        seed=seed,
        hflip=info.hflip,
        progress=sub_progress(progress, 0.0, 0.95),
    )
    train_seconds = time.perf_counter() - start
    ssl = embed_images(encoder, images, progress=sub_progress(progress, 0.95, 1.0))

    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "images.npz", _npz_bytes(images=images))
    rows = "".join(f"{i},{label}\n" for i, label in zip(ids, labels, strict=True))
    _write(folder / "metadata.csv", ("id,label\n" + rows).encode("utf-8"))
    _write(folder / "ssl_embeddings.npy", _npy_bytes(ssl))
    _write(folder / "pixel_embeddings.npy", _npy_bytes(pixels))
    _write(folder / "encoder.pt", encoder_bytes(encoder))

    def knn(x: np.ndarray) -> float:
        return knn_accuracy(x, labels, k=KNN_K, seed=seed, test_size=KNN_TEST_SIZE)

    return SampleBuild(
        name=info.name,
        n_examples=n,
        epochs=encoder.config.epochs,
        knn_ssl=knn(ssl),
        knn_pixels=knn(pixels),
        knn_raw_pixels=knn(raw),
        final_loss=encoder.loss_history[-1],
        train_seconds=train_seconds,
    )


def _source_images(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Original images uint8 (n, h, w) and label values (str) of a sample, from installed packages.

    Animal-MNIST ships as gzip pickles inside the installed ``animal_mnist`` package; they are
    read only here, only from that package's own folder, with an unpickler that can build nothing
    but numpy arrays (:class:`_ArrayUnpickler`), and checked to be plain arrays.
    """
    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        scaled = np.rint(np.asarray(digits.images, dtype=np.float64) * (255.0 / 16.0))
        images = np.clip(scaled, 0, 255).astype(np.uint8)
        return images, np.asarray(digits.target).astype(str)
    import gzip
    import importlib.util

    spec = importlib.util.find_spec("animal_mnist")
    if spec is None or spec.origin is None:
        raise ValueError(
            "building animal_mnist needs the animal-mnist package (pip install "
            "--no-deps animal-mnist==0.4)"
        )
    folder = Path(spec.origin).parent / "data" / "Animal_MNIST"
    with gzip.open(folder / "animal_data_version_3.gz", "rb") as handle:
        images = _ArrayUnpickler(handle).load()
    with gzip.open(folder / "animal_label_version_3.gz", "rb") as handle:
        codes = _ArrayUnpickler(handle).load()
    images = np.asarray(images)
    codes = np.asarray(codes)
    if images.dtype != np.uint8 or images.shape != (10_000, 28, 28):
        raise ValueError(f"unexpected animal-mnist images {images.dtype} {images.shape}")
    if codes.shape != (10_000,) or codes.min() < 0 or codes.max() >= len(_ANIMAL_CLASSES):
        raise ValueError(f"unexpected animal-mnist labels {codes.dtype} {codes.shape}")
    names = np.asarray(_ANIMAL_CLASSES, dtype=str)[codes.astype(np.int64)]
    return np.ascontiguousarray(images), names


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: any other global is refused, so a tampered data
    file cannot run code."""

    _ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
        }
    )

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise ValueError(f"animal-mnist data holds {module}.{name}, not a plain numpy array")
        return super().find_class(module, name)


def _pixel_embeddings(images: np.ndarray, *, pca: bool, seed: int) -> np.ndarray:
    flat = images.reshape(images.shape[0], -1).astype(np.float64) / 255.0
    if pca:
        from sklearn.decomposition import PCA

        flat = PCA(n_components=64, svd_solver="full", random_state=seed).fit_transform(flat)
    return np.ascontiguousarray(flat, dtype=np.float32)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    """Like ``np.savez_compressed`` but byte-for-byte reproducible (fixed member timestamps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key, array in arrays.items():
            member = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            archive.writestr(member, _npy_bytes(array), compresslevel=9)
    return buffer.getvalue()


def _json_bytes(obj: object) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


# The demo training records are made by core.scores.dynamics (not by this build); the README keeps
# their section so a rebuild does not drop it.
_DEMO_RECORDS_README = "## `demo_training_records.npz` - training records for `score-dynamics`\n\nNot written by `build-samples`: `python -m core demo-records --out\nsample_data/demo_training_records.npz --seed 0` makes it (about 0.7 MB). It flips 90 of the 1,797\ndigits labels (5%, seeded) to another class, then trains a numpy softmax regression on the\nstandardised `digits/pixel_embeddings.npy` for 10 epochs (minibatch SGD, batch 32, learning\nrate 0.5) and records, for every example at every presentation, its `logits` (float32\n10x1797x10, taken before the update) and `correct` (argmax against the flipped label); `labels`\nholds the flipped labels, `ids` the `dg-...` ids. The flipped examples are those whose label\ndiffers from `digits/metadata.csv`; `python -m core demo-records --check\nsample_data/demo_training_records.npz` prints how well each metric finds them (precision at\nk = 90: el2n 0.944, forgetting 0.878, aum 0.944)."


def _readme(
    builds: Sequence[SampleBuild], checksums: dict[str, dict[str, object]], seed: int
) -> str:
    lines = [
        "# Sample data",
        "",
        "Two small, real image datasets so prunescope can be tried without any data of your own.",
        "Every file here is generated by `python -m core build-samples --out sample_data "
        f"--seed {seed}` (see `core/embed/sample_build.py`); this README too. Load one with",
        '`core.io.samples.load_sample(name, embedding="ssl" | "pixels")`.',
        "",
        "## Datasets",
        "",
    ]
    for build in builds:
        info = SAMPLES[build.name]
        lines += [
            f"### `{info.name}/` - {info.title}",
            "",
            f"- {info.description}",
            f"- Source: {info.source}.",
            f"- Licence: {info.licence}.",
            f"- Images: `images.npz`, key `images`, uint8 {build.n_examples}x"
            f"{info.image_shape[0]}x{info.image_shape[1]}.",
            f"- `metadata.csv`: `id,label`, ids `{info.id_prefix}-0...`.",
            f"- `pixel_embeddings.npy`: float32, {info.pixel_embedding}.",
            f"- `ssl_embeddings.npy`: float32 (n, 128), pooled backbone features of the SimCLR "
            f"encoder in `encoder.pt`, trained {build.epochs} epochs from seed {seed}, horizontal "
            f"flips {'on' if info.hflip else 'off'}.",
            "",
        ]
    lines += [
        "Animal-MNIST labels: the package ships integer codes 0-9 and lists the classes",
        "alphabetically (Bear, Bird, Cat, Cow, Dog, Elephant, Giraffe, Horse, Sheep, Zebra); the",
        "codes follow that order (checked by viewing the images), and `metadata.csv` holds the",
        "lower-case names. Digits: sklearn's 0..16 intensities are scaled to 0..255",
        "(`rint(x * 255 / 16)`); labels are the digits 0-9.",
        "",
        _DEMO_RECORDS_README,
        "",
        "## The self-supervised encoder",
        "",
        "`core/embed/ssl.py`: a 5-layer CNN (3x3 conv + batch-norm + ReLU, widths 32-64-64-128-128, two",
        "stride-2 layers, global average pooling -> 128-d embedding) with a 2-layer projection head,",
        "trained with SimCLR's NT-Xent loss (temperature 0.3, batch 256, Adam at lr 2e-3 with warm-up",
        "and cosine decay, weight decay 1e-6) on",
        "two augmented views per image: random resized crop (35-100 % of the area) with +-12 degree",
        "rotation, horizontal flip (Animal-MNIST only: mirrored animals are still animals, mirrored",
        "digits are not), random contrast/brightness and Gaussian noise. Digits are upsampled to",
        "16x16 for the network. CPU only, `torch.use_deterministic_algorithms(True)`, "
        f"{BUILD_THREADS} threads.",
        "",
        "## Quality: k-NN label accuracy",
        "",
        f"Cosine k-NN (k={KNN_K}, majority vote) on a seeded, stratified "
        f"{round(100 * (1 - KNN_TEST_SIZE))}/{round(100 * KNN_TEST_SIZE)} split",
        f"(`core.analysis.knn.knn_accuracy(embeddings, labels, k={KNN_K}, seed={seed})`). Labels are never "
        "used to train the embeddings.",
        "",
        "| dataset | SSL embedding (128-d) | shipped pixel embedding | raw pixels (/255) |",
        "| --- | --- | --- | --- |",
    ]
    for build in builds:
        info = SAMPLES[build.name]
        d_pix = 64
        d_raw = info.image_shape[0] * info.image_shape[1]
        lines.append(
            f"| {info.title} | {build.knn_ssl:.4f} | {build.knn_pixels:.4f} ({d_pix}-d) | "
            f"{build.knn_raw_pixels:.4f} ({d_raw}-d) |"
        )
    total = sum(int(str(v["bytes"])) for v in checksums.values())
    lines += [
        "",
        "## Files and checksums",
        "",
        f"Total {total:,} bytes. The same table is in `{CHECKSUMS_FILE}` (read by the tests).",
        "Rebuilding on another CPU or thread count can change the last bits of the trained",
        "weights and so the checksums of `encoder.pt` and `ssl_embeddings.npy`.",
        "",
        "| file | bytes | sha256 |",
        "| --- | --- | --- |",
    ]
    for path, entry in checksums.items():
        lines.append(f"| `{path}` | {int(str(entry['bytes'])):,} | `{entry['sha256']}` |")
    lines.append("")
    return "\n".join(lines)
