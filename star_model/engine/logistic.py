"""Logistic regression by Newton's method (L2-penalised), for the small calibration models."""
from __future__ import annotations

import numpy as np


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.5, iterations: int = 50) -> tuple[np.ndarray, float]:
    """Weights (K,) and bias minimising the summed log-loss + ``l2`` * |weights|^2 (the bias is not penalised).

    x: (M, K) features, y: (M,) labels in {0, 1}. With one class only, the weights are 0 and the bias
    is the (clipped) log-odds of the labels.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(y) == 0:
        raise ValueError("cannot fit a logistic model to no samples")
    a = np.c_[x, np.ones(len(x))]
    penalty = np.full(a.shape[1], 2.0 * l2)
    penalty[-1] = 0.0
    if y.min() == y.max():
        share = float(np.clip(y.mean(), 0.01, 0.99))
        return np.zeros(x.shape[1]), float(np.log(share / (1 - share)))
    theta = np.zeros(a.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(a @ theta)))
        grad = a.T @ (p - y) + penalty * theta
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))
