"""Chapter 3's additive score, masked softmax and attention step."""

import torch

from attention_course.models.additive_attention import AdditiveScore, Attention, masked_softmax


def test_masked_softmax_gives_padding_zero_weight_and_never_nan():
    scores = torch.randn(3, 5, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=torch.bool)
    weights = masked_softmax(scores, mask)
    assert torch.allclose(weights[0, :3], torch.softmax(scores[0, :3], dim=0))
    assert torch.allclose(weights[1], torch.softmax(scores[1], dim=0))
    assert (weights[0, 3:] == 0).all() and (weights[2] == 0).all()
    weights.sum().backward()
    assert torch.isfinite(scores.grad).all()
    huge = masked_softmax(torch.tensor([[1e30, -1e30, 0.0]]), torch.tensor([[0, 1, 1]]).bool())
    assert torch.allclose(huge, torch.tensor([[0.0, 0.0, 1.0]]))


def test_additive_score_and_attention_follow_their_equations():
    torch.manual_seed(0)
    score = AdditiveScore(query_size=6, key_size=4, attention_size=5)
    query, states = torch.randn(2, 6), torch.randn(2, 3, 4)
    W_1, W_2, v = score.key.weight, score.query.weight, score.v.weight[0]
    expected = torch.stack(
        [
            torch.stack([v @ torch.tanh(W_1 @ states[b, j] + W_2 @ query[b]) for j in range(3)])
            for b in range(2)
        ]
    )
    attention = Attention(score)
    keys = attention.keys(states)
    assert torch.allclose(score(query, keys), expected, atol=1e-6)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    context, weights = attention(query, keys, states, mask)
    assert torch.allclose(weights, masked_softmax(expected, mask), atol=1e-6)
    assert torch.allclose(context, torch.einsum("bj,bjd->bd", weights, states), atol=1e-6)


def test_a_score_without_projection_compares_with_the_states_themselves():
    class DotScore(torch.nn.Module):
        def forward(self, query, keys):
            return (keys @ query[:, :, None]).squeeze(-1)

    states = torch.randn(2, 4, 3)
    attention = Attention(DotScore())
    assert attention.keys(states) is states
    context, weights = attention(torch.randn(2, 3), states, states, torch.ones(2, 4).bool())
    assert context.shape == (2, 3) and torch.allclose(weights.sum(-1), torch.ones(2))
