"""Host sampling beside the device step: batch i + 1 is drawn while step i runs.

The sampler draws from one NumPy generator, so the batches must be drawn in order
and the generator's state saved with a stopped epoch must be the one a sequential
loop would have had. `ahead` draws in one worker thread, in order, and hands each
batch over with the generator's state right after drawing it.
"""
import concurrent.futures
import copy


def ahead(draw, steps, rng):
    """Yields (i, draw(i), state after draw(i)) for i in `steps`, drawing i + 1 while the
    caller works on i; `rng`: the numpy Generator `draw` uses."""

    def job(i):
        batch = draw(i)
        return batch, copy.deepcopy(rng.bit_generator.state)

    steps = list(steps)
    if not steps:
        return
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sampler") as pool:
        pending = pool.submit(job, steps[0])
        for n, i in enumerate(steps):
            batch, state = pending.result()
            if n + 1 < len(steps):
                pending = pool.submit(job, steps[n + 1])
            yield i, batch, state
