"""Timing shared by the peer benchmarks: the median of `repeats` runs after one warm-up."""
import statistics
import time


def timed(run, repeats):
    run()  # warm-up
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result
