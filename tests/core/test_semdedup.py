"""Tests for SemDeDup: planted duplicates, survivor order, greedy chains, blocking, validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.io.data import make_dataset
from core.prune.semdedup import dedup_outputs, duplicate_pairs, removed_at, removed_counts, semdedup


def _unit(degrees: float, plane: tuple[int, int] = (0, 1), d: int = 5) -> np.ndarray:
    """Unit vector at ``degrees`` in the plane of two axes: cosines between them are exact."""
    out = np.zeros(d)
    out[plane[0]] = np.cos(np.deg2rad(degrees))
    out[plane[1]] = np.sin(np.deg2rad(degrees))
    return out


@pytest.fixture
def planted() -> np.ndarray:
    """Cluster A: angles 0, 1, 20, 21, 40 degrees (rows 0-4; cos 1 deg = 0.99985 > 0.99, the
    next pairs at cos 19-20 deg ~ 0.94 are not duplicates); cluster B: row 5 at 0 deg, row 6 at
    30 deg, row 7 an exact copy of row 5; row 8 alone on the last axis (a size-1 cluster)."""
    rows = [_unit(a) for a in (0, 1, 20, 21, 40)]
    rows += [_unit(0, (2, 3)), _unit(30, (2, 3)), _unit(0, (2, 3)), np.eye(5)[4]]
    return 3.0 * np.array(rows, dtype=np.float32)  # scale: only directions matter


@pytest.mark.parametrize("backend", ["sklearn", "faiss"])
def test_keep_hard_removes_planted_duplicates_and_keeps_the_farthest(
    planted: np.ndarray, backend: str
) -> None:
    result = semdedup(planted, k=3, epsilon=0.01, order="keep_hard", backend=backend)
    # Precondition: the clusters are the planted groups.
    assert len({*result.clusters[:5]}) == 1
    assert len({*result.clusters[5:8]}) == 1
    assert len({*result.clusters}) == 3
    # The centroid of A points at ~16 deg: 0 deg is farther than 1 deg, 21 farther than 20.
    assert result.distances[0] > result.distances[1]
    assert result.distances[3] > result.distances[2]
    np.testing.assert_array_equal(result.keep_mask, [1, 0, 0, 1, 1, 1, 1, 0, 1])
    np.testing.assert_array_equal(result.duplicate_of, [-1, 0, 3, -1, -1, -1, -1, 5, -1])
    assert result.n_removed == 3
    np.testing.assert_array_equal(result.kept_indices, [0, 3, 4, 5, 6, 8])
    assert result.params.threshold == pytest.approx(0.99)
    assert result.params.n_singletons == 1


def test_keep_easy_keeps_the_nearest_member(planted: np.ndarray) -> None:
    result = semdedup(planted, k=3, epsilon=0.01, order="keep_easy")
    np.testing.assert_array_equal(result.keep_mask, [0, 1, 1, 0, 1, 1, 1, 0, 1])
    # Exact copies tie on distance: the lower index comes first and survives.
    np.testing.assert_array_equal(result.duplicate_of, [1, -1, -1, 2, -1, -1, -1, 5, -1])


def test_random_order_keeps_exactly_one_of_each_pair_and_follows_the_seed(
    planted: np.ndarray,
) -> None:
    first = semdedup(planted, k=3, epsilon=0.01, order="random", seed=4)
    again = semdedup(planted, k=3, epsilon=0.01, order="random", seed=4)
    np.testing.assert_array_equal(first.keep_mask, again.keep_mask)
    for pair in ((0, 1), (2, 3), (5, 7)):
        assert first.keep_mask[list(pair)].sum() == 1
    assert first.keep_mask[[4, 6, 8]].all()


def test_size_one_cluster_is_never_pruned(planted: np.ndarray) -> None:
    result = semdedup(planted, k=3, epsilon=0.99)  # threshold 0.01: almost everything "similar"
    singleton = 8
    assert (result.clusters == result.clusters[singleton]).sum() == 1
    assert result.keep_mask[singleton]
    assert np.isnan(result.max_similarity[singleton])


def test_greedy_chain_removes_a_member_because_of_a_removed_one() -> None:
    # Row 3 (90 deg) is farthest from the centroid (~25.6 deg), then a=0, b=8, c=16 deg.
    # cos 8 deg = 0.990 > 0.98 (a~b, b~c) but cos 16 deg = 0.961 (a, c not similar).
    a, b, c, far = 0, 1, 2, 3
    embeddings = np.array([_unit(0), _unit(8), _unit(16), _unit(90)], dtype=np.float32)
    result = semdedup(embeddings, k=1, epsilon=0.02)
    assert result.distances[far] > result.distances[a] > result.distances[b] > result.distances[c]
    assert result.max_similarity[c] == pytest.approx(np.cos(np.deg2rad(8)), abs=1e-6)
    assert embeddings[a] @ embeddings[c] < 0.98
    # c goes because of b, which is itself removed (survivors-only would have kept c).
    np.testing.assert_array_equal(result.keep_mask, [True, False, False, True])
    np.testing.assert_array_equal(result.duplicate_of, [-1, a, b, -1])


def _noisy_copies(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """300 random rows plus noisy copies of the first 60 at cosine ~0.9999 (rows 300-359)."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((300, 16)).astype(np.float32)
    copies = base[:60] + 0.01 * rng.standard_normal((60, 16)).astype(np.float32)
    return np.concatenate([base, copies]), np.arange(300, 360)


@pytest.mark.parametrize("block_size", [1, 2, 3, 7, 64])
def test_block_size_does_not_change_the_result(block_size: int) -> None:
    embeddings, _ = _noisy_copies()
    reference = semdedup(embeddings, k=4, epsilon=0.05)
    blocked = semdedup(embeddings, k=4, epsilon=0.05, block_size=block_size)
    np.testing.assert_array_equal(blocked.keep_mask, reference.keep_mask)
    np.testing.assert_array_equal(blocked.duplicate_of, reference.duplicate_of)
    np.testing.assert_allclose(blocked.max_similarity, reference.max_similarity, rtol=0, atol=1e-12)


def test_noisy_copies_are_removed_and_random_rows_kept() -> None:
    embeddings, copies = _noisy_copies()
    result = semdedup(embeddings, k=4, epsilon=0.001)
    assert result.n_removed == 60
    originals = copies - 300
    # Each pair loses exactly one member, which names the other.
    for original, copy in zip(originals, copies, strict=True):
        pair = [original, copy]
        assert result.keep_mask[pair].sum() == 1
        removed = pair[int(result.keep_mask[original])]
        kept = pair[1 - int(result.keep_mask[original])]
        assert result.duplicate_of[removed] == kept
        # keep_hard: the survivor is the one farther from the centroid.
        assert result.distances[kept] >= result.distances[removed]


def test_removal_is_exactly_max_similarity_above_threshold() -> None:
    embeddings, _ = _noisy_copies(1)
    result = semdedup(embeddings, k=3, epsilon=0.05)
    above = np.nan_to_num(result.max_similarity, nan=-np.inf) > 1 - 0.05
    np.testing.assert_array_equal(~result.keep_mask, above)
    # Re-thresholding max_similarity equals a fresh run at another epsilon (same k-means).
    other = semdedup(embeddings, k=3, epsilon=0.2)
    np.testing.assert_array_equal(
        ~other.keep_mask, np.nan_to_num(result.max_similarity, nan=-np.inf) > 0.8
    )


def test_deterministic_and_epsilon_zero_removes_nothing(planted: np.ndarray) -> None:
    first = semdedup(planted, k=3, epsilon=0.3, seed=2)
    second = semdedup(planted, k=3, epsilon=0.3, seed=2)
    for name in ("keep_mask", "duplicate_of", "clusters", "centroids", "distances"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert first.params == second.params
    none = semdedup(planted, k=3, epsilon=0.0)  # even exact copies: similarity is clipped to 1
    assert none.keep_mask.all()
    assert none.n_removed == 0


def test_progress_reaches_one(planted: np.ndarray) -> None:
    seen: list[float] = []
    semdedup(planted, k=3, epsilon=0.01, progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0
    assert seen == sorted(seen)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epsilon": -0.1}, r"epsilon=-0.1 should be in \[0, 1\)"),
        ({"epsilon": 1.0}, r"epsilon=1.0 should be in \[0, 1\)"),
        ({"epsilon": float("nan")}, r"epsilon=nan should be in \[0, 1\)"),
        ({"epsilon": "0.1"}, r"epsilon='0.1' should be a number"),
        ({"epsilon": True}, r"epsilon=True should be a number"),
        ({"order": "hard"}, r"order='hard' is not one of keep_hard, keep_easy, random"),
        ({"k": 0}, r"k=0 should be >= 1"),
        ({"k": 10}, r"k=10 should be <= n_examples=9"),
        ({"k": 2.5}, r"k=2.5 should be an integer"),
        ({"block_size": 0}, r"block_size=0 should be >= 1"),
        ({"seed": -1}, r"seed=-1 should be >= 0"),
        ({"backend": "torch"}, r"backend='torch' is not one of"),
    ],
)
def test_bad_arguments_raise(planted: np.ndarray, kwargs: dict[str, object], match: str) -> None:
    arguments: dict[str, object] = {"k": 3, "epsilon": 0.05, **kwargs}
    with pytest.raises(ValueError, match=match):
        semdedup(planted, **arguments)  # type: ignore[arg-type]


def test_bad_embeddings_raise(planted: np.ndarray) -> None:
    broken = planted.copy()
    broken[[2, 6]] = np.nan
    with pytest.raises(ValueError, match=r"2 row\(s\) with NaN or inf.*first rows: 2, 6"):
        semdedup(broken, k=3, epsilon=0.05)
    with pytest.raises(ValueError, match=r"should be 2-D"):
        semdedup(planted[0], k=1, epsilon=0.05)
    with pytest.raises(ValueError, match=r"real-valued numeric"):
        semdedup(np.array([["a", "b"]]), k=1, epsilon=0.05)


# --- thresholding one run at other epsilons (the app's Deduplicate page) --------------------


@pytest.mark.parametrize("order", ["keep_hard", "keep_easy", "random"])
def test_removed_at_and_removed_counts_equal_fresh_runs(order: str) -> None:
    embeddings, _ = _noisy_copies()
    base = semdedup(embeddings, k=4, epsilon=0.0, order=order, seed=3)
    epsilons = [0.0, 0.0005, 0.001, 0.01, 0.05, 0.3]
    for epsilon, count in zip(epsilons, removed_counts(base, epsilons), strict=True):
        fresh = semdedup(embeddings, k=4, epsilon=epsilon, order=order, seed=3)
        np.testing.assert_array_equal(removed_at(base, epsilon), ~fresh.keep_mask)
        assert count == fresh.n_removed


@pytest.mark.parametrize("order", ["keep_hard", "keep_easy", "random"])
def test_duplicate_pairs_name_what_a_fresh_run_names(order: str) -> None:
    embeddings, _ = _noisy_copies()
    base = semdedup(embeddings, k=4, epsilon=0.0, order=order, seed=1)
    for epsilon in (0.001, 0.05):
        fresh = semdedup(embeddings, k=4, epsilon=epsilon, order=order, seed=1)
        pairs = duplicate_pairs(embeddings, base, epsilon, n=1000)
        assert pairs.removed.size == fresh.n_removed
        np.testing.assert_array_equal(pairs.duplicate_of, fresh.duplicate_of[pairs.removed])
        assert (np.diff(pairs.max_similarity) <= 0).all()  # most similar first
        assert (pairs.similarity > 1 - epsilon).all()
        assert (pairs.similarity <= pairs.max_similarity + 1e-12).all()
    assert duplicate_pairs(embeddings, base, 0.05, n=5).removed.size == 5
    nearest = duplicate_pairs(embeddings, base, 0.05, n=5, nearest_threshold=True)
    np.testing.assert_array_equal(nearest.removed, pairs.removed[::-1][:5])  # no ties here
    assert (np.diff(nearest.max_similarity) >= 0).all()


def test_duplicate_pairs_on_planted_rows(planted: np.ndarray) -> None:
    result = semdedup(planted, k=3, epsilon=0.0)
    pairs = duplicate_pairs(planted, result, 0.01)
    # Row 7 is an exact copy of row 5 (similarity 1) and comes first; rows 1 and 2 are 1 degree
    # from rows 0 and 3 (equal similarities up to rounding, so either may come second).
    assert pairs.removed[0] == 7
    assert dict(zip(pairs.removed.tolist(), pairs.duplicate_of.tolist(), strict=True)) == {
        7: 5,
        1: 0,
        2: 3,
    }
    np.testing.assert_allclose(pairs.similarity, [1.0, *[np.cos(np.deg2rad(1.0))] * 2], atol=1e-6)


def test_dedup_outputs_thresholded_equal_a_fresh_run() -> None:
    embeddings, _ = _noisy_copies()
    dataset = make_dataset(embeddings, labels=np.arange(len(embeddings)) % 3)
    base = semdedup(embeddings, k=4, epsilon=0.0)
    fresh = semdedup(embeddings, k=4, epsilon=0.01)
    csv_a, manifest_a = dedup_outputs(dataset, base, epsilon=0.01)
    csv_b, manifest_b = dedup_outputs(dataset, fresh)
    assert csv_a == csv_b
    assert len(csv_a.decode().splitlines()) == 1 + len(embeddings) - fresh.n_removed
    parsed_a, parsed_b = json.loads(manifest_a), json.loads(manifest_b)
    assert parsed_a.pop("created_at")
    assert parsed_b.pop("created_at")
    assert parsed_a == parsed_b
    assert parsed_a["score_params"]["epsilon"] == 0.01
    assert parsed_a["extra"]["semdedup"]["n_removed"] == fresh.n_removed


def test_thresholding_bad_arguments_raise(planted: np.ndarray) -> None:
    result = semdedup(planted, k=3, epsilon=0.0)
    with pytest.raises(ValueError, match=r"epsilon=1.0 should be in \[0, 1\)"):
        removed_at(result, 1.0)
    with pytest.raises(ValueError, match=r"epsilon=-0.5 should be in \[0, 1\)"):
        removed_counts(result, [0.1, -0.5])
    with pytest.raises(ValueError, match=r"n=-1 should be >= 0"):
        duplicate_pairs(planted, result, 0.01, n=-1)
    with pytest.raises(ValueError, match=r"embeddings have 8 rows but the SemDeDup result has 9"):
        duplicate_pairs(planted[:8], result, 0.01)
    with pytest.raises(ValueError, match=r"dataset has 8 rows but the SemDeDup result has 9"):
        dedup_outputs(make_dataset(planted[:8]), result)


@pytest.mark.parametrize("order", ["keep_hard", "keep_easy"])
@pytest.mark.parametrize("backend", ["sklearn", "faiss"])
def test_exact_duplicates_keep_the_lower_index(order: str, backend: str) -> None:
    """Bitwise-identical rows tie exactly, so the lower index survives under either order.

    With float32 k-means distances, identical rows got distances up to 1.2e-7 apart at this size
    (the BLAS kernel depends on the row's position), so the later copy sometimes survived."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2000, 64)).astype(np.float32)
    twins = rng.choice(2000, size=200, replace=False)
    x = np.concatenate([base, base[twins]])  # row 2000 + i copies row twins[i]
    result = semdedup(x, k=10, epsilon=1e-4, order=order, seed=0, backend=backend)
    copies = 2000 + np.arange(200)
    assert result.keep_mask[twins].all()
    assert not result.keep_mask[copies].any()
    np.testing.assert_array_equal(result.duplicate_of[copies], twins)
