import itertools

import numpy as np
import pytest

from tests.conftest import to_numpy
from vsovermix.ops.temporal import rank_for_mode, selection_network, temporal_select


def apply_network(values: np.ndarray, network) -> np.ndarray:
    """Plain reference executor: both sides of every comparator, on a (count, ...) array."""
    v = values.copy()
    for i, j, _, _ in network:
        lo, hi = np.minimum(v[i], v[j]), np.maximum(v[i], v[j])
        v[i], v[j] = lo, hi
    return v


@pytest.mark.parametrize("count", range(1, 13))
def test_selection_network_is_correct_for_every_rank_by_the_zero_one_principle(count):
    # A comparator network selects rank r for all inputs iff it does for every 0/1 input.
    inputs = np.array(list(itertools.product((0, 1), repeat=count)), dtype=np.uint8).T  # (count, 2**count)
    truth = np.sort(inputs, axis=0)
    for rank in range(count):
        got = apply_network(inputs, selection_network(count, rank))
        np.testing.assert_array_equal(got[rank], truth[rank], err_msg=f"count={count} rank={rank}")


def test_pruned_median_network_is_small():
    # Batcher's network pruned to the median computes far fewer than the full sort's comparators.
    assert len(selection_network(5, 2)) <= 8
    assert len(selection_network(7, 3)) <= 14
    assert len(selection_network(1, 0)) == 0


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float16, np.float32])
@pytest.mark.parametrize("count", [1, 2, 3, 5, 7, 9, 13, 65])
def test_temporal_select_matches_sort_for_every_mode(xp, dtype, count):
    rng = np.random.default_rng(count)
    host = rng.integers(0, 1000, (count, 37, 53)).astype(dtype)  # odd shape; seeded on the CPU
    truth = np.sort(host, axis=0)
    planes = [xp.asarray(p) for p in host]
    for mode in ("min", "max", "median"):
        rank = rank_for_mode(mode, count)
        np.testing.assert_array_equal(to_numpy(temporal_select(planes, rank)), truth[rank], err_msg=mode)


def test_temporal_select_all_ranks_on_many_rows_and_blocks():
    # Tall enough for several row blocks, so block boundaries and scratch reuse are exercised.
    rng = np.random.default_rng(7)
    host = rng.integers(0, 4, (9, 3001, 97)).astype(np.uint8)
    truth = np.sort(host, axis=0)
    for rank in range(9):
        np.testing.assert_array_equal(temporal_select(list(host), rank), truth[rank])


def test_temporal_select_writes_into_strided_out_and_never_into_inputs():
    rng = np.random.default_rng(3)
    host = rng.integers(0, 65535, (5, 20, 30)).astype(np.uint16)
    planes = [p.copy() for p in host]
    for p in planes:
        p.flags.writeable = False
    backing = np.zeros((20, 64), np.uint16)  # padded rows, like a VapourSynth plane
    out = backing[:, :30]
    result = temporal_select(planes, 2, out=out)
    assert result is out
    np.testing.assert_array_equal(out, np.median(host, axis=0).astype(np.uint16))
    assert not backing[:, 30:].any()


def test_temporal_select_rejects_bad_rank_and_empty_input():
    with pytest.raises(ValueError, match="rank"):
        temporal_select([np.zeros((2, 2))], 1)
    with pytest.raises(ValueError, match="at least one"):
        temporal_select([], 0)
