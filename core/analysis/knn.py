"""k-NN accuracy of an embedding: how well its neighbourhoods agree with the labels."""

from __future__ import annotations

import math

import numpy as np


def knn_accuracy(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    k: int = 10,
    seed: int = 0,
    test_size: float = 0.2,
    max_examples: int | None = None,
) -> float:
    """Held-out accuracy of a cosine k-nearest-neighbour classifier on the embeddings.

    A seeded split (``sklearn.model_selection.train_test_split`` with ``random_state=seed``,
    stratified by label when every class has at least 2 members) holds out ``test_size``; each
    held-out example gets the majority label of its ``k`` nearest training examples by cosine
    distance (unweighted; ties go to the smallest label). ``k`` is clipped to the training size.

    Parameters
    ----------
    embeddings : ndarray of shape (n, d)
    labels : ndarray of shape (n,)
        Any label values (ints or strings).
    k : int
    seed : int
    test_size : float
        Fraction in (0, 1) held out.
    max_examples : int or None
        When n exceeds it, measure on a seeded uniform sample of this many examples first (the
        brute-force search costs O(n^2 d); the app passes 20,000 so 1M-row datasets stay fast).

    Returns
    -------
    float
        Fraction of held-out examples classified correctly.
    """
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    embeddings = np.asarray(embeddings)  # float64 only after any sampling (1M rows: no 1 GB copy)
    labels = np.asarray(labels)
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings should be 2-D (n, d), got shape={embeddings.shape}")
    n = embeddings.shape[0]
    if labels.shape != (n,):
        raise ValueError(f"labels should have shape ({n},), got shape={labels.shape}")
    if k < 1:
        raise ValueError(f"k={k} should be >= 1")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size={test_size} should be in (0, 1)")
    if max_examples is not None:
        if max_examples < 2:
            raise ValueError(f"max_examples={max_examples} should be >= 2")
        if n > max_examples:
            sample = np.sort(np.random.default_rng(seed).choice(n, max_examples, replace=False))
            embeddings, labels, n = embeddings[sample], labels[sample], max_examples
    embeddings = embeddings.astype(np.float64)
    n_test = math.ceil(test_size * n)
    if n < 2 or n_test >= n:
        raise ValueError(f"k-NN accuracy needs a non-empty train and test split, got n={n}")
    _, counts = np.unique(labels, return_counts=True)
    stratify = labels if counts.min() >= 2 and n_test >= len(counts) else None
    train, test = train_test_split(
        np.arange(n), test_size=test_size, random_state=seed, stratify=stratify
    )
    classifier = KNeighborsClassifier(
        n_neighbors=min(k, len(train)), metric="cosine", algorithm="brute"
    )
    classifier.fit(embeddings[train], labels[train])
    return float(np.mean(classifier.predict(embeddings[test]) == labels[test]))
