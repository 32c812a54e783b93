"""Medians, percentiles and ratios of interleaved rounds."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import numpy as np


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100); NaN for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if len(values) else float("nan")


def ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """a[i] / b[i] of the same round."""
    return [x / y for x, y in zip(a, b, strict=True) if y]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}" if seconds == seconds else "-"
