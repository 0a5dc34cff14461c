"""Noise mechanisms and noisy tables. Pure: no database."""

from __future__ import annotations

import math
from collections import Counter
from decimal import Decimal
from fractions import Fraction

import pytest

from lifeline.reports.disclosure import TOTAL, Table
from lifeline.reports.privacy import (
    OpenDPDiscreteLaplace,
    SeededDiscreteLaplace,
    accuracy,
    laplace_scale,
    noisy_table,
)


def discrete_laplace_pmf(z: int, scale: float) -> float:
    r = math.exp(-1 / scale)
    return (1 - r) / (1 + r) * r ** abs(z)


def test_scale_is_sensitivity_over_epsilon_exactly() -> None:
    assert laplace_scale(sensitivity=4, epsilon=Decimal("0.5")) == Fraction(8)
    assert laplace_scale(sensitivity=1, epsilon=Decimal("0.3")) == Fraction(10, 3)
    with pytest.raises(ValueError, match="positive"):
        laplace_scale(sensitivity=1, epsilon=Decimal(0))


def test_seeded_mechanism_repeats_with_its_seed_and_differs_across_seeds() -> None:
    counts = [100] * 50
    first = SeededDiscreteLaplace(7).noisy_counts(counts, sensitivity=1, epsilon=Decimal(1))
    again = SeededDiscreteLaplace(7).noisy_counts(counts, sensitivity=1, epsilon=Decimal(1))
    other = SeededDiscreteLaplace(8).noisy_counts(counts, sensitivity=1, epsilon=Decimal(1))
    assert first == again
    assert first != other
    assert first != counts


@pytest.mark.parametrize("epsilon", [Decimal(1), Decimal("0.5")])
def test_seeded_sampler_draws_the_discrete_laplace_distribution(epsilon: Decimal) -> None:
    n = 20_000
    noise = SeededDiscreteLaplace(11).noisy_counts([0] * n, sensitivity=1, epsilon=epsilon)
    scale = float(1 / epsilon)
    frequencies = Counter(noise)
    for z in (-2, -1, 0, 1, 2):
        # Within ~5 standard errors of the exact probability.
        p = discrete_laplace_pmf(z, scale)
        assert abs(frequencies[z] / n - p) < 5 * math.sqrt(p * (1 - p) / n)
    r = math.exp(-1 / scale)
    variance = 2 * r / (1 - r) ** 2
    observed = sum(x * x for x in noise) / n
    assert abs(observed - variance) < 0.1 * variance
    assert abs(sum(noise) / n) < 0.1


def test_opendp_mechanism_proves_the_epsilon_charged() -> None:
    for sensitivity, epsilon in [(1, Decimal(1)), (4, Decimal(1)), (1, Decimal("0.3"))]:
        measurement = OpenDPDiscreteLaplace.measurement(sensitivity=sensitivity, epsilon=epsilon)
        assert measurement.map(sensitivity) <= float(epsilon)
        # And the scale is not wastefully large: the map is within a hair of ε.
        assert measurement.map(sensitivity) > float(epsilon) * 0.999999


def test_opendp_mechanism_noise_has_the_expected_spread() -> None:
    n = 5_000
    noise = OpenDPDiscreteLaplace().noisy_counts([0] * n, sensitivity=1, epsilon=Decimal(1))
    p0 = discrete_laplace_pmf(0, 1.0)
    assert abs(noise.count(0) / n - p0) < 5 * math.sqrt(p0 * (1 - p0) / n)
    assert max(abs(x) for x in noise) < 20


def test_accuracy_agrees_with_opendp_and_with_the_distribution() -> None:
    import opendp.prelude as dp

    for sensitivity, epsilon in [(1, Decimal(1)), (4, Decimal(1)), (1, Decimal("0.5"))]:
        scale = float(laplace_scale(sensitivity=sensitivity, epsilon=epsilon))
        a = accuracy(sensitivity=sensitivity, epsilon=epsilon, alpha=0.05)
        # OpenDP's accuracy is the a' with P(|Z| >= a') = alpha; ours is the integer bound
        # |Z| <= a holding with probability >= 95 %.
        assert a == math.ceil(dp.discrete_laplacian_scale_to_accuracy(scale, 0.05)) - 1
        beyond = 1 - sum(discrete_laplace_pmf(z, scale) for z in range(-a, a + 1))
        assert beyond <= 0.05
        assert 1 - sum(discrete_laplace_pmf(z, scale) for z in range(-a + 1, a)) > 0.05


def test_noisy_table_adds_noise_to_cells_and_sums_totals_from_them() -> None:
    table = Table.two_dimensional(["TH", "MM"], ["F", "M"], [[120, 80], [3, 45]])
    released = noisy_table(
        table, epsilon=Decimal(1), contributions=1, mechanism=SeededDiscreteLaplace(3)
    )
    values = released.published.values
    cells = [[values[(i, j)] for j in range(2)] for i in range(2)]
    assert cells != [[120, 80], [3, 45]]
    assert all(v is not None and v >= 0 for row in cells for v in row)
    assert values[(0, TOTAL)] == cells[0][0] + cells[0][1]  # type: ignore[operator]
    assert values[(TOTAL, 1)] == cells[0][1] + cells[1][1]  # type: ignore[operator]
    assert values[(TOTAL, TOTAL)] == sum(v for row in cells for v in row)  # type: ignore[misc]
    assert released.published.withheld == []
    assert (released.epsilon, released.contributions, released.accuracy_95) == (Decimal(1), 1, 3)
    assert released.mechanism == "seeded.discrete_laplace (test only)"


def test_noisy_table_clamps_negative_counts_to_zero() -> None:
    table = Table.one_dimensional([f"p{i}" for i in range(200)], [0] * 200)
    released = noisy_table(
        table, epsilon=Decimal("0.1"), contributions=1, mechanism=SeededDiscreteLaplace(5)
    )
    cells = [released.published.cell(i) for i in range(200)]
    assert min(cells) == 0  # type: ignore[type-var]
    assert max(cells) > 0  # type: ignore[type-var]


def test_more_contributions_per_person_means_more_noise() -> None:
    assert accuracy(sensitivity=4, epsilon=Decimal(1)) > accuracy(sensitivity=1, epsilon=Decimal(1))
