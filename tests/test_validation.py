import numpy as np
import pytest

from drl_np._validation import InputError, check_schedule


def test_check_schedule_accepts_decreasing_integers():
    assert check_schedule([25, 15, 8, 5]) == (25, 15, 8, 5)
    assert check_schedule(np.array([6, 3])) == (6, 3)


@pytest.mark.parametrize("bad,message", [
    ((5,), "at least two"), ((4, 8), "not strictly decreasing"), ((8, 8), "not strictly decreasing"),
    ((8, 0), "integer >= 1"), ((8, 2.5), "integer >= 1"), (7, "sequence of cluster counts")])
def test_check_schedule_names_the_problem(bad, message):
    with pytest.raises(InputError, match=message):
        check_schedule(bad)
