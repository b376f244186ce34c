"""The shipped demo training records: a numpy softmax regression on digits with flipped labels.

``python -m core demo-records --out sample_data/demo_training_records.npz`` builds the shipped
file; ``python -m core demo-records --check FILE`` prints how well each training-dynamics metric
finds its flipped labels.
"""

from __future__ import annotations

import numpy as np

from core.io.records import TrainingRecords, make_training_records
from core.scores.dynamics import softmax


def make_demo_records(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    ids: np.ndarray | None = None,
    epochs: int = 10,
    flip_fraction: float = 0.05,
    learning_rate: float = 0.5,
    batch_size: int = 32,
    seed: int = 0,
) -> tuple[TrainingRecords, np.ndarray]:
    """Train a numpy softmax regression with some labels flipped and record its training dynamics.

    ``round(flip_fraction * n)`` examples (chosen with ``seed``) get a different, uniformly drawn
    label; then minibatch SGD (cross-entropy, weights from zero, features standardised) runs for
    ``epochs`` epochs over a fresh seeded permutation each epoch. For each example the logits
    are recorded **when it is presented**, before the update (as in Toneva et al. and Pleiss et
    al.), and ``correct`` is their argmax against the (noisy) training label.

    Parameters
    ----------
    embeddings : ndarray of shape (n, d)
    labels : ndarray of shape (n,), int in [0, c)
    ids : ndarray of shape (n,), optional
    epochs, flip_fraction, learning_rate, batch_size, seed
        Training settings.

    Returns
    -------
    (TrainingRecords, flipped)
        Records with float32 ``logits`` (epochs, n, c), ``correct``, the noisy ``labels`` and
        ``ids``; ``flipped`` (n,) bool marks the examples whose label was changed.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    clean = np.asarray(labels, dtype=np.int64)
    n, d = x.shape
    c = int(clean.max()) + 1
    rng = np.random.default_rng(seed)
    n_flip = round(flip_fraction * n)
    flipped_rows = np.sort(rng.choice(n, size=n_flip, replace=False))
    noisy = clean.copy()
    noisy[flipped_rows] = (clean[flipped_rows] + rng.integers(1, c, size=n_flip)) % c
    flipped = np.zeros(n, dtype=bool)
    flipped[flipped_rows] = True

    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    weights = np.zeros((d, c))
    bias = np.zeros(c)
    logits = np.zeros((epochs, n, c), dtype=np.float32)
    onehot = np.eye(c)[noisy]
    for epoch in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            z = x[batch] @ weights + bias
            logits[epoch, batch] = z
            grad = (softmax(z) - onehot[batch]) / batch.size
            weights -= learning_rate * (x[batch].T @ grad)
            bias -= learning_rate * grad.sum(axis=0)
    correct = logits.argmax(axis=2) == noisy[None, :]
    records = make_training_records(logits=logits, correct=correct, labels=noisy, ids=ids)
    return records, flipped


def precision_at_k(values: np.ndarray, flipped: np.ndarray) -> float:
    """Fraction of the k highest-scored examples that are flipped, k = number flipped.

    Ties are broken by index (lower first), as in ``core.prune.select``.
    """
    k = int(np.sum(flipped))
    order = np.lexsort((np.arange(values.size), -np.asarray(values)))
    return float(np.mean(flipped[order[:k]])) if k else float("nan")
