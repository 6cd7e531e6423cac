"""OTAM and Bi-MHM against independent dynamic programs written differently."""
import math

import numpy as np
import pytest
import torch

from star_model.ops.matching import bi_mhm_distance, frame_distances, otam_distance, otam_two_way, stage_order_distance


def _softmin_np(values, lam):
    values = np.asarray(values, dtype=np.float64)
    low = values.min()
    return low - lam * math.log(np.exp(-(values - low) / lam).sum())


def otam_reference(dist: np.ndarray, lam: float) -> float:
    """OTAM on one (Tq, Ts) matrix: a memoised recursion over the padded grid, in float64."""
    tq, ts = dist.shape
    padded = np.zeros((tq, ts + 2))
    padded[:, 1:-1] = dist
    last = ts + 1
    memo = {}

    def cell(i, j):
        if (i, j) in memo:
            return memo[(i, j)]
        if j == 0:
            value = 0.0
        elif i == 0:
            value = padded[0, : j + 1].sum()
        else:
            preds = [cell(i - 1, j - 1), cell(i, j - 1)]
            if j == 1 or j == last:
                preds.append(cell(i - 1, j))
            value = padded[i, j] + _softmin_np(preds, lam)
        memo[(i, j)] = value
        return value

    return cell(tq - 1, last)


@pytest.mark.parametrize("tq,ts", [(8, 8), (5, 7), (8, 3), (1, 4), (4, 1)])
@pytest.mark.parametrize("lam", [0.5, 0.1])
def test_otam_equals_independent_dp(tq, ts, lam):
    gen = torch.Generator().manual_seed(tq * 10 + ts)
    dist = torch.rand(2, 3, tq, ts, generator=gen, dtype=torch.float64) * 2
    ours = otam_distance(dist, lam)
    assert ours.shape == (2, 3)
    for a in range(2):
        for b in range(3):
            assert ours[a, b].item() == pytest.approx(otam_reference(dist[a, b].numpy(), lam), rel=1e-10, abs=1e-10)


def test_otam_two_way_sums_both_directions():
    dist = torch.rand(4, 6, 5, dtype=torch.float64)
    expected = [otam_reference(d.numpy(), 0.5) + otam_reference(d.T.numpy(), 0.5) for d in dist]
    assert torch.allclose(otam_two_way(dist, 0.5), torch.tensor(expected, dtype=torch.float64))


@pytest.mark.parametrize("shape", [(64, 8, 8, 8), (3, 5, 5), (2, 1, 1), (4, 6, 5), (2, 3, 1, 4)])
def test_otam_two_way_is_the_two_directions_bit_for_bit(shape):
    """Square matrices run both directions as one batch: the same numbers as two separate calls, and the same
    gradients."""
    gen = torch.Generator().manual_seed(sum(shape))
    dist = (torch.rand(*shape, generator=gen) * 2).requires_grad_()
    twin = dist.detach().clone().requires_grad_()
    ours = otam_two_way(dist, 0.5)
    separate = otam_distance(twin, 0.5) + otam_distance(twin.transpose(-1, -2), 0.5)
    assert ours.shape == shape[:-2]
    torch.testing.assert_close(ours, separate, rtol=0, atol=0)
    weights = torch.randn(ours.shape, generator=gen)
    (ours * weights).sum().backward()
    (separate * weights).sum().backward()
    torch.testing.assert_close(dist.grad, twin.grad, rtol=1e-6, atol=1e-7)


def test_otam_two_way_square_matches_the_independent_dp():
    dist = torch.rand(3, 7, 7, dtype=torch.float64)
    expected = [otam_reference(d.numpy(), 0.3) + otam_reference(d.T.numpy(), 0.3) for d in dist]
    torch.testing.assert_close(otam_two_way(dist, 0.3), torch.tensor(expected, dtype=torch.float64),
                               rtol=1e-10, atol=1e-10)


def test_otam_is_order_sensitive_where_mean_pooling_is_not():
    torch.manual_seed(0)
    seq = torch.nn.functional.normalize(torch.randn(1, 8, 32), dim=-1)
    protos = torch.cat([seq, seq.flip(1)], dim=0)
    dist = frame_distances(seq, protos)
    scores = otam_two_way(dist, 0.5)[0]
    assert scores[0] < scores[1] - 1.0
    pooled = torch.nn.functional.cosine_similarity(seq.mean(1), protos.mean(1))
    assert torch.allclose(pooled[0], pooled[1])


def test_otam_gradients_are_finite():
    dist = torch.rand(3, 8, 8, requires_grad=True)
    otam_two_way(dist).sum().backward()
    assert torch.isfinite(dist.grad).all() and dist.grad.abs().sum() > 0


def test_bi_mhm_matches_brute_force():
    dist = torch.rand(2, 5, 7, dtype=torch.float64)
    for d, value in zip(dist, bi_mhm_distance(dist)):
        rows = np.mean([min(r) for r in d.numpy()])
        cols = np.mean([min(c) for c in d.numpy().T])
        assert value.item() == pytest.approx(rows + cols)


def test_frame_distances_shape_and_range():
    q, p = torch.randn(3, 8, 16), torch.randn(5, 6, 16)
    d = frame_distances(q, p)
    assert d.shape == (3, 5, 8, 6)
    assert (d >= -1e-6).all() and (d <= 2 + 1e-6).all()


def stage_order_reference(cost: np.ndarray) -> float:
    """Every monotone assignment of T frames to S stages (first frame in stage 0, last in stage S-1), tried."""
    import itertools

    t, s = cost.shape
    best = math.inf
    for path in itertools.combinations_with_replacement(range(s), t):  # sorted tuples: non-decreasing stages
        if path[0] == 0 and path[-1] == s - 1:
            best = min(best, sum(cost[i, k] for i, k in enumerate(path)))
    return best


@pytest.mark.parametrize("t, s", [(8, 3), (5, 4), (2, 3), (6, 1)])
def test_stage_order_distance_is_the_cheapest_monotone_reading(t, s):
    gen = torch.Generator().manual_seed(t * 10 + s)
    frames, stages = torch.randn(3, t, 16, generator=gen), torch.randn(4, s, 16, generator=gen)
    got = stage_order_distance(frames, stages)
    cost = frame_distances(frames, stages).numpy()  # (B, N, T, S): 1 - cos of frame t and stage s
    want = np.array([[stage_order_reference(cost[b, n]) for n in range(4)] for b in range(3)])
    assert got.shape == (3, 4) and np.allclose(got.numpy(), want, atol=1e-5)


def test_stage_order_tells_an_order_from_its_reverse():
    a, b = torch.eye(4)[0], torch.eye(4)[1]
    frames = torch.stack([a, a, a, b, b, b])[None]  # "a then b"
    d = stage_order_distance(frames, torch.stack([torch.stack([a, b, b]), torch.stack([b, a, a])]))
    assert d[0, 0] == pytest.approx(0.0, abs=1e-6) and d[0, 1] > 3.9  # read backwards, nearly every frame is wrong
