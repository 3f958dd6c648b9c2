import numpy as np
import pytest

from drl_np._validation import InputError
from drl_np.clustering import assign_nearest, init_centroids, kmeans, one_hot, update_centroids_online
from drl_np.rng import OctaveRandom


def test_assign_nearest_never_picks_the_unchanged_centre():
    centres = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    dr = np.array([[0.1, 0.0], [0.9, 0.2], [0.1, 0.8], [0.0, 0.05]])
    # the last row is nearest to row 0 (unchanged), but Eq. 8 only chooses among change types
    np.testing.assert_array_equal(assign_nearest(dr, centres), [1, 1, 2, 2])


def test_online_update_by_hand():
    centres = np.array([[0.0, 0.0], [1.0, 1.0]])
    counts = np.array([5.0, 1.0])
    dr = np.array([[3.0, 1.0], [1.0, 4.0]])
    update_centroids_online(centres, counts, dr, np.array([1, 1]))
    # c=2: m = (1,1) - 1/2 ((1,1) - (3,1)) = (2, 1); c=3: m = (2,1) - 1/3 ((2,1) - (1,4)) = (5/3, 2)
    np.testing.assert_allclose(centres[1], [5 / 3, 2.0])
    np.testing.assert_array_equal(counts, [5.0, 3.0])
    np.testing.assert_array_equal(centres[0], [0.0, 0.0])


def test_online_update_is_the_running_mean():
    rng = np.random.default_rng(0)
    pts = rng.random((20, 3))
    centres, counts = np.zeros((2, 3)), np.zeros(2)
    update_centroids_online(centres, counts, pts, np.ones(20, dtype=int))
    np.testing.assert_allclose(centres[1], pts.mean(axis=0))


def test_kmeans_orders_types_by_size_and_is_seeded():
    pts = np.vstack([np.zeros((3, 2)), np.full((7, 2), 5.0), np.full((5, 2), -5.0)])
    labels, centres = kmeans(pts, 3, OctaveRandom(0))
    np.testing.assert_array_equal(np.bincount(labels), [7, 5, 3])
    np.testing.assert_allclose(centres, [[5, 5], [-5, -5], [0, 0]])
    again, _ = kmeans(pts, 3, OctaveRandom(0))
    np.testing.assert_array_equal(labels, again)


def test_kmeans_too_few_samples():
    with pytest.raises(InputError, match="only 2 regions for 3 clusters"):
        kmeans(np.zeros((2, 2)), 3, OctaveRandom(0), what="regions")


def test_init_centroids():
    dr = np.array([[0.0, 0.0], [0.2, 0.0], [5.0, 5.0], [5.2, 5.0], [-5.0, 1.0]])
    changed = np.array([False, False, True, True, True])
    assign, centres, counts = init_centroids(dr, changed, 2, OctaveRandom(1))
    np.testing.assert_array_equal(assign, [0, 0, 1, 1, 2])
    np.testing.assert_allclose(centres[0], [0.1, 0.0])       # mean DR of the unchanged
    np.testing.assert_allclose(centres[1], [5.1, 5.0])
    np.testing.assert_array_equal(counts, [2, 2, 1])
    _, _, counts100 = init_centroids(dr, changed, 2, OctaveRandom(1), count_init=100)
    np.testing.assert_array_equal(counts100, [100, 100, 100])


def test_one_hot():
    np.testing.assert_array_equal(one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])


def test_change_types_caps_k_at_the_changed_count(caplog):
    from drl_np.clustering import change_types
    samples = np.array([[0.0], [1.0], [5.0], [9.0]])
    labels, centres = change_types(samples, np.array([False, False, True, True]), 3, OctaveRandom(0))
    assert sorted(labels.tolist()) == [0, 0, 1, 2] and centres.shape == (2, 1)
    assert "only 2 changed regions for 3 change types" in caplog.text
    labels, centres = change_types(samples, np.zeros(4, dtype=bool), 3, OctaveRandom(0))
    assert labels.tolist() == [0, 0, 0, 0] and centres.shape == (0, 1)
    dr = np.array([[0.0, 0.0], [0.2, 0.0], [5.0, 5.0]])
    assign, centres, counts = init_centroids(dr, np.array([False, False, True]), 4, OctaveRandom(0))
    assert assign.tolist() == [0, 0, 1] and centres.shape == (2, 2) and counts.tolist() == [2, 1]


def test_no_changed_region_is_no_warning(caplog):
    import logging

    from drl_np.clustering import change_types

    with caplog.at_level(logging.INFO, logger="drl_np"):
        labels, centres = change_types(np.zeros((5, 2)), np.zeros(5, bool), 3, OctaveRandom(0))
    assert (labels == 0).all() and centres.shape == (0, 2)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "no changed region" in caplog.text


def test_sample_weights_pull_the_centres_and_count_in_the_sizes():
    from drl_np.clustering import change_types

    pts = np.array([[0.0], [1.0], [10.0], [11.0], [12.0]])
    labels, centres = kmeans(pts, 2, OctaveRandom(0))
    np.testing.assert_allclose(sorted(centres[:, 0]), [0.5, 11.0])
    weight = np.array([1.0, 9.0, 1.0, 1.0, 1.0])
    labels, centres = kmeans(pts, 2, OctaveRandom(0), sample_weight=weight)
    # the weighted mean of {0, 1} is 0.9, and that cluster now weighs more: it is type 0
    np.testing.assert_allclose(centres[:, 0], [0.9, 11.0])
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 1])
    changed = np.array([True, True, True, True, False])
    types, centres = change_types(pts, changed, 2, OctaveRandom(0), sample_weight=weight)
    np.testing.assert_array_equal(types, [1, 1, 2, 2, 0])
    np.testing.assert_allclose(centres[:, 0], [0.9, 10.5])
