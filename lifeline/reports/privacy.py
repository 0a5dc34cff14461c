"""Differentially private counts: the noise mechanisms and the noisy table.

The privacy unit is the person. Each person may still hold up to `contributions` rows after
deduplication (residual splits of the linker), so adding or removing one person changes the
vector of cell counts by at most `contributions` in L1 norm: that is the sensitivity. Noise is
discrete Laplace (the two-sided geometric distribution) with scale sensitivity / ε, which is
ε-differentially private. Only the cells get noise; totals are sums of the noisy cells
(post-processing, free of charge), so every released table adds up.

Releases use OpenDP's sampler (`OpenDPDiscreteLaplace`), whose privacy map we check against the ε
the ledger charged. `SeededDiscreteLaplace` draws the same distribution from a seeded generator so
tests are repeatable; it must never be used for a real release (its noise can be replayed by
anyone who knows the seed). The ledger records the mechanism's name, so such a release would show.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from .disclosure import PublishedTable, Table


class CountMechanism(Protocol):
    name: str

    def noisy_counts(
        self, counts: Sequence[int], *, sensitivity: int, epsilon: Decimal
    ) -> list[int]: ...


def laplace_scale(*, sensitivity: int, epsilon: Decimal) -> Fraction:
    if epsilon <= 0:
        raise ValueError("ε must be positive")
    if sensitivity < 1:
        raise ValueError("sensitivity is at least 1")
    return Fraction(sensitivity) / Fraction(epsilon)


class OpenDPDiscreteLaplace:
    """OpenDP's discrete Laplace on a vector of integer counts (the mechanism for releases)."""

    name = "opendp.discrete_laplace"

    def noisy_counts(
        self, counts: Sequence[int], *, sensitivity: int, epsilon: Decimal
    ) -> list[int]:
        measurement = self.measurement(sensitivity=sensitivity, epsilon=epsilon)
        return [int(value) for value in measurement([int(c) for c in counts])]

    @staticmethod
    def measurement(*, sensitivity: int, epsilon: Decimal):  # type: ignore[no-untyped-def]
        import opendp.prelude as dp

        dp.enable_features("contrib")
        scale = float(laplace_scale(sensitivity=sensitivity, epsilon=epsilon))
        # OpenDP rounds its privacy map conservatively; nudge the scale up until the map it
        # proves is within the ε the ledger charged.
        for _ in range(64):
            measurement = dp.m.make_laplace(
                dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=scale
            )
            if measurement.map(sensitivity) <= float(epsilon):
                return measurement
            scale = math.nextafter(scale, math.inf)
        raise RuntimeError("could not fit the noise scale to ε")  # pragma: no cover


class SeededDiscreteLaplace:
    """Exact discrete Laplace sampling (Canonne, Kamath and Steinke 2020, algorithm 2) from a
    seeded generator. For tests only: repeatable noise is no protection."""

    name = "seeded.discrete_laplace (test only)"

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)  # noqa: S311 (deliberately predictable, tests only)

    def noisy_counts(
        self, counts: Sequence[int], *, sensitivity: int, epsilon: Decimal
    ) -> list[int]:
        scale = laplace_scale(sensitivity=sensitivity, epsilon=epsilon)
        return [int(c) + self.sample(scale) for c in counts]

    def _bernoulli(self, p: Fraction) -> bool:
        return self._rng.randrange(p.denominator) < p.numerator

    def _bernoulli_exp(self, gamma: Fraction) -> bool:
        """True with probability exp(-gamma), gamma >= 0, in exact arithmetic."""
        while gamma > 1:
            if not self._bernoulli_exp(Fraction(1)):
                return False
            gamma -= 1
        k = 1
        while self._bernoulli(gamma / k):
            k += 1
        return k % 2 == 1

    def sample(self, scale: Fraction) -> int:
        """One draw with P(z) proportional to exp(-|z| / scale)."""
        t, s = scale.numerator, scale.denominator  # scale = t / s
        while True:
            u = self._rng.randrange(t)
            if not self._bernoulli_exp(Fraction(u, t)):
                continue
            v = 0
            while self._bernoulli_exp(Fraction(1)):
                v += 1
            y = (u + t * v) // s
            negative = self._bernoulli(Fraction(1, 2))
            if negative and y == 0:
                continue
            return -y if negative else y


def accuracy(*, sensitivity: int, epsilon: Decimal, alpha: float = 0.05) -> int:
    """The a such that |noise| <= a for each cell with probability 1 - alpha (published with every
    release so readers know how far a count may be off)."""
    scale = float(laplace_scale(sensitivity=sensitivity, epsilon=epsilon))
    # P(|Z| > a) = 2 r^(a+1) / (1 + r) with r = exp(-1/scale), for the discrete Laplace.
    r = math.exp(-1 / scale)
    a = math.log(alpha * (1 + r) / 2) / math.log(r) - 1
    return max(0, math.ceil(a))


@dataclass(frozen=True)
class NoisyTable:
    published: PublishedTable
    epsilon: Decimal
    contributions: int
    mechanism: str
    accuracy_95: int


def noisy_table(
    table: Table, *, epsilon: Decimal, contributions: int, mechanism: CountMechanism
) -> NoisyTable:
    """The table with noise on every cell, negatives clamped to 0, totals summed from the cells.

    The category lists (row and column labels) must be public and fixed in advance: labels that
    appear only because someone is in the data would leak through the keys."""
    flat = [count for row in table.counts for count in row]
    noisy = mechanism.noisy_counts(flat, sensitivity=contributions, epsilon=epsilon)
    clamped = [max(0, value) for value in noisy]
    width = len(table.columns)
    rows = tuple(tuple(clamped[i * width : (i + 1) * width]) for i in range(len(table.rows)))
    released = Table(table.rows, table.columns, rows, one_way=table.one_way)
    return NoisyTable(
        released.publish(),
        epsilon,
        contributions,
        mechanism.name,
        accuracy(sensitivity=contributions, epsilon=epsilon),
    )
