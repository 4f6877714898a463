"""The language model's parts against references: PyTorch's fused attention (grouped
queries included), Chapter 6's encoder block under a causal mask, rotary embeddings as
complex multiplication, and generation with and without the KV cache."""

import math

import pytest
import torch
import torch.nn.functional as F

from attention_course.models.dot_product_attention import causal_mask, scaled_dot_product_attention
from attention_course.models.language_model import (
    CausalSelfAttention,
    DecoderLanguageModel,
    KVCache,
    alibi_bias,
    alibi_slopes,
    apply_rotary,
    attend,
    bits_per_token,
    causal_mask_for,
    expand_kv_heads,
    generate,
    next_token_loss,
    tiled_attention,
)
from attention_course.models.transformer import EncoderBlock


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def model(seed=0, **options):
    torch.manual_seed(seed)
    return DecoderLanguageModel(vocab_size=11, d_model=16, n_layers=2, n_heads=4, **options).eval()


def tokens(batch, n, seed=1):
    return torch.randint(11, (batch, n), generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- positions


def test_rotary_is_complex_multiplication_by_unit_numbers():
    x, positions = randn(2, 3, 5, 8), torch.tensor([0, 1, 2, 7, 40])
    as_complex = torch.view_as_complex(x.reshape(2, 3, 5, 4, 2).contiguous())
    theta = 10000.0 ** (-torch.arange(0, 8, 2, dtype=torch.float64) / 8)
    turned = as_complex * torch.polar(
        torch.ones(5, 4, dtype=torch.float64), positions[:, None] * theta
    )
    expected = torch.view_as_real(turned).reshape(2, 3, 5, 8)
    torch.testing.assert_close(apply_rotary(x, positions), expected, atol=1e-12, rtol=0)


def test_rotary_scores_depend_only_on_the_offset():
    q, k = randn(1, 8, seed=1), randn(1, 8, seed=2)

    def score(m, n):
        return (apply_rotary(q, torch.tensor([m])) @ apply_rotary(k, torch.tensor([n])).T).item()

    assert score(5, 2) == pytest.approx(score(103, 100), abs=1e-9)
    assert score(5, 2) != pytest.approx(score(5, 3), abs=1e-3)
    with pytest.raises(ValueError, match="even"):
        apply_rotary(randn(2, 3), torch.arange(2))


def test_alibi_penalises_distance_at_each_heads_rate():
    slopes = alibi_slopes(4)
    torch.testing.assert_close(
        slopes, torch.tensor([2**-2, 2**-4, 2**-6, 2**-8], dtype=torch.float64)
    )
    bias = alibi_bias(4, torch.arange(3, 5), torch.arange(5))
    assert bias.shape == (4, 2, 5)
    assert bias[0, 0].tolist() == [-0.75, -0.5, -0.25, 0.0, -0.25]


# ---------------------------------------------------------------- masks and attention


def test_the_mask_of_a_cached_step_is_the_bottom_of_the_causal_mask():
    assert torch.equal(causal_mask_for(6, 6), causal_mask(6))
    assert torch.equal(causal_mask_for(2, 6), causal_mask(6)[4:])
    assert causal_mask_for(1, 6).all()
    windowed = causal_mask_for(6, 6, window=2)
    assert windowed.sum(dim=-1).tolist() == [1, 2, 2, 2, 2, 2]
    assert windowed[5].tolist() == [False, False, False, False, True, True]
    with pytest.raises(ValueError):
        causal_mask_for(3, 2)


def test_grouped_query_attention_equals_pytorchs():
    q, k, v = randn(2, 4, 5, 8, seed=1), randn(2, 2, 7, 8, seed=2), randn(2, 2, 7, 3, seed=3)
    mask = causal_mask_for(5, 7)
    ours, weights = attend(q, expand_kv_heads(k, 4), expand_kv_heads(v, 4), mask)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
    torch.testing.assert_close(ours, expected)
    # query heads 0 and 1 share key/value head 0, heads 2 and 3 share head 1
    torch.testing.assert_close(expand_kv_heads(k, 4)[:, 1], k[:, 0])
    torch.testing.assert_close(expand_kv_heads(k, 4)[:, 2], k[:, 1])
    with pytest.raises(ValueError):
        expand_kv_heads(randn(1, 3, 2, 2), 4)


def test_attend_with_a_bias_adds_it_to_the_scores():
    q, k, v = randn(1, 2, 3, 4), randn(1, 2, 3, 4, seed=1), randn(1, 2, 3, 4, seed=2)
    bias = randn(2, 3, 3, seed=3)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    torch.testing.assert_close(attend(q, k, v, bias=bias)[0], expected)


@pytest.mark.parametrize(
    ("n_queries", "n_keys", "causal", "window"),
    [(37, 37, False, None), (37, 37, True, None), (5, 41, True, None), (50, 50, True, 9)],
)
def test_tiled_attention_is_exact(n_queries, n_keys, causal, window):
    q, k, v = (
        randn(2, 3, n_queries, 8),
        randn(2, 3, n_keys, 8, seed=1),
        randn(2, 3, n_keys, 5, seed=2),
    )
    mask = causal_mask_for(n_queries, n_keys, window=window) if causal else None
    expected = scaled_dot_product_attention(q, k, v, mask)[0]
    got = tiled_attention(q, k, v, query_tile=8, key_tile=6, causal=causal, window=window)
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)


def test_tiled_attention_survives_huge_scores():
    q, k, v = 1000 * randn(1, 9, 4), 1000 * randn(1, 9, 4, seed=1), randn(1, 9, 4, seed=2)
    got = tiled_attention(q, k, v, query_tile=4, key_tile=4)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, scaled_dot_product_attention(q, k, v)[0])


# ---------------------------------------------------------------- the model


def test_a_decoder_layer_is_chapter_6s_encoder_block_under_a_causal_mask():
    language_model = model(positions="none")
    layer = language_model.layers[0]
    block = EncoderBlock(16, 4, 64, norm_first=True, activation="gelu")
    block.load_state_dict(layer.state_dict())
    x = randn(3, 6, 16, dtype=torch.float32)
    with torch.no_grad():
        torch.testing.assert_close(layer(x)[0], block(x, causal_mask(6))[0])


@pytest.mark.parametrize("positions", ["sinusoidal", "learned", "rope", "alibi", "none"])
@pytest.mark.parametrize("n_kv_heads", [1, 2, 4])
def test_the_model_is_causal(positions, n_kv_heads):
    language_model = model(positions=positions, n_kv_heads=n_kv_heads)
    x = tokens(2, 9)
    changed = x.clone()
    changed[:, 6:] = (changed[:, 6:] + 1) % 11
    with torch.no_grad():
        torch.testing.assert_close(language_model(x)[:, :6], language_model(changed)[:, :6])
        assert not torch.allclose(language_model(x)[:, 6:], language_model(changed)[:, 6:])


def test_without_the_mask_the_future_leaks():
    language_model = model(causal=False)
    x = tokens(1, 9)
    changed = x.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 11
    with torch.no_grad():
        assert not torch.allclose(language_model(x)[:, 0], language_model(changed)[:, 0])


@pytest.mark.parametrize("positions", ["sinusoidal", "learned", "rope", "alibi", "none"])
@pytest.mark.parametrize("n_kv_heads", [1, 4])
def test_generation_with_the_cache_equals_generation_without(positions, n_kv_heads):
    language_model = model(positions=positions, n_kv_heads=n_kv_heads).double()
    prompt = tokens(2, 5)
    cached, cached_logits = generate(language_model, prompt, steps=12)
    plain, plain_logits = generate(language_model, prompt, steps=12, use_cache=False)
    assert torch.equal(cached, plain)
    torch.testing.assert_close(cached_logits, plain_logits, atol=1e-10, rtol=0)


def test_the_cache_holds_every_layers_keys_and_values():
    language_model = model(n_kv_heads=2)
    cache = KVCache()
    with torch.no_grad():
        language_model(tokens(3, 7), cache)
        language_model(tokens(3, 2, seed=2), cache)
    assert cache.length == 9
    assert [k.shape for k in cache.keys] == [(3, 2, 9, 4)] * 2
    assert cache.bytes == 3 * 9 * language_model.cache_bytes_per_token()
    assert language_model.cache_bytes_per_token() == 2 * 2 * 2 * 4 * 4


def test_learned_positions_refuse_to_extrapolate():
    with pytest.raises(ValueError, match="extrapolate"), torch.no_grad():
        model(positions="learned", context=8)(tokens(1, 9))


def test_sampling_is_reproducible_and_follows_the_temperature():
    language_model = model()
    prompt = tokens(1, 3)
    first, _ = generate(language_model, prompt, 20, 1.0, torch.Generator().manual_seed(0))
    again, _ = generate(language_model, prompt, 20, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(first, again)
    greedy, _ = generate(language_model, prompt, 20)
    cold, _ = generate(language_model, prompt, 20, 1e-4, torch.Generator().manual_seed(1))
    assert torch.equal(greedy, cold)


def test_loss_and_bits():
    language_model = model()
    windows = tokens(4, 9)
    loss = next_token_loss(language_model, windows[:, :-1], windows[:, 1:])
    assert bits_per_token(language_model, windows, batch_size=3) == pytest.approx(
        loss.item() / math.log(2), rel=1e-5
    )


def test_the_model_refuses_unknown_positions_and_heads():
    with pytest.raises(ValueError, match="positions"):
        DecoderLanguageModel(5, positions="relative")
    with pytest.raises(ValueError, match="n_kv_heads"):
        CausalSelfAttention(16, 4, n_kv_heads=3)
