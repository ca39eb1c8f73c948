"""Benchmarks that print figures beside a raw reference measured in the same run."""

import statistics


def ms(values: list[float]) -> tuple[float, float]:
    """Median and 95th percentile of seconds, in milliseconds."""
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000
