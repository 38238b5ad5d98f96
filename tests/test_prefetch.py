"""prefetch.ahead: the batches and generator states of a sequential loop, drawn ahead."""
import threading

import numpy as np
import pytest

from selfgnn import prefetch


def test_same_batches_and_states_as_a_sequential_loop():
    rng, ref = np.random.default_rng(5), np.random.default_rng(5)
    draw = lambda i: (i, rng.integers(0, 100, 3))  # noqa: E731
    got = list(prefetch.ahead(draw, range(2, 6), rng))
    for i, (j, batch, state) in zip(range(2, 6), got):
        expected = ref.integers(0, 100, 3)
        assert j == i and batch[0] == i
        np.testing.assert_array_equal(batch[1], expected)
        assert state == ref.bit_generator.state  # the state right after drawing batch i


def test_the_next_batch_is_drawn_while_the_caller_works():
    rng, started = np.random.default_rng(0), []
    second_drawn = threading.Event()

    def draw(i):
        started.append(i)
        if i == 1:
            second_drawn.set()
        return i

    steps = prefetch.ahead(draw, range(3), rng)
    assert next(steps)[0] == 0
    assert second_drawn.wait(5)  # drawn before the caller asked for it
    assert [i for i, _, _ in steps] == [1, 2] and started == [0, 1, 2]


def test_no_steps_and_errors_reach_the_caller():
    assert list(prefetch.ahead(lambda i: i, range(0), np.random.default_rng(0))) == []

    def draw(i):
        raise ValueError(f"bad batch {i}")

    with pytest.raises(ValueError, match="bad batch 0"):
        list(prefetch.ahead(draw, range(2), np.random.default_rng(0)))
