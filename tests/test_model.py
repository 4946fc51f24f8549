import math

import pytest
import torch
import torch.nn.functional as F

from llama_course import (
    Llama,
    LlamaConfig,
    RMSNorm,
    apply_rope,
    causal_mask,
    count_params,
    flops_per_token,
    precompute_rope,
)
from llama_course.attention import attention


def small_config(**changes):
    base = dict(vocab_size=97, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, multiple_of=16, max_seq_len=24)
    return LlamaConfig(**{**base, **changes})


@pytest.fixture
def model():
    torch.manual_seed(0)
    return Llama(small_config()).eval()


def test_logits_shape_and_loss_is_mean_cross_entropy(model):
    tokens = torch.randint(0, 97, (3, 10))
    targets = torch.randint(0, 97, (3, 10))
    targets[0, :4] = -100
    logits, loss = model(tokens, targets)
    assert logits.shape == (3, 10, 97)
    keep = targets != -100
    expected = -logits.log_softmax(-1).gather(-1, targets.clamp(min=0)[..., None])[..., 0][keep].mean()
    torch.testing.assert_close(loss, expected)


def test_untrained_loss_is_near_uniform(model):
    _, loss = model(torch.randint(0, 97, (4, 20)), torch.randint(0, 97, (4, 20)))
    assert abs(loss.item() - math.log(97)) < 0.2


def test_rmsnorm_matches_torch():
    norm = RMSNorm(16, eps=1e-6)
    torch.nn.init.normal_(norm.weight)
    reference = torch.nn.RMSNorm(16, eps=1e-6)
    reference.weight.data.copy_(norm.weight.data)
    x = torch.randn(2, 5, 16) * 3
    torch.testing.assert_close(norm(x), reference(x))


def test_explicit_attention_matches_pytorch_sdpa():
    q, k, v = torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 8)
    out, weights = attention(q, k, v, causal_mask(7))
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True))
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 7))
    assert (weights.triu(1) == 0).all()


def test_causal_mask_with_cached_keys():
    mask = causal_mask(2, 5)
    assert mask.tolist() == [[True, True, True, True, False], [True, True, True, True, True]]
    with pytest.raises(ValueError, match="at least as many keys"):
        causal_mask(3, 2)


def test_rope_preserves_norms_and_depends_only_on_distance():
    cos, sin = precompute_rope(16, 64)
    q, k = torch.randn(16), torch.randn(16)
    rotated = apply_rope(q.expand(64, 16), cos, sin)
    torch.testing.assert_close(rotated.norm(dim=-1), q.norm().expand(64))

    def score(m, n):  # q at position m, k at position n
        q_m = apply_rope(q[None], cos[m : m + 1], sin[m : m + 1])
        k_n = apply_rope(k[None], cos[n : n + 1], sin[n : n + 1])
        return q_m @ k_n.T

    torch.testing.assert_close(score(5, 2), score(40, 37))
    assert not torch.allclose(score(5, 2), score(5, 3))


def test_rope_equals_complex_multiplication():
    cos, sin = precompute_rope(8, 10, theta=500000.0)
    x = torch.randn(2, 10, 8)
    as_complex = torch.view_as_complex(x.unflatten(-1, (-1, 2)).contiguous())
    expected = torch.view_as_real(as_complex * torch.polar(torch.ones_like(cos), torch.atan2(sin, cos))).flatten(-2)
    torch.testing.assert_close(apply_rope(x, cos, sin), expected)


@pytest.mark.parametrize("n_kv_heads", [4, 2, 1])  # multi-head, grouped-query, multi-query
def test_kv_cache_gives_the_same_logits(n_kv_heads):
    torch.manual_seed(1)
    model = Llama(small_config(n_kv_heads=n_kv_heads)).eval()
    tokens = torch.randint(0, 97, (2, 12))
    full = model(tokens)
    cache = model.new_cache(batch_size=2)
    pieces = [model(tokens[:, :5], cache=cache), model(tokens[:, 5:9], cache=cache)]
    pieces += [model(tokens[:, i : i + 1], cache=cache) for i in range(9, 12)]
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, atol=1e-5, rtol=1e-5)
    assert cache.pos == 12
    assert cache.nbytes == 2 * 2 * 2 * n_kv_heads * 24 * 8 * 4  # k+v, layers, batch, heads, len, head_dim, fp32


def test_captured_attention_matches_fast_path(model):
    tokens = torch.randint(0, 97, (2, 9))
    with model.capture_attention() as maps:
        captured = model(tokens)
    torch.testing.assert_close(captured, model(tokens))
    assert len(maps) == 2 and maps[0].shape == (2, 4, 9, 9)
    assert all((m.triu(1) == 0).all() for m in maps)
    assert model.layers[0].attention.captured is None


def test_num_params_matches_count_from_config():
    for tie in (False, True):
        config = small_config(tie_embeddings=tie)
        model = Llama(config)
        assert model.num_params() == count_params(config)
        assert model.num_params(embeddings=False) == count_params(config, embeddings=False)
    assert Llama(small_config(tie_embeddings=True)).num_params() == Llama(small_config()).num_params() - 97 * 32


def test_flops_per_token_formula():
    config = small_config()
    n = count_params(config, embeddings=False) - 32 * (2 * 2 + 1)  # weights in matrix products
    assert flops_per_token(config, seq_len=10, training=False) == 2 * n + 4 * 2 * 10 * 32
    assert flops_per_token(config, seq_len=10) == 3 * flops_per_token(config, seq_len=10, training=False)


def test_a_few_steps_learn_a_repeated_sequence():
    torch.manual_seed(0)
    model = Llama(small_config())
    tokens = torch.arange(20)[None] % 7
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(40):
        _, loss = model(tokens[:, :-1], tokens[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5


@pytest.mark.parametrize("tokens, error, words", [
    (torch.tensor([[1, 2, 97]]), ValueError, r"token id 97 is out of range.*\[0, 97\)"),
    (torch.tensor([[-1, 2]]), ValueError, "token id -1 is out of range"),
    (torch.zeros(1, 25, dtype=torch.long), ValueError, "sequence of 25 tokens is longer than the maximum of 24"),
    (torch.tensor([[1.0, 2.0]]), TypeError, "integer ids"),
    (torch.tensor([1, 2, 3]), ValueError, r"shape \(batch, seq_len\).*tokens\[None\]"),
    (torch.zeros(2, 0, dtype=torch.long), ValueError, "empty"),
    ([[1, 2]], TypeError, "torch.Tensor"),
])
def test_bad_tokens_get_clear_errors(model, tokens, error, words):
    with pytest.raises(error, match=words):
        model(tokens)


def test_bad_targets_and_cache_overflow(model):
    with pytest.raises(ValueError, match="same shape as tokens"):
        model(torch.zeros(2, 5, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long))
    cache = model.new_cache(batch_size=1, max_seq_len=8)
    model(torch.zeros(1, 6, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match="6 cached \\+ 3 new tokens is longer than the maximum of 8"):
        model(torch.zeros(1, 3, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match="batch 2 but the cache was made for 1"):
        model(torch.zeros(2, 1, dtype=torch.long), cache=cache)
    with pytest.raises(TypeError, match="LlamaConfig"):
        Llama({"dim": 8})


def test_submodules_are_not_shadowed_by_the_packages_exports():
    import inspect

    import llama_course.attention as attention_module

    assert inspect.ismodule(attention_module), "llama_course.attention must stay the module (monkeypatching it works)"
