"""drl_np.labels: the common ground-truth encodings, read right and named."""
import numpy as np
import pytest

from drl_np._validation import InputError
from drl_np.labels import IGNORE, decode_labels

TRUTH = np.array([[0, 0, 1], [0, 1, 0]])          # changed at (0, 2) and (1, 1)


@pytest.mark.parametrize("raw,encoding,word", [
    (TRUTH, "0-1", "0/1"),
    (TRUTH * 255, "0-255", "0/255"),                 # 255 is changed, not ignore
    (TRUTH + 1, "1-2", "1/2"),                       # OSCD *-cm.tif
    (np.where(np.eye(2, 3, dtype=bool), 255, TRUTH), "0-1-255", "0/1/255"),
])
def test_auto_detects_each_encoding(raw, encoding, word):
    gt, text = decode_labels(raw)
    assert text.startswith(word) and "auto-detected" in text
    same, _ = decode_labels(raw, encoding)
    np.testing.assert_array_equal(gt, same)
    labelled = gt != IGNORE
    np.testing.assert_array_equal(gt[labelled], TRUTH[labelled])


def test_oscd_zero_is_no_data_and_multiclass_kept():
    gt, _ = decode_labels(np.array([[1, 1, 2], [0, 1, 1]]))
    assert gt.tolist() == [[0, 0, 1], [IGNORE, 0, 0]]
    multi = np.array([[0, 0, 3], [2, 1, 255]])
    gt, text = decode_labels(multi)
    assert text.startswith("multi-class") and gt.tolist() == multi.tolist()
    # mostly 0 with 1 and 2: change classes, not OSCD
    gt, text = decode_labels(np.array([[0, 0, 0], [0, 1, 2]]))
    assert text.startswith("multi-class") and gt.max() == 2


def test_ignore_value_and_bad_values():
    gt, text = decode_labels(np.array([[0, 1, 7]]), "0-1", ignore=7)
    assert gt.tolist() == [[0, 1, IGNORE]] and "7 ignored" in text
    with pytest.raises(InputError, match="value 7.*--gt-encoding"):
        decode_labels(np.array([[0, 1, 7]]), "0-1")
    with pytest.raises(InputError, match="no labelled pixel"):
        decode_labels(np.array([[255, 255]]), "0-1-255")
    with pytest.raises(InputError, match="unknown"):
        decode_labels(TRUTH, "0/1")


def test_decode_counts_reads_as_decode_labels_of_the_whole_image():
    from drl_np.labels import decode_counts
    for image in (np.array([[1, 1, 2], [1, 0, 1]]), np.array([[0, 255], [0, 0]]),
                  np.array([[0, 3, 1], [255, 0, 2]])):
        values, counts = np.unique(image, return_counts=True)
        decoded, text = decode_counts(values, counts)
        whole, whole_text = decode_labels(image)
        np.testing.assert_array_equal(decoded[np.searchsorted(values, image)], whole)
        assert text == whole_text
