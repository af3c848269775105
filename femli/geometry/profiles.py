"""Electrode surface profiles y(x) in micrometres: asperity placement, bump shapes, roughness.

Pure numpy (no gmsh), so the shapes can be tested and reused by several builders.
"""

from __future__ import annotations

import math

import numpy as np

from femli.geometry.core import GeometryError, place_discs

#: Gaussian bumps are truncated at +-3 sigma (width = 6 sigma) and shifted to meet y = 0.
GAUSS_SIGMAS = 3.0


def asperity_centres(
    count: int, width: float, span: float, spacing: str, gap: float, seed: int
) -> np.ndarray:
    """x-centres (um) of ``count`` asperities of base ``width`` on [0, span].

    ``spacing="regular"`` puts them at the middle of ``count`` equal cells; ``"random"`` uses
    random sequential placement (seeded) keeping ``gap`` between bases and from the walls.
    """
    if count == 0:
        return np.empty(0)
    if spacing == "regular":
        pitch = span / count
        if width + gap > pitch + 1e-12:
            raise GeometryError(
                f"count={count} asperities of asperity_width={width} um with min_gap={gap} um do"
                f" not fit on width={span} um (need count*(asperity_width+min_gap) <= width)"
            )
        return (np.arange(count) + 0.5) * pitch
    if count * (width + gap) + gap > span:
        raise GeometryError(
            f"count={count} asperities of asperity_width={width} um with min_gap={gap} um cannot"
            f" fit on width={span} um (need count*(asperity_width+min_gap)+min_gap <= width)"
        )
    rng = np.random.default_rng(seed)
    half = width / 2
    got = place_discs(rng, [half] * count, [gap], [span - gap], gap, attempts=5000)
    if got is None:
        raise GeometryError(
            f"count={count} asperities of asperity_width={width} um did not fit at random on"
            f" width={span} um with min_gap={gap} um after 5000 tries each; lower count or use"
            " spacing='regular'"
        )
    return np.sort(got[:, 0])


def gaussian_bump(x: np.ndarray, centre: float, height: float, width: float) -> np.ndarray:
    """Gaussian bump of ``height`` (sigma = width/6), shifted to be 0 at centre +- width/2."""
    sigma = width / (2 * GAUSS_SIGMAS)
    edge = math.exp(-0.5 * GAUSS_SIGMAS**2)
    y = np.exp(-0.5 * ((x - centre) / sigma) ** 2)
    return height * np.clip((y - edge) / (1 - edge), 0.0, None)


def gaussian_bump_area(height: float, width: float) -> float:
    """Exact area (um^2) under :func:`gaussian_bump`."""
    sigma = width / (2 * GAUSS_SIGMAS)
    edge = math.exp(-0.5 * GAUSS_SIGMAS**2)
    full = sigma * math.sqrt(2 * math.pi) * math.erf(GAUSS_SIGMAS / math.sqrt(2))
    return height * (full - width * edge) / (1 - edge)


def bump_area(shape: str, height: float, width: float) -> float:
    """Area (um^2) of one asperity cross-section of ``shape``."""
    if shape == "semicircle":
        return math.pi * height * width / 4  # half-ellipse, semi-axes width/2 and height
    if shape == "triangle":
        return height * width / 2
    return gaussian_bump_area(height, width)


def rough_profile(
    span: float, rms: float, correlation_length: float, seed: int, spacing: float
) -> tuple[np.ndarray, np.ndarray]:
    """Periodic Gaussian random profile on [0, span] with zero mean and exact sample ``rms``.

    Gaussian autocorrelation with ``correlation_length`` (um), sampled every ~``spacing`` um
    (the end point repeats the first, so y(0) = y(span)). Returns (x, y) in um.
    """
    n = max(16, math.ceil(span / spacing))
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(n)
    k = np.fft.rfftfreq(n, d=span / n) * 2 * math.pi
    filt = np.exp(-((k * correlation_length) ** 2) / 8)  # sqrt of the Gaussian PSD
    y = np.fft.irfft(np.fft.rfft(noise) * filt, n)
    y -= y.mean()
    y *= rms / math.sqrt(np.mean(y**2))
    x = np.linspace(0.0, span, n + 1)
    return x, np.append(y, y[0])
