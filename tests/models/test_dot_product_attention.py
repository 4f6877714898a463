"""Our scaled dot-product attention and masks against PyTorch's own function."""

import math

import pytest
import torch
import torch.nn.functional as F

from attention_course.models.dot_product_attention import (
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
)


def random_qkv(*batch, n_queries=5, n_keys=7, d_k=8, d_v=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(*batch, n_queries, d_k, generator=g),
        torch.randn(*batch, n_keys, d_k, generator=g),
        torch.randn(*batch, n_keys, d_v, generator=g),
    )


def test_output_matches_torch_without_a_mask():
    q, k, v = random_qkv(2, 4)
    output, weights = scaled_dot_product_attention(q, k, v)
    assert output.shape == (2, 4, 5, 3) and weights.shape == (2, 4, 5, 7)
    torch.testing.assert_close(output, F.scaled_dot_product_attention(q, k, v))
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 5))


def test_weights_are_the_softmax_of_scores_scaled_by_root_d_k():
    q, k, v = random_qkv(n_queries=3, n_keys=4, d_k=16)
    _, weights = scaled_dot_product_attention(q, k, v)
    expected = torch.softmax(q @ k.T / math.sqrt(16), dim=-1)
    torch.testing.assert_close(weights, expected)


def test_causal_mask_matches_torch_is_causal():
    q, k, v = random_qkv(3, n_queries=6, n_keys=6)
    mask = causal_mask(6)
    assert mask.dtype == torch.bool and mask.shape == (6, 6)
    assert mask[2, 2] and mask[2, 0] and not mask[2, 3]
    output, weights = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(output, F.scaled_dot_product_attention(q, k, v, is_causal=True))
    assert torch.all(weights.triu(diagonal=1) == 0)


def test_padding_mask_matches_torch_and_ignores_what_is_padded():
    q, k, v = random_qkv(3, n_queries=6, n_keys=6)
    lengths = torch.tensor([6, 4, 2])
    mask = padding_mask(lengths)
    assert mask.shape == (3, 1, 6)
    assert mask[1, 0].tolist() == [True] * 4 + [False] * 2
    output, weights = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(output, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    assert torch.all(weights[1, :, 4:] == 0)
    # Changing what sits in the padded positions changes nothing.
    k2, v2 = k.clone(), v.clone()
    k2[1, 4:], v2[1, 4:] = 100.0, -100.0
    torch.testing.assert_close(scaled_dot_product_attention(q, k2, v2, mask)[0][1], output[1])


def test_padding_and_causal_masks_combine():
    q, k, v = random_qkv(2, n_queries=5, n_keys=5)
    mask = padding_mask(torch.tensor([5, 3]), 5) & causal_mask(5)
    assert mask.shape == (2, 5, 5)
    output, _ = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(output, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_a_query_that_may_see_nothing_gets_zeros_and_finite_gradients():
    q, k, v = random_qkv(n_queries=3, n_keys=4)
    q.requires_grad_()
    mask = torch.tensor(
        [[True, True, False, False], [False, False, False, False], [True, True, True, True]]
    )
    output, weights = scaled_dot_product_attention(q, k, v, mask)
    assert torch.isfinite(output).all() and torch.isfinite(weights).all()
    assert torch.all(output[1] == 0) and torch.all(weights[1] == 0)
    assert weights[0, 2:].sum() == 0 and torch.allclose(weights[0].sum(), torch.tensor(1.0))
    output.sum().backward()
    assert torch.isfinite(q.grad).all()
    torch.testing.assert_close(output, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_a_float_mask_is_refused_with_a_clear_message():
    q, k, v = random_qkv()
    with pytest.raises(TypeError, match="boolean"):
        scaled_dot_product_attention(q, k, v, torch.ones(5, 7))
