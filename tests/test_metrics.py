"""Tests of drl_np.metrics against confusion matrices worked out by hand."""
import json

import numpy as np
import pytest

from drl_np._validation import InputError
from drl_np.metrics import (binary_change_accuracy, change_analysis_accuracy,
                            change_type_accuracy, cohen_kappa, confusion_matrix,
                            overall_accuracy)


# -- confusion matrix, OA, kappa -------------------------------------------------------
def test_confusion_matrix_hand_worked_with_ignore_and_mask():
    gt = np.array([[0, 0, 1, 1],
                   [2, 2, 255, 0]])
    pred = np.array([[0, 1, 1, 1],
                     [2, 0, 2, 0]])
    # labelled: all but the 255 pixel -> pairs (t,p):
    # (0,0) (0,1) (1,1) (1,1) (2,2) (2,0) (0,0)
    expected = np.array([[2, 1, 0],
                         [0, 2, 0],
                         [1, 0, 1]])
    np.testing.assert_array_equal(confusion_matrix(gt, pred), expected)
    mask = np.ones(gt.shape, bool)
    mask[0, 0] = False                          # drops one (0,0)
    expected_masked = expected.copy()
    expected_masked[0, 0] = 1
    np.testing.assert_array_equal(confusion_matrix(gt, pred, mask=mask), expected_masked)
    # ignore=None evaluates the 255 pixel too: (255, 2)
    cm = confusion_matrix(gt, pred, ignore=None)
    assert cm.shape == (4, 4) and cm[3, 2] == 1 and cm.sum() == 8


def test_confusion_matrix_label_order_and_missing_label():
    cm = confusion_matrix([0, 1, 1], [1, 1, 0], labels=[1, 0])
    np.testing.assert_array_equal(cm, [[1, 1], [1, 0]])
    cm = confusion_matrix([0, 0], [0, 0], labels=[0, 3])   # unused label -> zero row/col
    np.testing.assert_array_equal(cm, [[2, 0], [0, 0]])
    with pytest.raises(InputError, match="lacks"):
        confusion_matrix([0, 1, 2], [0, 1, 2], labels=[0, 1])


def test_oa_and_kappa_hand_worked():
    cm = np.array([[2, 1, 0],
                   [0, 2, 0],
                   [1, 0, 1]])
    # n = 7, trace = 5; rows 3,2,2 ; cols 3,3,1 ; sum r*c = 9+6+2 = 17
    # kappa = (7*5 - 17) / (49 - 17) = 18/32
    assert overall_accuracy(cm) == pytest.approx(5 / 7)
    assert cohen_kappa(cm) == pytest.approx(18 / 32)
    # float counts take the same route to the same value
    assert cohen_kappa(cm.astype(float) * 0.5) == pytest.approx(18 / 32)


def test_kappa_degenerate_cases(recwarn):
    assert cohen_kappa([[5]]) == 1.0                    # one class, all right: p_e = 1
    assert cohen_kappa([[4, 0], [0, 0]]) == 1.0         # one class among two labels
    # truth all 0, prediction half wrong: p_o = p_e = 1/2 -> 0
    assert cohen_kappa([[2, 2], [0, 0]]) == 0.0
    # complete disagreement of two balanced classes -> -1
    assert cohen_kappa([[0, 3], [3, 0]]) == pytest.approx(-1.0)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("cm", [np.zeros((2, 2)), np.ones((2, 3)), [[1, -1], [0, 1]]])
def test_bad_confusion_matrix(cm):
    with pytest.raises(InputError):
        overall_accuracy(cm)
    with pytest.raises(InputError):
        cohen_kappa(cm)


# -- change analysis -----------------------------------------------------------------
def test_change_analysis_permuted_types_are_perfect():
    gt = np.array([0, 0, 1, 1, 2, 2, 3])
    pred = np.array([0, 0, 3, 3, 1, 1, 2])     # a pure relabelling
    s = change_analysis_accuracy(gt, pred)
    assert s.acc == 1.0 and s.kappa == 1.0
    assert s.matching == {1: 2, 2: 3, 3: 1}
    np.testing.assert_array_equal(s.confusion, np.diag([2, 2, 2, 1]))


def test_change_analysis_hand_worked_matching():
    # type-vs-class overlap A (rows type 1,2 ; cols class 1,2):
    #   type 1: class1 x1, class2 x3 ; type 2: class1 x2, class2 x0
    # best assignment: 1->2, 2->1 (3 + 2 = 5 > 1 + 0)
    gt = np.array([0, 0, 0, 1, 2, 2, 2, 1, 1, 255])
    pred = np.array([0, 0, 1, 1, 1, 1, 1, 2, 2, 2])
    s = change_analysis_accuracy(gt, pred)
    assert s.matching == {1: 2, 2: 1}
    # relabelled: [0,0,2,2,2,2,2,1,1]; truth [0,0,0,1,2,2,2,1,1]
    expected = np.array([[2, 0, 1],
                         [0, 2, 1],
                         [0, 0, 3]])
    np.testing.assert_array_equal(s.labels, [0, 1, 2])
    np.testing.assert_array_equal(s.confusion, expected)
    assert s.acc == pytest.approx(7 / 9)
    # rows 3,3,3 cols 2,2,5 -> sum r*c = 27 ; kappa = (9*7-27)/(81-27) = 36/54
    assert s.kappa == pytest.approx(36 / 54)
    assert s.n_pixels == 9


def test_change_analysis_more_types_than_classes():
    gt = np.array([0, 1, 1, 1, 1, 1])
    pred = np.array([0, 1, 1, 1, 2, 3])         # types 2 and 3 have nowhere to go
    s = change_analysis_accuracy(gt, pred)
    assert s.matching == {1: 1, 2: None, 3: None}
    np.testing.assert_array_equal(s.labels, [-1, 0, 1])
    np.testing.assert_array_equal(s.confusion, [[0, 0, 0], [0, 1, 0], [2, 0, 3]])
    assert s.acc == pytest.approx(4 / 6)


def test_change_analysis_fewer_types_than_classes():
    gt = np.array([0, 0, 1, 1, 2, 2, 3])
    pred = np.array([0, 0, 1, 1, 1, 1, 1])      # one type for three classes
    s = change_analysis_accuracy(gt, pred)
    assert list(s.matching) == [1] and s.matching[1] in (1, 2)   # tie 2 vs 2
    assert s.acc == pytest.approx(4 / 7)


def test_change_analysis_single_class_and_masked_prediction():
    gt = np.zeros((2, 3), int)
    s = change_analysis_accuracy(gt, np.zeros((2, 3), int))
    assert s.acc == 1.0 and s.kappa == 1.0 and s.matching == {}
    pred = np.array([[0, 0, -1], [0, 4, 0]])    # masked pixel and a spurious type
    s = change_analysis_accuracy(gt, pred)
    assert s.matching == {4: None} and s.n_unpredicted == 1
    assert s.acc == pytest.approx(4 / 6) and s.kappa == 0.0


def test_change_analysis_type_only_outside_labelled_pixels():
    gt = np.array([0, 1, 255])
    pred = np.array([0, 1, 2])
    s = change_analysis_accuracy(gt, pred)
    assert s.matching == {1: 1, 2: None} and s.acc == 1.0


def test_change_analysis_as_dict_is_json():
    s = change_analysis_accuracy(np.array([0, 1, 2]), np.array([0, 2, 5]))
    d = json.loads(json.dumps(s.as_dict()))
    assert d["acc"] == 1.0 and d["matching"] == {"2": 1, "5": 2}


# -- per-type accuracy ------------------------------------------------------------------
def test_change_type_accuracy_hand_worked():
    # the matching of test_change_analysis_hand_worked_matching: 1 -> 2, 2 -> 1
    gt = np.array([0, 0, 0, 1, 2, 2, 2, 1, 1, 255])
    pred = np.array([0, 0, 1, 1, 1, 1, 1, 2, 2, 2])
    s = change_type_accuracy(gt, pred)
    assert s.matching == {1: 2, 2: 1}
    np.testing.assert_array_equal(s.classes, [0, 1, 2])
    np.testing.assert_array_equal(s.types, [0, 2, 1])     # type of class 1 is 2
    # class 0 (pixels 0-2) -> types 0,0,1 ; class 1 (3,7,8) -> 1,2,2 ; class 2 -> 1,1,1
    np.testing.assert_array_equal(s.confusion, [[2, 0, 1],
                                                [0, 2, 1],
                                                [0, 0, 3]])
    assert s.producers == {0: pytest.approx(2 / 3), 1: pytest.approx(2 / 3), 2: 1.0}
    assert s.users == {0: 1.0, 2: 1.0, 1: pytest.approx(3 / 5)}
    assert s.acc == pytest.approx(7 / 9) and s.kappa == pytest.approx(36 / 54)
    assert s.rows() == [
        {"type": 0, "class": 0, "pixels": 2, "producers": pytest.approx(2 / 3), "users": 1.0},
        {"type": 1, "class": 2, "pixels": 5, "producers": 1.0, "users": pytest.approx(0.6)},
        {"type": 2, "class": 1, "pixels": 2, "producers": pytest.approx(2 / 3), "users": 1.0}]


def test_change_type_accuracy_extra_types_and_masked_pixels():
    gt = np.array([0, 0, 1, 1, 1, 1, 1])
    pred = np.array([0, -1, 1, 1, 1, 2, 3])      # types 2, 3 unmatched, one pixel masked
    s = change_type_accuracy(gt, pred)
    assert s.matching == {1: 1, 2: None, 3: None} and s.n_unpredicted == 1
    np.testing.assert_array_equal(s.types, [0, 1, 2, 3, -1])
    np.testing.assert_array_equal(s.confusion, [[1, 0, 0, 0, 1],
                                                [0, 3, 1, 1, 0]])
    assert s.producers == {0: 0.5, 1: pytest.approx(3 / 5)}
    assert s.users == {0: 1.0, 1: 1.0, 2: 0.0, 3: 0.0}    # no user's accuracy for -1
    assert s.acc == pytest.approx(4 / 7)
    assert [(r["type"], r["class"], r["producers"]) for r in s.rows()] == [
        (0, 0, 0.5), (1, 1, pytest.approx(0.6)), (2, None, None), (3, None, None)]


def test_change_type_accuracy_missed_classes():
    gt = np.array([0, 1, 1, 2, 2, 3])
    pred = np.array([0, 1, 1, 1, 0, 1])          # type 1 overlaps class 1 twice: 1 -> 1
    s = change_type_accuracy(gt, pred)
    assert s.matching == {1: 1}
    np.testing.assert_array_equal(s.types, [0, 1])
    np.testing.assert_array_equal(s.confusion, [[1, 0], [0, 2], [1, 1], [0, 1]])
    assert s.producers == {0: 1.0, 1: 1.0, 2: 0.0, 3: 0.0}
    assert s.users == {0: 0.5, 1: 0.5}
    assert s.acc == pytest.approx(3 / 6)
    assert s.rows()[2:] == [{"type": None, "class": 2, "pixels": 0, "producers": 0.0,
                             "users": None},
                            {"type": None, "class": 3, "pixels": 0, "producers": 0.0,
                             "users": None}]


def test_change_type_accuracy_agrees_with_change_analysis_and_confusion():
    rng = np.random.default_rng(4)
    gt = rng.integers(0, 4, size=(20, 21))
    gt[rng.random(gt.shape) < 0.1] = 255
    pred = rng.integers(-1, 5, size=gt.shape)
    s = change_type_accuracy(gt, pred)
    ref = change_analysis_accuracy(gt, pred)
    assert s.matching == ref.matching
    assert (s.acc, s.kappa, s.n_pixels) == (ref.acc, ref.kappa, ref.n_pixels)
    k = min(s.classes.size, s.types.size)
    assert np.trace(s.confusion[:k, :k]) == np.trace(ref.confusion)   # matched diagonal
    # rows are the classes' pixel counts of the square confusion matrix
    keep = gt != 255
    np.testing.assert_array_equal(s.confusion.sum(axis=1), np.bincount(gt[keep]))


def test_change_type_accuracy_to_dict_is_json():
    s = change_type_accuracy(np.array([0, 1, 2, 2]), np.array([0, 2, 5, 0]))
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert d["matching"] == {"2": 1, "5": 2} and d["types"] == [0, 2, 5]
    assert d["producers"] == {"0": 1.0, "1": 1.0, "2": 0.5}
    assert d["users"] == {"0": 0.5, "2": 1.0, "5": 1.0}
    assert d["rows"][0] == {"type": 0, "class": 0, "pixels": 2, "producers": 1.0,
                            "users": 0.5}


# -- binary ---------------------------------------------------------------------------
def test_binary_hand_worked():
    gt = np.array([0, 0, 0, 0, 1, 2, 2, 255])
    pred = np.array([0, 0, 3, -1, 1, 0, 2, 1])
    # truth changed: idx 4,5,6 ; unchanged: 0..3
    # idx2 FP, idx3 masked & unchanged -> FP, idx5 FN, idx4/6 TP, idx0/1 TN
    s = binary_change_accuracy(gt, pred)
    assert (s.tp, s.tn, s.false_alarms, s.missed_alarms) == (2, 2, 2, 1)
    assert s.oa == pytest.approx(4 / 7)
    assert s.precision == pytest.approx(2 / 4) and s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 * 2 / (2 * 2 + 2 + 1))
    assert s.false_alarm_rate == pytest.approx(2 / 4)
    assert s.missed_alarm_rate == pytest.approx(1 / 3)
    # kappa from [[2,2],[1,2]]: rows 4,3 cols 3,4 -> (7*4-24)/(49-24)
    assert s.kappa == pytest.approx(4 / 25)
    assert s.n_unpredicted == 1
    np.testing.assert_array_equal(s.confusion, [[2, 2], [1, 2]])
    d = json.loads(json.dumps(s.as_dict()))
    assert d["false_alarms"] == 2 and isinstance(d["f1"], float)


def test_binary_no_change_anywhere_uses_zero_division_zero():
    s = binary_change_accuracy(np.zeros(4, int), np.zeros(4, bool))
    assert s.oa == 1.0 and s.kappa == 1.0
    assert s.precision == s.recall == s.f1 == 0.0


def test_two_routes_agree_on_random_maps():
    rng = np.random.default_rng(3)
    gt = rng.integers(0, 4, size=(20, 21))
    gt[rng.random(gt.shape) < 0.1] = 255
    pred = rng.integers(0, 3, size=gt.shape)
    b = binary_change_accuracy(gt, pred)
    cm = confusion_matrix(np.where(gt == 255, 255, gt > 0), pred > 0)
    assert b.oa == pytest.approx(overall_accuracy(cm))
    assert b.kappa == pytest.approx(cohen_kappa(cm))
    # brute force over all permutations agrees with the Hungarian matching
    import itertools
    s = change_analysis_accuracy(gt, pred)
    keep = gt != 255
    best = max(np.mean(gt[keep] == np.array([0, *perm])[pred[keep]])
               for perm in itertools.permutations([1, 2, 3], 2))
    assert s.acc == pytest.approx(best)


# -- errors ---------------------------------------------------------------------------
@pytest.mark.parametrize("func", [confusion_matrix, change_analysis_accuracy,
                                  change_type_accuracy, binary_change_accuracy])
def test_errors_are_one_line(func):
    with pytest.raises(InputError, match="no labelled pixel") as err:
        func(np.full((3, 3), 255), np.zeros((3, 3), int))
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="shape"):
        func(np.zeros((3, 3), int), np.zeros((3, 4), int))
    with pytest.raises(InputError, match="non-integer"):
        func(np.zeros(3), np.array([0, 0.5, 1]))
    with pytest.raises(InputError, match="mask"):
        func(np.zeros(3, int), np.zeros(3, int), mask=np.ones(4, bool))
    with pytest.raises(InputError, match="no labelled pixel"):
        func(np.zeros(3, int), np.zeros(3, int), mask=np.zeros(3, bool))


def test_counts_of_distinct_pairs_score_as_the_whole_arrays():
    from drl_np.metrics import PairCounts
    rng = np.random.default_rng(3)
    gt = rng.choice([0, 0, 0, 1, 2, 3, 255], size=(60, 70))
    pred = rng.choice([-1, 0, 0, 1, 2, 3, 4, 5], size=(60, 70))
    pc = PairCounts()
    for rows in (slice(0, 25), slice(25, 60)):                            # two windows
        pc.add(gt[rows], pred[rows])
    t, p, n = pc.arrays()
    assert n.sum() == gt.size and t.size < 60
    assert binary_change_accuracy(t, p, counts=n).as_dict() == binary_change_accuracy(gt, pred).as_dict()
    a, b = change_analysis_accuracy(t, p, counts=n), change_analysis_accuracy(gt, pred)
    assert (a.acc, a.kappa, a.matching, a.n_pixels, a.n_unpredicted) == \
        (b.acc, b.kappa, b.matching, b.n_pixels, b.n_unpredicted)
    np.testing.assert_array_equal(a.confusion, b.confusion)
    assert change_type_accuracy(t, p, counts=n).to_dict() == change_type_accuracy(gt, pred).to_dict()
    np.testing.assert_array_equal(confusion_matrix(t, p, counts=n), confusion_matrix(gt, pred))
    # a count of 0 is no pixel: its type does not exist
    t0, p0, n0 = np.append(t, 1), np.append(p, 9), np.append(n, 0)
    assert change_analysis_accuracy(t0, p0, counts=n0).matching == a.matching
    with pytest.raises(InputError, match="negative"):
        binary_change_accuracy(t, p, counts=-n)
