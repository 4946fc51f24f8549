"""Checks for notebook 04 (the LLaMA block): RMSNorm, SwiGLU, the parameter count, and the capstone, the learner's
own block and model (MyBlock and MyLlama in my_llama.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from ...attention import KVCache
from ...config import PRESETS, LlamaConfig
from ...model import Block, Llama, count_params
from ...rope import precompute_rope
from .base import ExerciseError, call, check_cases, compare, describe, generator


def rms_norm_reference(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """RMSNorm as a function (the package's :class:`~llama_course.model.RMSNorm` does the same)."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def swiglu_reference(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, w3: torch.Tensor) -> torch.Tensor:
    """SwiGLU with weight matrices in ``nn.Linear`` layout (out_features, in_features)."""
    return F.linear(F.silu(F.linear(x, w1)) * F.linear(x, w3), w2)


def check_rms_norm(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> None:
    """``fn(x, weight, eps)`` must normalise the last dimension of ``x`` by its root mean square."""
    g = generator(4)
    cases = []
    for shape, eps in [((3, 8), 1e-5), ((2, 5, 16), 1e-6), ((1, 1, 4), 1e-5), ((2, 3, 32), 0.1)]:
        scale = 10 * torch.rand((), generator=g) + 0.1
        cases.append((torch.randn(shape, generator=g) * scale, torch.randn(shape[-1], generator=g), eps))
    check_cases("rms_norm", fn, rms_norm_reference, cases)


def check_swiglu(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(x, w1, w2, w3)`` must compute ``w2(silu(w1 x) * w3 x)`` with ``nn.Linear``-layout weights."""
    g = generator(5)
    cases = []
    for batch, dim, hidden in [((4,), 8, 24), ((2, 3), 16, 40), ((1, 5), 6, 16)]:
        cases.append((
            torch.randn(*batch, dim, generator=g),
            torch.randn(hidden, dim, generator=g) / dim**0.5,
            torch.randn(dim, hidden, generator=g) / hidden**0.5,
            torch.randn(hidden, dim, generator=g) / dim**0.5,
        ))
    check_cases("swiglu", fn, swiglu_reference, cases)


def check_param_count(fn: Callable[[LlamaConfig], int]) -> None:
    """``fn(config)`` must return the number of parameters of a LLaMA with that config."""
    configs = [PRESETS[name] for name in ("tiny", "llama2-7b", "llama2-70b", "llama3-8b")]
    configs.append(LlamaConfig(vocab_size=100, dim=32, n_layers=3, n_heads=4, n_kv_heads=1, ffn_hidden=50,
                               max_seq_len=16, tie_embeddings=True))
    for config in configs:
        got, expected = call("count_llama_params", fn, config), count_params(config)
        if not isinstance(got, int) or got != expected:
            diff = f" (off by {got - expected:+,})" if isinstance(got, int) else ""
            raise ExerciseError(
                f"count_llama_params gave {got!r} for dim={config.dim}, n_layers={config.n_layers}, "
                f"n_heads={config.n_heads}, n_kv_heads={config.n_kv_heads}, hidden_dim={config.hidden_dim}, "
                f"vocab_size={config.vocab_size}, tie_embeddings={config.tie_embeddings}; "
                f"expected {expected:,}{diff}"
            )
    print(f"✓ count_llama_params is exact on {len(configs)} configs, from a 100-token toy to LLaMA-2 70B")



# --- the capstone: the learner's own block and model (the file my_llama.py) ---

BLOCK_CONFIGS = [
    LlamaConfig(vocab_size=64, dim=32, n_layers=1, n_heads=4, n_kv_heads=4, multiple_of=16, max_seq_len=16),
    LlamaConfig(vocab_size=64, dim=48, n_layers=1, n_heads=6, n_kv_heads=2, multiple_of=16, max_seq_len=16),  # GQA
]
LLAMA_CONFIG = LlamaConfig(vocab_size=96, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, multiple_of=16,
                           max_seq_len=32)  # GQA, untied head


def _build(name: str, cls: Callable[..., nn.Module], config: LlamaConfig, state: dict[str, torch.Tensor]) -> nn.Module:
    """The learner's module for ``config``, holding ``state``; a clear error if the names do not fit."""
    module = call(name, cls, config)
    if not isinstance(module, nn.Module):
        raise ExerciseError(f"{name}(config) should build an nn.Module, got {type(module).__name__}")
    try:
        module.load_state_dict(state)
    except RuntimeError as e:
        raise ExerciseError(f"the package's weights do not load into {name}: keep the attribute names of the given "
                            f"__init__ ({str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else e})"
                            ) from None
    return module.eval()


def _same(got: torch.Tensor, expected: torch.Tensor, atol: float = 1e-5) -> bool:
    return got.shape == expected.shape and torch.allclose(got.double(), expected.double(), atol=atol, rtol=1e-4)


def _block_diagnosis(block: nn.Module, got: torch.Tensor, x: torch.Tensor, cos: torch.Tensor,
                     sin: torch.Tensor) -> str | None:
    """Name the usual mistake if ``got`` is what it would compute: post-norm, or a residual left out."""
    b = cast(Block, block)

    def attn(v: torch.Tensor) -> torch.Tensor:
        return b.attention(v, cos, sin)

    post_h = b.attention_norm(x + attn(x))
    mistakes = {
        "it normalises after the residual add (post-norm, the 2017 Transformer's order); LLaMA is pre-norm: each "
        "sub-layer reads a normalised copy, h = x + attention(attention_norm(x)), and the sum itself is never "
        "normalised": b.ffn_norm(post_h + b.feed_forward(post_h)),
    }
    h = attn(b.attention_norm(x))
    mistakes["the first residual is missing: h must be x + attention(...), not the attention's output alone"] = (
        h + b.feed_forward(b.ffn_norm(h)))
    h = x + attn(b.attention_norm(x))
    mistakes["the second residual is missing: return h + feed_forward(...), not the feed-forward's output alone"] = (
        b.feed_forward(b.ffn_norm(h)))
    h = attn(b.attention_norm(x))
    mistakes["both residuals are missing: each sub-layer's output must be added to its input (x + ..., h + ...)"] = (
        b.feed_forward(b.ffn_norm(h)))
    return next((message for message, output in mistakes.items() if _same(got, output)), None)


@torch.no_grad()
def check_block(block_class: Callable[..., nn.Module]) -> None:
    """``block_class(config)`` with the names of :class:`~llama_course.model.Block` must compute what Block
    computes: ``h = x + attention(attention_norm(x))``, then ``h + feed_forward(ffn_norm(h))``."""
    with torch.random.fork_rng():
        torch.manual_seed(14)
        for config in BLOCK_CONFIGS:
            reference = Block(config).eval()
            for norm in (reference.attention_norm, reference.ffn_norm):  # gains that differ from 1 show misplacement
                norm.weight.copy_(1 + 0.5 * torch.randn(config.dim))
            mine = _build("MyBlock", block_class, config, reference.state_dict())
            cos, sin = precompute_rope(config.head_dim, config.max_seq_len)
            seq = 7
            x = 2 * torch.randn(2, seq, config.dim) + 0.5
            args = (x, cos[:seq], sin[:seq])
            got, expected = call("MyBlock.forward", mine, *args), reference(*args)
            if isinstance(got, torch.Tensor) and got.shape == expected.shape and not _same(got, expected):
                mistake = _block_diagnosis(reference, got, *args)
                if mistake:
                    raise ExerciseError(f"MyBlock differs from the package's Block: {mistake}")
            gqa = f" (n_heads {config.n_heads}, n_kv_heads {config.n_kv_heads})"
            compare("MyBlock.forward" + gqa, got, expected, args)
    print(f"✓ MyBlock computes the package's Block on {len(BLOCK_CONFIGS)} configs, grouped-query attention included")


def _random_hf_llama(config: LlamaConfig) -> nn.Module:
    """transformers' own LlamaForCausalLM with this shape and its own random init (transformers is imported here,
    when the check runs: it is in the course extra)."""
    try:
        import transformers
    except ImportError as e:
        raise ExerciseError("check_llama compares with Hugging Face transformers: pip install 'llama-course[course]'"
                            ) from e
    from ...hf import config_to_hf

    fields = {k: v for k, v in config_to_hf(config).items() if k not in ("architectures", "model_type")}
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(**fields)).eval()


def _forward(mine: nn.Module, *args: object) -> object:
    """``mine(*args)`` through :func:`call`, with two usual mistakes named: rotary tables passed whole to the
    blocks, and a MyBlock.forward that is still the stub (the error would otherwise name MyLlama.forward)."""
    rows: list[int] = []

    def record(block: nn.Module, block_args: tuple, kwargs: dict) -> None:
        cos = kwargs.get("cos", block_args[1] if len(block_args) > 1 else None)
        if isinstance(cos, torch.Tensor):
            rows.append(cos.size(0))

    hooks = [layer.register_forward_pre_hook(record, with_kwargs=True) for layer in getattr(mine, "layers", [])]
    try:
        return call("MyLlama.forward", mine, *args)
    except ExerciseError as e:
        seq = args[0].size(1) if isinstance(args[0], torch.Tensor) else None
        if rows and seq is not None and rows[0] != seq:
            raise ExerciseError(f"MyLlama.forward gave the blocks {rows[0]} rows of rotary angles for {seq} tokens: "
                                "rope_cos holds every position up to max_seq_len; pass rows start:start+seq "
                                "(and the same of rope_sin)") from e.__cause__
        if "not written yet" in str(e) and _raised_in_a_block(e.__context__, mine):
            raise ExerciseError("MyLlama.forward (or the MyBlock.forward it calls) is not written yet: replace "
                                "`raise NotImplementedError` with your code in my_llama.py's cell, run it, then "
                                "this one") from None
        raise
    finally:
        for hook in hooks:
            hook.remove()


def _raised_in_a_block(error: BaseException | None, mine: nn.Module) -> bool:
    """Whether ``error`` was raised inside one of the blocks of ``mine`` (its innermost frame's self)."""
    tb = error.__traceback__ if isinstance(error, NotImplementedError) else None
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    owner = tb.tb_frame.f_locals.get("self") if tb is not None else None
    return owner is not None and owner is not mine and any(owner is layer for layer in getattr(mine, "layers", []))


def _check_logits(mine: nn.Module, reference: Llama, hf_model: nn.Module, tokens: torch.Tensor) -> None:
    got = _forward(mine, tokens)
    if isinstance(got, tuple):
        raise ExerciseError("MyLlama(tokens) without targets should return the logits alone, not a tuple")
    expected = hf_model(tokens).logits
    if isinstance(got, torch.Tensor) and got.shape == expected.shape and not _same(got, expected, 1e-4):
        h = reference.tok_embeddings(tokens)
        cos, sin = reference.rope_cos[: tokens.size(1)], reference.rope_sin[: tokens.size(1)]
        for layer in reference.layers:
            h = layer(h, cos, sin)
        if _same(got, reference.output(h), 1e-4):
            raise ExerciseError("MyLlama's logits are those of the hidden states before the final norm: "
                                "apply self.norm to the last block's output, then self.output")
        if _same(got[:, 0], expected[:, 0], 1e-4):
            raise ExerciseError("MyLlama's logits are right at position 0 but not after: check the rotary angles "
                                "each block gets (rope_cos and rope_sin, rows start .. start + seq)")
    compare("MyLlama.forward", got, expected, (tokens,), atol=1e-4)


def _check_loss(mine: nn.Module, reference: Llama, tokens: torch.Tensor) -> None:
    targets = torch.roll(tokens, -1, dims=1)
    targets[:, -1] = -100  # no next token here: ignored
    targets[0, :3] = -100  # as a fine-tune ignores its prompt's tokens
    got = _forward(mine, tokens, targets)
    if not (isinstance(got, tuple) and len(got) == 2):
        raise ExerciseError("MyLlama(tokens, targets) should return a pair (logits, loss), got "
                            f"{type(got).__name__}")
    logits, loss = got
    if isinstance(logits, torch.Tensor) and logits.dim() == 0 and isinstance(loss, torch.Tensor) and loss.dim() == 3:
        raise ExerciseError("MyLlama(tokens, targets) returned (loss, logits): return (logits, loss) in that order")
    expected_logits, expected_loss = reference(tokens, targets)
    compare("MyLlama.forward's logits with targets", logits, expected_logits, (tokens, targets), atol=1e-4)
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        raise ExerciseError(f"the loss should be a tensor with one value (the mean), got {describe((loss,))}")
    shifted = F.cross_entropy(expected_logits[:, :-1].flatten(0, 1), targets[:, 1:].flatten(), ignore_index=-100)
    if _same(loss, shifted, 1e-4) and not _same(loss, expected_loss, 1e-4):
        raise ExerciseError("the loss shifts the targets again: targets[:, t] is already the token after "
                            "tokens[:, t], so compare logits[:, t] with targets[:, t]")
    if not _same(loss, expected_loss, 1e-4):
        raise ExerciseError(f"MyLlama's loss is {loss.item():.6g}; expected {expected_loss.item():.6g}, the mean "
                            "cross-entropy of logits and targets over the positions whose target is not -100 "
                            "(F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100))")


def _logits(mine: nn.Module, *args: object) -> torch.Tensor:
    """``mine(*args)`` without targets, which must be the logits tensor."""
    out = _forward(mine, *args)
    if not isinstance(out, torch.Tensor):
        raise ExerciseError("MyLlama(tokens) without targets should return the logits tensor, got "
                            f"{type(out).__name__}")
    return out


def _check_cache(mine: nn.Module, config: LlamaConfig, tokens: torch.Tensor) -> None:
    full = _logits(mine, tokens)
    cache = KVCache(config, tokens.size(0))
    prefill = 5
    pieces = [_logits(mine, tokens[:, :prefill], None, cache)]
    if cache.pos != prefill:
        hint = (f"it is {cache.pos} = {config.n_layers} layers x {prefill}: advance it once per forward pass, "
                "after the last layer, not in each block") if cache.pos == config.n_layers * prefill else (
                f"it is {cache.pos}: call cache.advance(seq) once, after the last layer")
        raise ExerciseError(f"after a forward pass of {prefill} tokens with a cache, cache.pos should be {prefill}; "
                            + hint)
    if cache.keys[0][:, :, prefill:].any():
        raise ExerciseError("keys were stored after position cache.pos: call cache.advance(seq) after the last block, "
                            "not before the blocks")
    if not cache.keys[0][:, :, :prefill].any():
        raise ExerciseError("the cache is still empty after a forward pass: MyLlama.forward must hand cache to each "
                            "block, and MyBlock.forward pass cache on to self.attention, which stores the keys and "
                            "values in it")
    for t in range(prefill, tokens.size(1)):
        pieces.append(_logits(mine, tokens[:, t : t + 1], None, cache))
        if cache.pos != t + 1:
            raise ExerciseError(f"after feeding token {t} with a cache, cache.pos should be {t + 1}, got {cache.pos}")
    stepped = torch.cat(pieces, dim=1)
    prefill_right = _same(stepped[:, :prefill], full[:, :prefill], 1e-4)
    if stepped.shape == full.shape and prefill_right and not _same(stepped, full, 1e-4):
        raise ExerciseError("with a cache, the tokens fed one at a time get the wrong logits: their rotary angles "
                            "must start at cache.pos (the positions already cached), not at 0")
    compare("MyLlama.forward, prefill and then one token at a time with a KVCache,", stepped, full, (tokens,),
            atol=1e-4)


@torch.no_grad()
def check_llama(llama_class: Callable[..., nn.Module]) -> None:
    """``llama_class(config)`` with the names of :class:`~llama_course.model.Llama` must give transformers'
    logits for its weights, the package's ``(logits, loss)`` with targets, and the same logits with a KV cache."""
    config = LLAMA_CONFIG
    with torch.random.fork_rng():
        torch.manual_seed(15)
        hf_model = _random_hf_llama(config)
        tokens = torch.randint(0, config.vocab_size, (2, 12))
    from ...hf import state_dict_from_hf

    state = state_dict_from_hf(hf_model.state_dict(), config)
    mine = _build("MyLlama", llama_class, config, state)
    if getattr(mine, "config", None) is not config:
        raise ExerciseError("MyLlama should keep its config as self.config (notebooks 05 and 06 read it)")
    reference = Llama(config).eval()
    reference.load_state_dict(state)
    _check_logits(mine, reference, hf_model, tokens)
    _check_loss(mine, reference, tokens)
    _check_cache(mine, config, tokens)
    print("✓ MyLlama gives the logits of transformers' LlamaForCausalLM (grouped-query attention, untied head), "
          "the package's loss with targets, and the same logits token by token with a KV cache")
