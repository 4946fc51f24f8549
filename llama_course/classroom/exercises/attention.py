"""Checks for notebooks 02 (attention) and 03 (multi-head attention, RoPE, GQA)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ...attention import Attention, attention, causal_mask
from ...config import LlamaConfig
from ...rope import apply_rope, precompute_rope
from .base import ExerciseError, call, check_cases, compare, describe, generator


def check_softmax(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """``fn(x)`` must be the softmax over the last dimension, and stay finite for large inputs."""
    g = generator(8)
    cases = [(torch.randn(5, generator=g),), (torch.randn(3, 7, generator=g) * 4,),
             (torch.tensor([1000.0, 1001.0, 999.0]),), (torch.tensor([[-1e4, 0.0, 1e4]]),)]
    check_cases("softmax", fn, lambda x: torch.softmax(x, dim=-1), cases)


def check_attention(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(q, k, v, mask)`` must return softmax(q k^T / sqrt(d_k), masked) @ v (mask True = may attend)."""
    g = generator(9)
    cases = []
    for batch, q_len, k_len, d_k, d_v in [((), 4, 4, 8, 8), ((2,), 5, 5, 16, 4), ((2, 3), 3, 6, 8, 8)]:
        cases.append((torch.randn(*batch, q_len, d_k, generator=g), torch.randn(*batch, k_len, d_k, generator=g),
                      torch.randn(*batch, k_len, d_v, generator=g), causal_mask(q_len, k_len)))
    check_cases("my_attention", fn, lambda q, k, v, mask: attention(q, k, v, mask)[0], cases)


def check_rope(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """``fn(x, cos, sin)`` must rotate each pair (x[..., 2i], x[..., 2i+1]) by the angle whose cosine and
    sine are ``cos[t, i]`` and ``sin[t, i]`` at position t (``x`` is (..., seq, d); cos, sin (seq, d/2))."""
    g = generator(10)
    cases = []
    for shape, theta in [((5, 8), 10000.0), ((2, 3, 7, 16), 10000.0), ((1, 12, 4), 500000.0)]:
        cos, sin = precompute_rope(shape[-1], shape[-2], theta)
        cases.append((torch.randn(shape, generator=g), cos, sin))
    check_cases("apply_rotary", fn, apply_rope, cases)


def check_multi_head_attention(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(x, wq, wk, wv, wo, n_heads)`` must be causal multi-head self-attention (no RoPE) with
    ``nn.Linear``-layout weights: project, split into heads, attend per head, join, project out."""
    g = generator(11)
    cases = []
    for batch, seq, dim, heads in [(1, 5, 16, 2), (2, 7, 32, 4), (3, 4, 24, 3)]:
        weights = [torch.randn(dim, dim, generator=g) / dim**0.5 for _ in range(4)]
        cases.append((torch.randn(batch, seq, dim, generator=g), *weights, heads))

    def reference(x, wq, wk, wv, wo, n_heads):
        config = LlamaConfig(vocab_size=1, dim=x.size(-1), n_layers=1, n_heads=n_heads, max_seq_len=x.size(1))
        module = Attention(config)
        for layer, w in zip((module.wq, module.wk, module.wv, module.wo), (wq, wk, wv, wo), strict=True):
            layer.weight.data.copy_(w)
        no_rotation = torch.ones(x.size(1), config.head_dim // 2), torch.zeros(x.size(1), config.head_dim // 2)
        with torch.no_grad():
            return module(x, *no_rotation)

    check_cases("multi_head_attention", fn, reference, cases)


def check_causal_attention(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """``fn(q, k, v)`` must build the causal mask itself and attend; with ``k_len > q_len`` the queries are
    the last ``q_len`` positions (decoding with a cache), so query ``i`` sees keys ``0 .. k_len - q_len + i``."""
    g = generator(12)
    cases = []
    for batch, q_len, k_len, d_k, d_v in [((), 4, 4, 8, 8), ((2,), 5, 5, 16, 4), ((2, 3), 3, 6, 8, 8),
                                          ((1, 2), 1, 7, 8, 8), ((2,), 4, 9, 16, 16)]:
        cases.append((torch.randn(*batch, q_len, d_k, generator=g), torch.randn(*batch, k_len, d_k, generator=g),
                      torch.randn(*batch, k_len, d_v, generator=g)))

    def top_left(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return attention(q, k, v, torch.ones(q.size(-2), k.size(-2), dtype=torch.bool).tril())[0]

    mistakes = [
        (lambda q, k, v: attention(q, k, v)[0],
         "matches attention with no mask at all: every query also sees the keys after it. Build a (q_len, k_len) "
         "boolean mask, True where a query may look, and fill the other scores with -inf before the softmax"),
        (top_left,
         "uses a mask aligned at the top left, torch.tril(torch.ones(q_len, k_len)) (this is what is_causal=True "
         "does), which is right only when q_len == k_len. The queries are the LAST q_len positions: query i "
         "sits at position k_len - q_len + i, so shift the diagonal by k_len - q_len (tril takes a diagonal "
         "argument)"),
        (lambda q, k, v: attention(q * math.sqrt(q.size(-1)), k, v, causal_mask(q.size(-2), k.size(-2)))[0],
         "is masked correctly but not scaled: divide the scores by sqrt(d_k)"),
    ]
    for q, k, v in cases:
        got = call("causal_attention", fn, q, k, v)
        expected = attention(q, k, v, causal_mask(q.size(-2), k.size(-2)))[0]
        comparable = isinstance(got, torch.Tensor) and got.shape == expected.shape
        if comparable and got.dtype.is_floating_point and got.isnan().any():
            raise ExerciseError(
                f"causal_attention({describe((q, k, v))}) returned NaN: a row of your mask has no True (all -inf "
                "-> NaN); query i must see keys 0..k_len-q_len+i, its own included")
        if comparable and not torch.allclose(got, expected, atol=1e-5):
            for mistake, message in mistakes:
                if torch.allclose(got, mistake(q, k, v), atol=1e-5):
                    raise ExerciseError(f"causal_attention({describe((q, k, v))}) {message}")
        compare("causal_attention", got, expected, (q, k, v))
    print(f"✓ causal_attention matches the reference on {len(cases)} random inputs "
          "(q_len == k_len, q_len < k_len, with batch and head dimensions)")


# The capstone of notebook 03: the whole attention layer, as a class with the package's parameter names.

LAYER_CASES = [  # (label, config, batch, seq): seq below max_seq_len uses the first rows of the rope tables
    ("multi-head (4 heads)", LlamaConfig(vocab_size=1, dim=32, n_layers=1, n_heads=4, max_seq_len=8), 2, 8),
    ("grouped-query (8 heads, 2 kv heads)",
     LlamaConfig(vocab_size=1, dim=64, n_layers=1, n_heads=8, n_kv_heads=2, max_seq_len=16), 2, 5),
    ("multi-query (4 heads, 1 kv head)",
     LlamaConfig(vocab_size=1, dim=32, n_layers=1, n_heads=4, n_kv_heads=1, max_seq_len=16), 1, 7),
    ("grouped-query with rope_theta 500000 (6 heads, 2 kv heads)",
     LlamaConfig(vocab_size=1, dim=48, n_layers=1, n_heads=6, n_kv_heads=2, rope_theta=500000.0, max_seq_len=32),
     2, 12),
]


def attention_layer_variant(
    layer: Attention, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, *, pairing: str = "interleave",
    rope: bool = True, rope_pairs: str = "neighbours", rotate_values: bool = False, causal: bool = True,
    scale: float | None = None, split_transpose: bool = True, join_transpose: bool = True, project_out: bool = True,
) -> torch.Tensor:
    """The attention layer written out step by step, with the usual mistakes as switches: ``pairing="repeat"``
    (``k.repeat`` instead of ``repeat_interleave``), no RoPE, RoPE on the pairs (i, i + d_h/2)
    (``rope_pairs="halves"``), RoPE on v too, no causal mask, another ``scale``, heads split or joined by a
    view/reshape without the transpose, no ``wo``."""
    batch, seq, _ = x.shape

    def heads(projection: nn.Linear, n: int) -> torch.Tensor:  # -> (batch, n, seq, head_dim)
        if split_transpose:
            return projection(x).view(batch, seq, n, layer.head_dim).transpose(1, 2)
        return projection(x).view(batch, n, seq, layer.head_dim)  # the right shape, the wrong numbers

    q, k, v = heads(layer.wq, layer.n_heads), heads(layer.wk, layer.n_kv_heads), heads(layer.wv, layer.n_kv_heads)
    rotate = apply_rope if rope_pairs == "neighbours" else _rope_on_halves
    if rope:
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
    if rotate_values:
        v = rotate(v, cos, sin)
    n_rep = layer.n_heads // layer.n_kv_heads
    if pairing == "interleave":  # query head h reads kv head h // n_rep (Meta's layout, and ours)
        k, v = k.repeat_interleave(n_rep, dim=1), v.repeat_interleave(n_rep, dim=1)
    else:  # query head h reads kv head h % n_kv_heads
        k, v = k.repeat(1, n_rep, 1, 1), v.repeat(1, n_rep, 1, 1)
    scores = q @ k.transpose(-2, -1) * (1 / math.sqrt(layer.head_dim) if scale is None else scale)
    if causal:
        scores = scores.masked_fill(~causal_mask(seq), float("-inf"))
    out = scores.softmax(dim=-1) @ v  # (batch, heads, seq, head_dim)
    out = (out.transpose(1, 2) if join_transpose else out).reshape(batch, seq, -1)
    return layer.wo(out) if project_out else out


def _rope_on_halves(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """RoPE on the pairs (x[i], x[i + d/2]), the layout of Hugging Face's ``rotate_half``: not the course's."""
    first, second = x.chunk(2, dim=-1)
    return torch.cat((first * cos - second * sin, first * sin + second * cos), dim=-1)


def _layer_mistakes(config: LlamaConfig) -> list[tuple[dict, str]]:
    """(switches of :func:`attention_layer_variant`, what to tell the learner whose output equals that)."""
    n_rep = config.n_heads // config.n_kv_heads
    return [
        (dict(pairing="repeat"),
         f"query head h must share the key/value head of its group, h // {n_rep} (h // (n_heads // n_kv_heads)); "
         f"your output is what k.repeat(1, {n_rep}, 1, 1) gives, which pairs head h with kv head h % "
         f"{config.n_kv_heads} instead. Use k.repeat_interleave({n_rep}, dim=1) (the package's repeat_kv), "
         "and the same for v, or F.scaled_dot_product_attention(..., enable_gqa=True)"),
        (dict(split_transpose=False),
         "you viewed the projections straight to (batch, heads, seq, head_dim): the shape is right, but each "
         "\"head\" then holds pieces of several positions. View to (batch, seq, heads, head_dim), the layout the "
         "projection produces, then .transpose(1, 2)"),
        (dict(join_transpose=False),
         "you reshaped the heads' output (batch, heads, seq, head_dim) straight to (batch, seq, dim), which mixes "
         "heads and positions: transpose back first, .transpose(1, 2), then .reshape(batch, seq, -1)"),
        (dict(rope_pairs="halves"),
         "you rotated pairs (i, i + d_h/2) as Hugging Face's rotate_half does; the course and Meta rotate "
         "neighbouring pairs (2i, 2i+1): use apply_rope"),
        (dict(rope=False),
         "it equals the layer without RoPE: rotate q and k (not v) with apply_rope(q, cos, sin), after splitting "
         "into heads, so that they have shape (batch, heads, seq, head_dim) like the tables' (seq, head_dim/2)"),
        (dict(rotate_values=True),
         "it equals the layer with v rotated too: RoPE rotates only q and k, whose dot product then depends on "
         "the distance between positions; the values are not rotated"),
        (dict(causal=False),
         "it equals attention without the causal mask: position t may only look at positions 0..t "
         "(is_causal=True, or masked_fill of the scores with -inf where causal_mask is False)"),
        (dict(scale=1.0),
         "it equals attention without the scale: divide the scores q @ k^T by sqrt(head_dim) before the softmax"),
        (dict(scale=1 / math.sqrt(config.dim)),
         f"the scores are divided by sqrt(dim) = sqrt({config.dim}); the scale is 1/sqrt(head_dim) = "
         f"1/sqrt({config.head_dim}), the width of the vectors that one head multiplies"),
        (dict(project_out=False),
         "it equals the joined heads before the output projection: finish with self.wo(...)"),
    ]


def _same_parameters(name: str, layer: nn.Module, reference: Attention) -> None:
    """The learner's layer must hold the package's parameters (names and shapes), so state dicts load both ways."""
    want = {key: tuple(t.shape) for key, t in reference.state_dict().items()}
    have = {key: tuple(t.shape) for key, t in layer.state_dict().items()}
    problems = [f"missing {key} {shape}" for key, shape in want.items() if key not in have]
    problems += [f"unexpected {key} {shape}" for key, shape in have.items() if key not in want]
    problems += [f"{key} has shape {have[key]}, expected {shape}" for key, shape in want.items()
                 if key in have and have[key] != shape]
    if problems:
        raise ExerciseError(f"{name}(config) should hold the parameters of llama_course.attention.Attention "
                            f"(wq, wk, wv, wo, no biases) so that its state dict loads: {'; '.join(problems)}")


def check_attention_layer(layer_class: Callable[[LlamaConfig], nn.Module]) -> None:
    """``layer_class(config)`` must be an ``nn.Module`` with the parameters of :class:`Attention` (``wq``, ``wk``,
    ``wv``, ``wo``) whose ``forward(x, cos, sin)`` equals ``Attention``'s: RoPE on q and k, each kv head shared by
    its group of query heads, causal attention scaled by 1/sqrt(head_dim), heads joined, ``wo``. The package's
    weights are loaded into it (strict ``load_state_dict``) for multi-head, grouped-query and multi-query configs."""
    name = getattr(layer_class, "__name__", "the layer")
    g = generator(12)
    with torch.random.fork_rng(devices=[]), torch.no_grad():  # building modules draws numbers: keep the learner's
        for label, config, batch, seq in LAYER_CASES:
            reference = Attention(config)
            for p in reference.parameters():
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.size(1)))
            layer = call(name, layer_class, config)
            if not isinstance(layer, nn.Module):
                raise ExerciseError(f"{name}(config) should build a torch.nn.Module, got {type(layer).__name__}")
            _same_parameters(name, layer, reference)
            layer.load_state_dict(reference.state_dict(), strict=True)
            cos, sin = precompute_rope(config.head_dim, config.max_seq_len, config.rope_theta, config.rope_scaling)
            args = (torch.randn(batch, seq, config.dim, generator=g), cos[:seq], sin[:seq])
            try:
                got = call(f"{name}.forward on a {label} layer", layer, *args)
            except ExerciseError as e:
                if config.n_kv_heads < config.n_heads and isinstance(e.__cause__, RuntimeError):
                    raise ExerciseError(f"{e}; keys and values have n_kv_heads heads: give each to its group "
                                        "(step 3), or pass enable_gqa=True") from e.__cause__
                raise
            expected = reference(*args)
            where = f"{name}.forward on a {label} layer, x of shape {tuple(args[0].shape)},"
            if isinstance(got, torch.Tensor) and got.shape == expected.shape and not _close(got, expected):
                for switches, advice in _layer_mistakes(config):
                    if _close(got, attention_layer_variant(reference, *args, **switches)):
                        raise ExerciseError(f"{where} differs from the package's Attention: {advice}")
            try:
                compare(f"{name}.forward", got, expected, args)
            except ExerciseError as e:
                raise ExerciseError(f"on a {label} layer: {e}") from None
    print(f"✓ {name} matches the package's Attention with its weights loaded: "
          + ", ".join(label.split(" (")[0] for label, *_ in LAYER_CASES))


def _close(got: torch.Tensor, expected: torch.Tensor) -> bool:
    return got.shape == expected.shape and torch.allclose(got.double(), expected.double(), atol=1e-5, rtol=1e-4)
