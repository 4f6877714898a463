"""Multi-head attention and the Transformer blocks against PyTorch's own, with copied weights.

PyTorch's masks say True = *blocked*; ours say True = may attend: every comparison
passes ``~mask`` to PyTorch.
"""

import math

import pytest
import torch
from torch import nn

from attention_course.models.dot_product_attention import causal_mask, padding_mask
from attention_course.models.transformer import (
    DecoderBlock,
    EncoderBlock,
    MultiHeadAttention,
    merge_heads,
    sinusoidal_positions,
    split_heads,
)

TOLERANCE = dict(atol=1e-10, rtol=0)  # float64 throughout


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_split_heads_gives_each_head_its_own_slice_of_features():
    x = randn(2, 5, 12)
    heads = split_heads(x, 3)
    assert heads.shape == (2, 3, 5, 4)
    for head in range(3):
        torch.testing.assert_close(heads[:, head], x[:, :, 4 * head : 4 * (head + 1)])
    torch.testing.assert_close(merge_heads(heads), x)
    assert merge_heads(split_heads(randn(7, 8), 2)).shape == (7, 8)  # no batch axis


def test_split_heads_refuses_a_width_that_does_not_divide():
    with pytest.raises(ValueError, match="not divisible"):
        split_heads(randn(1, 3, 10), 4)
    with pytest.raises(ValueError, match="not divisible"):
        MultiHeadAttention(10, 4)


def torch_attention(d_model, n_heads, bias=True, seed=0):
    torch.manual_seed(seed)
    reference = nn.MultiheadAttention(d_model, n_heads, bias=bias, batch_first=True).double()
    with torch.no_grad():  # PyTorch initialises biases to zero: make them matter
        if bias:
            reference.in_proj_bias.normal_()
            reference.out_proj.bias.normal_()
    return reference


@pytest.mark.parametrize("bias", [True, False])
def test_multi_head_attention_equals_torch_self_attention(bias):
    reference = torch_attention(16, 4, bias)
    ours = MultiHeadAttention.from_torch(reference)
    x = randn(3, 6, 16, seed=1)
    output, weights = ours(x, x, x)
    expected, expected_weights = reference(x, x, x, average_attn_weights=False)
    assert output.shape == (3, 6, 16) and weights.shape == (3, 4, 6, 6)
    torch.testing.assert_close(output, expected, **TOLERANCE)
    torch.testing.assert_close(weights, expected_weights, **TOLERANCE)


def test_multi_head_attention_equals_torch_cross_attention_with_padding():
    reference = torch_attention(12, 3)
    ours = MultiHeadAttention.from_torch(reference)
    query, memory = randn(2, 4, 12, seed=2), randn(2, 7, 12, seed=3)
    lengths = torch.tensor([7, 3])
    output, weights = ours(query, memory, memory, padding_mask(lengths, 7))
    expected, expected_weights = reference(
        query,
        memory,
        memory,
        average_attn_weights=False,
        key_padding_mask=~padding_mask(lengths, 7)[:, 0],
    )
    torch.testing.assert_close(output, expected, **TOLERANCE)
    torch.testing.assert_close(weights, expected_weights, **TOLERANCE)
    assert torch.all(weights[1, :, :, 3:] == 0)


def test_multi_head_attention_equals_torch_with_a_causal_mask():
    reference = torch_attention(8, 2)
    ours = MultiHeadAttention.from_torch(reference)
    x = randn(2, 5, 8, seed=4)
    output, _ = ours(x, x, x, causal_mask(5))
    expected, _ = reference(x, x, x, attn_mask=~causal_mask(5))
    torch.testing.assert_close(output, expected, **TOLERANCE)


def test_multi_head_attention_is_not_one_head_and_not_without_output_projection():
    # Guards against a test that would pass anyway: the heads and W^O change the result.
    reference = torch_attention(8, 2)
    x = randn(1, 5, 8, seed=5)
    expected, _ = reference(x, x, x)
    one_head = MultiHeadAttention(8, 1).double()
    one_head.load_state_dict(MultiHeadAttention.from_torch(reference).state_dict())
    assert (one_head(x, x, x)[0] - expected).abs().max() > 1e-3
    no_output = MultiHeadAttention.from_torch(reference)
    no_output.W_o = nn.Identity()
    assert (no_output(x, x, x)[0] - expected).abs().max() > 1e-3


def test_sinusoidal_positions_follow_the_formula():
    encoding = sinusoidal_positions(50, 8)
    assert encoding.shape == (50, 8) and encoding.dtype == torch.float32
    assert encoding[0].tolist() == [0.0, 1.0] * 4  # sin 0, cos 0
    for position in (1, 7, 49):
        for i in range(4):
            angle = position / 10000 ** (2 * i / 8)
            assert encoding[position, 2 * i] == pytest.approx(math.sin(angle), abs=1e-6)
            assert encoding[position, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-6)
    with pytest.raises(ValueError, match="even"):
        sinusoidal_positions(5, 7)


def test_dot_products_of_sinusoidal_positions_depend_only_on_the_offset():
    encoding = sinusoidal_positions(40, 16).double()
    similarity = encoding @ encoding.T
    for offset in (1, 3, 10):
        diagonal = similarity.diagonal(offset)
        torch.testing.assert_close(diagonal, diagonal[0].expand_as(diagonal), atol=1e-5, rtol=0)


def copy_block(ours, reference, decoder=False):
    """Load PyTorch's layer weights into our block (same math, different names)."""
    with torch.no_grad():
        if decoder:
            ours.self_attention = MultiHeadAttention.from_torch(reference.self_attn)
            ours.cross_attention = MultiHeadAttention.from_torch(reference.multihead_attn)
            norms = (reference.norm1, reference.norm2, reference.norm3)
            our_norms = (ours.norm1, ours.norm2, ours.norm3)
        else:
            ours.attention = MultiHeadAttention.from_torch(reference.self_attn)
            norms, our_norms = (reference.norm1, reference.norm2), (ours.norm1, ours.norm2)
        ours.feed_forward[0].load_state_dict(reference.linear1.state_dict())
        ours.feed_forward[2].load_state_dict(reference.linear2.state_dict())
        for mine, theirs in zip(our_norms, norms):
            theirs.weight.normal_()  # not the default ones and zeros, so that they matter
            theirs.bias.normal_()
            mine.load_state_dict(theirs.state_dict())
    return ours


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_block_equals_torch_encoder_layer(norm_first, activation):
    torch.manual_seed(0)
    # Training mode with dropout 0: the same math, without PyTorch's inference fast path
    # (which returns zeros at padded positions).
    reference = nn.TransformerEncoderLayer(
        16, 4, 24, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first
    ).double()
    ours = copy_block(EncoderBlock(16, 4, 24, norm_first, activation).double(), reference)
    x, lengths = randn(3, 6, 16, seed=6), torch.tensor([6, 4, 1])
    output, weights = ours(x, padding_mask(lengths, 6))
    expected = reference(x, src_key_padding_mask=~padding_mask(lengths, 6)[:, 0])
    assert weights.shape == (3, 4, 6, 6)
    torch.testing.assert_close(output, expected, **TOLERANCE)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_block_equals_torch_decoder_layer(norm_first):
    torch.manual_seed(1)
    reference = nn.TransformerDecoderLayer(
        16, 2, 32, dropout=0.0, batch_first=True, norm_first=norm_first
    ).double()
    ours = copy_block(DecoderBlock(16, 2, 32, norm_first).double(), reference, decoder=True)
    target, memory = randn(2, 5, 16, seed=7), randn(2, 8, 16, seed=8)
    lengths = torch.tensor([8, 5])
    output, self_weights, cross_weights = ours(
        target, memory, causal_mask(5), padding_mask(lengths, 8)
    )
    expected = reference(
        target,
        memory,
        tgt_mask=~causal_mask(5),
        memory_key_padding_mask=~padding_mask(lengths, 8)[:, 0],
    )
    assert self_weights.shape == (2, 2, 5, 5) and cross_weights.shape == (2, 2, 5, 8)
    torch.testing.assert_close(output, expected, **TOLERANCE)
    assert torch.all(self_weights.triu(diagonal=1) == 0)
    assert torch.all(cross_weights[1, :, :, 5:] == 0)


def test_multi_head_attention_takes_every_mask_shape_that_broadcasts():
    torch.manual_seed(0)
    layer = MultiHeadAttention(8, n_heads=2)
    x = torch.randn(3, 4, 8)
    keys = torch.tensor([True, True, False, True])
    full = keys.expand(3, 4, 4)
    expected, expected_weights = layer(x, x, x, full)
    for mask in (keys, keys.expand(4, 4), keys.expand(3, 1, 4)):
        out, weights = layer(x, x, x, mask)
        assert torch.allclose(out, expected) and torch.allclose(weights, expected_weights)
    assert (expected_weights[..., 2] == 0).all()
