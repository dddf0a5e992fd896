"""Fits the polynomial Q behind neurocode's fused GELU kernel (src/engine/fused.ts).

erfc(z) = exp(-z^2) * t * Q(t) with t = 1/(1 + p*z), z >= 0. Q (degree 12) is a
least-squares fit of erfcx(z)/t in relative error at Chebyshev nodes of t in (0, 1];
p is chosen on a grid to minimise the largest relative error over z in [0, 40].
Run with /usr/bin/python3 (numpy, scipy); prints p, the error and the coefficients.
Not run by tests.
"""
import numpy as np
from scipy.special import erfcx

DEG = 10


def fit(p):
    n = 4000
    t = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
    f = erfcx((1 / t - 1) / p) / t
    v = np.vander(t, DEG + 1, increasing=True)
    c, *_ = np.linalg.lstsq(v / f[:, None], np.ones_like(f), rcond=None)
    z = np.concatenate([np.linspace(0, 10, 200001), np.linspace(10, 40, 10001)])
    tz = 1 / (1 + p * z)
    return c, np.abs(tz * np.polyval(c[::-1], tz) / erfcx(z) - 1).max()


err, p = min((fit(p)[1], p) for p in np.round(np.linspace(0.25, 0.6, 71), 4))
coef, _ = fit(p)
print(f"p = {p}, max relative error of erfcx = {err:.3g}")
print([float(c) for c in coef])
