"""Chapter 4's score functions, normalisers, hard and local attention."""

import math

import entmax
import pytest
import torch

from attention_course.data.dates import date_task
from attention_course.models.additive_attention import AdditiveScore, Attention, masked_softmax
from attention_course.models.attention_zoo import (
    DotScore,
    GeneralScore,
    HardAttentionSampler,
    LocalAttention,
    ScaledDotScore,
    masked_sigmoid,
    masked_sparsemax,
    sparsemax,
)
from attention_course.models.seq2seq import AttentionSeq2Seq, exact_match, teacher_forcing_loss
from attention_course.reproducibility import set_seed
from attention_course.training import train


@pytest.fixture(scope="module")
def task():
    return date_task(n_train=500, n_test=20, seed=0)


MASK = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)


def loop_scores(score_of_one_pair, query, keys):
    """The score of every (row, position) pair, one pair at a time: the equation itself."""
    return torch.stack(
        [
            torch.stack([score_of_one_pair(query[b], keys[b, j]) for j in range(keys.shape[1])])
            for b in range(keys.shape[0])
        ]
    )


def test_dot_and_scaled_dot_scores_follow_their_equations():
    torch.manual_seed(0)
    query, keys = torch.randn(2, 16), torch.randn(2, 5, 16)
    expected = loop_scores(lambda s, h: s @ h, query, keys)
    assert torch.allclose(DotScore()(query, keys), expected, atol=1e-5)
    assert torch.allclose(ScaledDotScore()(query, keys), expected / 4, atol=1e-5)
    with pytest.raises(ValueError, match="one size"):
        DotScore()(torch.randn(2, 3), keys)


def test_general_score_is_s_transpose_w_h_with_keys_projected_once():
    torch.manual_seed(0)
    score = GeneralScore(query_size=6, key_size=4)
    assert score.W.shape == (6, 4)
    query, states = torch.randn(2, 6), torch.randn(2, 3, 4)
    expected = loop_scores(lambda s, h: s @ score.W @ h, query, states)
    keys = Attention(score).keys(states)
    assert keys.shape == (2, 3, 6)
    assert torch.allclose(score(query, keys), expected, atol=1e-5)


def test_scaling_keeps_random_dot_products_at_unit_spread():
    torch.manual_seed(0)
    for size in (16, 256):
        query, keys = torch.randn(500, size), torch.randn(500, 8, size)
        assert abs(DotScore()(query, keys).std().item() - math.sqrt(size)) < 0.1 * math.sqrt(size)
        assert abs(ScaledDotScore()(query, keys).std().item() - 1) < 0.1


def test_sparsemax_equals_entmax_values_and_gradients():
    torch.manual_seed(0)
    scores = (torch.randn(50, 7) * 2).double().requires_grad_()
    reference_scores = scores.detach().clone().requires_grad_()
    ours, theirs = sparsemax(scores), entmax.sparsemax(reference_scores, dim=-1)
    assert torch.allclose(ours, theirs, atol=1e-12)
    direction = torch.randn(50, 7).double()
    (ours * direction).sum().backward()
    (theirs * direction).sum().backward()
    assert torch.allclose(scores.grad, reference_scores.grad, atol=1e-12)
    # Along another axis too.
    assert torch.allclose(
        sparsemax(scores.detach().T, dim=0), entmax.sparsemax(scores.detach().T, dim=0), atol=1e-12
    )


def test_sparsemax_is_on_the_simplex_sparse_and_keeps_the_order():
    torch.manual_seed(1)
    scores = torch.randn(200, 9) * 3
    weights = sparsemax(scores)
    assert torch.allclose(weights.sum(-1), torch.ones(200), atol=1e-5)
    assert (weights >= 0).all() and (weights == 0).float().mean() > 0.3
    # A larger score never gets a smaller weight, and the top score always gets some.
    order = scores.argsort(-1, descending=True)
    assert (weights.gather(-1, order).diff(dim=-1) <= 1e-7).all()
    assert (weights.gather(-1, order[:, :1]) > 0).all()
    # Small scores close together give a dense answer; one far ahead takes everything.
    assert (sparsemax(torch.tensor([0.1, 0.0, -0.1])) > 0).all()
    assert torch.equal(sparsemax(torch.tensor([5.0, 0.0, -1.0])), torch.tensor([1.0, 0, 0]))
    assert torch.allclose(sparsemax(torch.tensor([0.5, 0.0, -1.0])), torch.tensor([0.75, 0.25, 0]))


def test_masked_sparsemax_ignores_padding_whatever_its_score():
    torch.manual_seed(2)
    scores = torch.randn(3, 5, dtype=torch.double).requires_grad_()
    padded = scores.detach().clone()
    padded[~MASK] = 1e30  # huge scores at padding must not matter
    padded.requires_grad_()
    weights = masked_sparsemax(padded, MASK)
    for row, length in enumerate(MASK.sum(-1).tolist()):
        assert torch.allclose(weights[row, :length], entmax.sparsemax(scores[row, :length], dim=0))
        assert (weights[row, length:] == 0).all()
    weights.sum().backward()
    assert torch.isfinite(padded.grad).all() and (padded.grad[~MASK] == 0).all()
    empty = masked_sparsemax(torch.randn(1, 4), torch.zeros(1, 4, dtype=torch.bool))
    assert torch.equal(empty, torch.zeros(1, 4))


def test_masked_sigmoid_weights_need_not_sum_to_one():
    scores = torch.zeros(3, 5)
    weights = masked_sigmoid(scores, MASK)
    assert torch.allclose(weights.sum(-1), torch.tensor([1.5, 2.5, 0.5]))
    assert (weights[~MASK] == 0).all()


def test_hard_attention_samples_from_the_softmax_with_a_straight_through_gradient():
    # One row of scores, 4000 times: sampling must follow its softmax, not its argmax.
    scores = torch.tensor([1.0, 0.5, 0.0, -0.5, 2.0]).repeat(4000, 1).requires_grad_()
    mask = MASK.repeat(4000 // 3 + 1, 1)[:4000]
    sampler = HardAttentionSampler(generator=torch.Generator().manual_seed(0))
    weights = sampler(scores, mask)
    assert torch.equal(weights.detach().sum(-1), torch.ones(4000))
    assert set(weights.detach().unique().tolist()) == {0.0, 1.0}
    assert (weights.detach()[~mask] == 0).all()
    # Each position is chosen about as often as its softmax probability says.
    probabilities = masked_softmax(scores, mask).detach()
    frequency = weights.detach()[1::3].mean(0)  # the unpadded rows (every third)
    assert torch.allclose(frequency, probabilities[1::3].mean(0), atol=0.04)
    # Straight-through: the gradient is that of the softmax.
    direction = torch.randn(4000, 5, generator=torch.Generator().manual_seed(3))
    (weights * direction).sum().backward()
    soft_scores = scores.detach().clone().requires_grad_()
    (masked_softmax(soft_scores, mask) * direction).sum().backward()
    assert torch.allclose(scores.grad, soft_scores.grad)


def test_hard_attention_is_reproducible_argmax_in_eval_and_records_reinforce_terms():
    scores, mask = torch.randn(6, 5), MASK.repeat(2, 1)
    draw = [
        HardAttentionSampler(generator=torch.Generator().manual_seed(7))(scores, mask)
        for _ in range(2)
    ]
    assert torch.equal(draw[0], draw[1])
    sampler = HardAttentionSampler(estimator="reinforce").eval()
    weights = sampler(scores, mask)
    assert torch.equal(weights.argmax(-1), masked_softmax(scores, mask).argmax(-1))
    assert len(sampler.log_probs) == 1
    expected = masked_softmax(scores, mask).max(-1).values.log()
    assert torch.allclose(sampler.log_probs[0], expected)
    with pytest.raises(ValueError, match="estimator"):
        HardAttentionSampler(estimator="gumbel")
    with pytest.raises(ValueError, match="real position"):
        HardAttentionSampler()(scores, torch.zeros_like(mask))


def test_local_attention_equals_masked_global_attention_inside_its_window():
    torch.manual_seed(4)
    score = DotScore()
    local = LocalAttention(score, query_size=6, half_width=1, position="monotone", target_length=3)
    states, query = torch.randn(3, 5, 6), torch.randn(3, 6)
    keys = local.keys(states)
    lengths = MASK.sum(-1)
    for step in range(3):
        context, weights = local(query, keys, states, MASK)
        centre = (lengths - 1) * step / 2  # monotone: from the first to the last symbol
        positions = torch.arange(5)[None, :]
        window = ((positions - centre.round()[:, None]).abs() <= 1) & MASK
        expected = masked_softmax(score(query, states), window)
        assert torch.allclose(weights, expected, atol=1e-6), step
        assert torch.allclose(context, (expected[:, :, None] * states).sum(1), atol=1e-6)
    local.keys(states)  # a new source starts at position 0 again
    _, weights = local(query, keys, states, MASK)
    assert (weights[:, 2:] == 0).all()
    assert local.positions_scored == 2 + 2 + 1 + 3 + 3 + 1 + 2 + 2 + 1 + 2 + 2 + 1
    assert local.row_steps == 12


def test_predicted_local_attention_learns_its_position_through_the_gaussian():
    torch.manual_seed(5)
    local = LocalAttention(DotScore(), query_size=6, half_width=2, position="predicted")
    states, query = torch.randn(3, 5, 6), torch.randn(3, 6)
    context, weights = local(query, local.keys(states), states, MASK)
    assert (weights[~MASK] == 0).all()
    assert (weights.sum(-1) <= 1 + 1e-6).all()  # the Gaussian only shrinks weights
    context.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in local.predict.parameters())
    with pytest.raises(ValueError, match="half width"):
        LocalAttention(DotScore(), query_size=6, half_width=0)
    with pytest.raises(ValueError, match="target_length"):
        LocalAttention(DotScore(), query_size=6, half_width=2, position="monotone")


@pytest.mark.parametrize(
    "make_attention",
    [
        lambda q, k: Attention(DotScore()),
        lambda q, k: Attention(ScaledDotScore(), normalize=masked_sparsemax),
        lambda q, k: Attention(GeneralScore(q, k), normalize=masked_sigmoid),
        lambda q, k: Attention(AdditiveScore(q, k, 8), normalize=HardAttentionSampler()),
        lambda q, k: LocalAttention(AdditiveScore(q, k, 8), q, half_width=2),
        lambda q, k: LocalAttention(
            GeneralScore(q, k), q, half_width=1, position="monotone", target_length=10
        ),
    ],
    ids=["dot", "scaled-sparsemax", "general-sigmoid", "additive-hard", "local-p", "local-m"],
)
def test_every_variant_trains_in_the_seq2seq_model(task, make_attention):
    generator = set_seed(0)
    model = AttentionSeq2Seq(
        task.source_vocab.size,
        task.target_vocab.size,
        attention=make_attention(16, 16),
        embed_dim=8,
        encoder_size=8,
        decoder_size=16,
    )
    log = train(
        model,
        lambda step: teacher_forcing_loss(model, task.sample_batch(16, generator)),
        steps=15,
        lr=1e-2,
    )
    assert log.losses[-1] < log.losses[0]
    test = task.batch(task.test)
    predicted, exact = exact_match(model, test)
    tokens, weights = model.greedy_decode(test.source, test.lengths, steps=10, return_weights=True)
    assert torch.equal(tokens, predicted)
    assert weights.shape == (20, 10, test.source.shape[1])
    assert (weights[~test.source_mask[:, None, :].expand_as(weights)] == 0).all()
