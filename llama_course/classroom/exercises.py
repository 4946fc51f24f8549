"""Checks for the notebooks' exercises: the learner's function against the reference on random inputs.

Each ``check_*`` prints one line when the function is right, and raises :class:`ExerciseError`
with the first thing that is wrong (a shape, a dtype, the first mismatching value) when it is not.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ..config import PRESETS, LlamaConfig
from ..model import count_params


class ExerciseError(AssertionError):
    """The learner's answer differs from the reference (or is not written yet); the message says how.

    In a notebook it shows as that message alone, in red, without the frames of this library; when the
    learner's own code raised, the traceback of their code follows. Like any error it stops "Run All" there.
    """

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of the usual traceback (the hook IPython offers exceptions for this)."""
        lines = [f"\x1b[1;31m✗ {self}\x1b[0m"]
        cause = self.__cause__
        if cause is not None:
            below = cause.__traceback__.tb_next if cause.__traceback__ else None  # from the learner's function on
            lines += ["", *"".join(traceback.format_exception(type(cause), cause, below)).rstrip().splitlines()]
        return lines


def _call(name: str, fn: Callable[..., Any], *args: Any) -> Any:
    if not callable(fn):
        raise ExerciseError(f"{name}: expected a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except NotImplementedError:
        raise ExerciseError(f"{name} is not written yet: replace `raise NotImplementedError` with your code, "
                            "run that cell, then this one") from None
    except Exception as e:  # a shape bug inside the learner's code: say where, keep the cause attached
        raise ExerciseError(f"{name}({_describe(args)}) raised {type(e).__name__}: {e}") from e


def _describe(args: tuple[Any, ...]) -> str:
    return ", ".join(f"tensor{tuple(a.shape)}" if isinstance(a, torch.Tensor) else repr(a) for a in args)


def compare(name: str, got: Any, expected: torch.Tensor, args: tuple[Any, ...] = (), atol: float = 1e-5) -> None:
    """Raise :class:`ExerciseError` unless ``got`` is a tensor equal to ``expected`` (to ``atol``)."""
    where = f"{name}({_describe(args)})"
    if not isinstance(got, torch.Tensor):
        raise ExerciseError(f"{where} should return a torch.Tensor, got {type(got).__name__}")
    if got.shape != expected.shape:
        raise ExerciseError(f"{where} returned shape {tuple(got.shape)}; expected {tuple(expected.shape)}")
    if not got.dtype.is_floating_point:
        raise ExerciseError(f"{where} returned dtype {got.dtype}; expected a floating-point tensor")
    bad = ~torch.isclose(got.double(), expected.double(), atol=atol, rtol=1e-4)
    if bad.any():
        index = tuple(int(i) for i in bad.nonzero()[0])
        raise ExerciseError(
            f"{where} differs from the reference at {int(bad.sum())} of {bad.numel()} positions; "
            f"first at index {index}: got {got[index].item():.6g}, expected {expected[index].item():.6g}"
        )


def _check_cases(
    name: str, fn: Callable[..., Any], reference: Callable[..., torch.Tensor], cases: Iterable[tuple[Any, ...]]
) -> None:
    n = 0
    for args in cases:
        compare(name, _call(name, fn, *args), reference(*args), args)
        n += 1
    print(f"✓ {name} matches the reference on {n} random inputs")


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def rms_norm_reference(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """RMSNorm as a function (the package's :class:`~llama_course.model.RMSNorm` does the same)."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def swiglu_reference(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, w3: torch.Tensor) -> torch.Tensor:
    """SwiGLU with weight matrices in ``nn.Linear`` layout (out_features, in_features)."""
    return F.linear(F.silu(F.linear(x, w1)) * F.linear(x, w3), w2)


def check_rms_norm(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> None:
    """``fn(x, weight, eps)`` must normalise the last dimension of ``x`` by its root mean square."""
    g = _generator(4)
    cases = []
    for shape, eps in [((3, 8), 1e-5), ((2, 5, 16), 1e-6), ((1, 1, 4), 1e-5), ((2, 3, 32), 0.1)]:
        scale = 10 * torch.rand((), generator=g) + 0.1
        cases.append((torch.randn(shape, generator=g) * scale, torch.randn(shape[-1], generator=g), eps))
    _check_cases("rms_norm", fn, rms_norm_reference, cases)


def check_swiglu(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(x, w1, w2, w3)`` must compute ``w2(silu(w1 x) * w3 x)`` with ``nn.Linear``-layout weights."""
    g = _generator(5)
    cases = []
    for batch, dim, hidden in [((4,), 8, 24), ((2, 3), 16, 40), ((1, 5), 6, 16)]:
        cases.append((
            torch.randn(*batch, dim, generator=g),
            torch.randn(hidden, dim, generator=g) / dim**0.5,
            torch.randn(dim, hidden, generator=g) / hidden**0.5,
            torch.randn(hidden, dim, generator=g) / dim**0.5,
        ))
    _check_cases("swiglu", fn, swiglu_reference, cases)


def check_param_count(fn: Callable[[LlamaConfig], int]) -> None:
    """``fn(config)`` must return the number of parameters of a LLaMA with that config."""
    configs = [PRESETS[name] for name in ("tiny", "llama2-7b", "llama2-70b", "llama3-8b")]
    configs.append(LlamaConfig(vocab_size=100, dim=32, n_layers=3, n_heads=4, n_kv_heads=1, ffn_hidden=50,
                               max_seq_len=16, tie_embeddings=True))
    for config in configs:
        got, expected = _call("count_llama_params", fn, config), count_params(config)
        if not isinstance(got, int) or got != expected:
            diff = f" (off by {got - expected:+,})" if isinstance(got, int) else ""
            raise ExerciseError(
                f"count_llama_params gave {got!r} for dim={config.dim}, n_layers={config.n_layers}, "
                f"n_heads={config.n_heads}, n_kv_heads={config.n_kv_heads}, hidden_dim={config.hidden_dim}, "
                f"vocab_size={config.vocab_size}, tie_embeddings={config.tie_embeddings}; "
                f"expected {expected:,}{diff}"
            )
    print(f"✓ count_llama_params is exact on {len(configs)} configs, from a 100-token toy to LLaMA-2 70B")


def check_weight_memory(fn: Callable[[int, str], float]) -> None:
    """``fn(n_params, dtype_name)`` must give the weights' size in GB (10^9 bytes), and raise
    ``ValueError`` for a dtype name it does not know."""
    sizes = {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1, "int4": 0.5}
    for n_params in (6_738_415_616, 70_553_706_496, 1_787_008):
        for dtype, nbytes in sizes.items():
            got = _call("weight_memory_gb", fn, n_params, dtype)
            expected = n_params * nbytes / 1e9
            if not isinstance(got, (int, float)) or abs(got - expected) > 1e-9 * max(1.0, expected):
                raise ExerciseError(f"weight_memory_gb({n_params:,}, {dtype!r}) gave {got!r}; expected {expected:.6g}")
    try:
        got = fn(1000, "float8")
    except ValueError:
        pass
    else:
        raise ExerciseError(
            f"weight_memory_gb(1000, 'float8') gave {got!r}; expected a ValueError for an unknown dtype"
        )
    print(f"✓ weight_memory_gb is right for {len(sizes)} dtypes and 3 model sizes, and rejects unknown dtypes")


def _random_id_lists(seed: int) -> list[list[int]]:
    """Short id lists with many repeats and overlaps ("aaa", "abab"), the cases merges get wrong."""
    g = _generator(seed)
    lists = [[], [7], [1, 1, 1], [1, 2, 1, 2, 1], [5, 5, 5, 5]]
    for length in (10, 30, 60):
        lists.append(torch.randint(0, 4, (length,), generator=g).tolist())
    return lists


def check_pair_counts(fn: Callable[[list[int]], dict[tuple[int, int], int]]) -> None:
    """``fn(ids)`` must count each adjacent pair of ids."""
    from ..data.bpe import pair_counts

    cases = _random_id_lists(6)
    for ids in cases:
        got, expected = _call("pair_counts", fn, list(ids)), pair_counts(ids)
        if not isinstance(got, dict):
            raise ExerciseError(f"pair_counts({ids}) should return a dict, got {type(got).__name__}")
        if dict(got) != expected:
            wrong = sorted(set(got) ^ set(expected) | {p for p in expected if got.get(p) != expected[p]})[0]
            raise ExerciseError(f"pair_counts({ids}) is wrong for pair {wrong}: "
                                f"got {got.get(wrong, 0)}, expected {expected.get(wrong, 0)}")
    print(f"✓ pair_counts matches the reference on {len(cases)} id lists")


def check_merge(fn: Callable[[list[int], tuple[int, int], int], list[int]]) -> None:
    """``fn(ids, pair, new_id)`` must replace each non-overlapping ``pair``, left to right, by ``new_id``."""
    from ..data.bpe import merge

    cases = [(ids, pair) for ids in _random_id_lists(7) for pair in ((1, 1), (1, 2), (5, 5), (0, 3))]
    for ids, pair in cases:
        got, expected = _call("merge", fn, list(ids), pair, 99), merge(ids, pair, 99)
        if got != expected:
            raise ExerciseError(f"merge({ids}, {pair}, 99) gave {got}; expected {expected}")
    print(f"✓ merge matches the reference on {len(cases)} cases, overlapping pairs included")


def check_softmax(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """``fn(x)`` must be the softmax over the last dimension, and stay finite for large inputs."""
    g = _generator(8)
    cases = [(torch.randn(5, generator=g),), (torch.randn(3, 7, generator=g) * 4,),
             (torch.tensor([1000.0, 1001.0, 999.0]),), (torch.tensor([[-1e4, 0.0, 1e4]]),)]
    _check_cases("softmax", fn, lambda x: torch.softmax(x, dim=-1), cases)


def check_attention(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(q, k, v, mask)`` must return softmax(q k^T / sqrt(d_k), masked) @ v (mask True = may attend)."""
    from ..attention import attention, causal_mask

    g = _generator(9)
    cases = []
    for batch, q_len, k_len, d_k, d_v in [((), 4, 4, 8, 8), ((2,), 5, 5, 16, 4), ((2, 3), 3, 6, 8, 8)]:
        cases.append((torch.randn(*batch, q_len, d_k, generator=g), torch.randn(*batch, k_len, d_k, generator=g),
                      torch.randn(*batch, k_len, d_v, generator=g), causal_mask(q_len, k_len)))
    _check_cases("attention", fn, lambda q, k, v, mask: attention(q, k, v, mask)[0], cases)


def check_rope(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """``fn(x, cos, sin)`` must rotate each pair (x[..., 2i], x[..., 2i+1]) by the angle whose cosine and
    sine are ``cos[t, i]`` and ``sin[t, i]`` at position t (``x`` is (..., seq, d); cos, sin (seq, d/2))."""
    from ..rope import apply_rope, precompute_rope

    g = _generator(10)
    cases = []
    for shape, theta in [((5, 8), 10000.0), ((2, 3, 7, 16), 10000.0), ((1, 12, 4), 500000.0)]:
        cos, sin = precompute_rope(shape[-1], shape[-2], theta)
        cases.append((torch.randn(shape, generator=g), cos, sin))
    _check_cases("apply_rotary", fn, apply_rope, cases)


def check_multi_head_attention(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(x, wq, wk, wv, wo, n_heads)`` must be causal multi-head self-attention (no RoPE) with
    ``nn.Linear``-layout weights: project, split into heads, attend per head, join, project out."""
    from ..attention import Attention
    from ..config import LlamaConfig

    g = _generator(11)
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

    _check_cases("multi_head_attention", fn, reference, cases)


def check_next_token_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """``fn(logits, targets)`` must be the mean cross-entropy: logits (batch, seq, vocab), targets (batch, seq)."""
    g = _generator(12)
    cases = [(torch.randn(b, t, v, generator=g) * s, torch.randint(0, v, (b, t), generator=g))
             for b, t, v, s in [(1, 4, 7, 1.0), (2, 5, 11, 3.0), (3, 6, 50, 10.0)]]
    _check_cases("next_token_loss", fn, lambda logits, targets: F.cross_entropy(logits.flatten(0, 1),
                                                                               targets.flatten()), cases)


def check_make_batch(fn: Callable[[torch.Tensor, list[int], int], tuple[torch.Tensor, torch.Tensor]]) -> None:
    """``fn(stream, starts, context)`` must return (inputs, targets), each (len(starts), context): the windows of
    ``stream`` at ``starts`` and the same windows one token later."""
    g = _generator(13)
    n = 0
    for length, batch, context in [(20, 2, 4), (100, 5, 9), (50, 3, 1)]:
        stream = torch.randint(0, 1000, (length,), generator=g)
        starts = torch.randint(0, length - context, (batch,), generator=g).tolist()
        got = _call("make_batch", fn, stream, starts, context)
        if not isinstance(got, tuple) or len(got) != 2:
            raise ExerciseError(f"make_batch should return a pair (inputs, targets), got {type(got).__name__}")
        for name, tensor, shift in zip(("inputs", "targets"), got, (0, 1), strict=True):
            expected = torch.stack([stream[s + shift : s + shift + context] for s in starts])
            if not isinstance(tensor, torch.Tensor) or tensor.shape != expected.shape:
                shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
                raise ExerciseError(f"make_batch {name}: got {shape}, expected a tensor of shape "
                                    f"{tuple(expected.shape)}")
            if not torch.equal(tensor, expected):
                row = int((tensor != expected).any(dim=1).nonzero()[0])
                raise ExerciseError(f"make_batch {name} row {row} (start {starts[row]}): got {tensor[row].tolist()}, "
                                    f"expected {expected[row].tolist()}")
            n += 1
    print(f"✓ make_batch gives the right inputs and targets on {n // 2} random streams")


def check_lr_schedule(fn: Callable[[int, float, int, int, float], float]) -> None:
    """``fn(step, max_lr, warmup_steps, total_steps, min_ratio)`` must be linear warmup then cosine decay."""
    from ..training.recipe import TrainConfig, lr_at

    n = 0
    for max_lr, warmup, total, ratio in [(1e-3, 10, 100, 0.1), (3e-3, 0, 50, 0.0), (6e-4, 25, 40, 0.5)]:
        config = TrainConfig(steps=total, lr=max_lr, warmup_steps=warmup, min_lr_ratio=ratio)
        for step in range(total + 1):
            got = _call("lr_schedule", fn, step, max_lr, warmup, total, ratio)
            expected = lr_at(step, config)
            if not isinstance(got, (int, float)) or abs(got - expected) > 1e-9 + 1e-6 * expected:
                raise ExerciseError(f"lr_schedule(step={step}, max_lr={max_lr}, warmup_steps={warmup}, "
                                    f"total_steps={total}, min_ratio={ratio}) = {got!r}; expected {expected:.6g}")
            n += 1
    print(f"✓ lr_schedule matches the reference at {n} steps of 3 schedules")


def check_greedy_decode(fn: Callable[[Any, list[int], int], list[int]]) -> None:
    """``fn(model, prompt_ids, n)`` must return the ``n`` ids greedy decoding appends (no cache needed)."""
    from ..generate import generate
    from ..model import Llama

    torch.manual_seed(14)
    model = Llama(LlamaConfig(vocab_size=50, dim=32, n_layers=2, n_heads=4, max_seq_len=40))
    for prompt, n in (([1, 7, 3], 12), ([1], 5), ([1, 9, 9, 9], 20)):
        got = _call("greedy_decode", fn, model, list(prompt), n)
        expected = generate(model, prompt, n, temperature=0)
        got = [int(t) for t in got] if isinstance(got, (list, tuple, torch.Tensor)) else got
        if got != expected:
            raise ExerciseError(f"greedy_decode(model, {prompt}, {n}) returned {got}; expected {expected}")
    print("✓ greedy_decode picks the same tokens as the package's generate(temperature=0)")


def check_top_p(fn: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """``fn(probs, p)`` must keep the most likely tokens until their mass reaches ``p`` and renormalize."""
    from ..generate import Sampling, next_token_probs

    g = _generator(15)
    cases = [(torch.tensor([0.5, 0.2, 0.15, 0.1, 0.05]), p) for p in (0.5, 0.6, 0.8, 1.0)]
    cases += [(torch.randn(30, generator=g).mul(2).softmax(-1), p) for p in (0.3, 0.9)]
    _check_cases("top_p_filter", fn, lambda probs, p: next_token_probs(probs.log()[None], Sampling(top_p=p))[0],
                 cases)


def check_kv_cache_bytes(fn: Callable[[LlamaConfig, int, int], int]) -> None:
    """``fn(config, seq_len, bytes_per_value)`` must be the KV cache's size for one sequence of ``seq_len``."""
    n = 0
    for name in ("tiny", "llama2-7b", "llama2-70b", "llama3-8b"):
        config = PRESETS[name]
        for seq_len, size in ((config.max_seq_len, 2), (1000, 4)):
            expected = 2 * config.n_layers * config.n_kv_heads * config.head_dim * seq_len * size
            got = _call("kv_cache_bytes", fn, config, seq_len, size)
            if got != expected:
                raise ExerciseError(f"kv_cache_bytes({name}, seq_len={seq_len}, bytes_per_value={size}) = {got!r}; "
                                    f"expected {expected:,}")
            n += 1
    print(f"✓ kv_cache_bytes is right for {n} cases (4 presets, two lengths and precisions)")


# Notebook 08: beyond the laptop (Hugging Face layout, training compute, sharded training memory)


def check_rope_permutation(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """``fn(w, n_heads)`` must reorder the rows of a ``wq``/``wk`` matrix, head by head, from our RoPE layout
    (pairs ``(2i, 2i+1)`` rotate together) to Hugging Face's (``(i, i + head_dim/2)`` rotate together)."""
    from ..hf import _halves_to_pairs, _pairs_to_halves

    g = _generator(16)
    n = 0
    for n_heads, head_dim, dim in [(1, 4, 3), (2, 8, 16), (4, 16, 64), (2, 6, 5)]:
        w = torch.randn(n_heads * head_dim, dim, generator=g)
        args = (w.clone(), n_heads)
        got = _call("permute_for_hf", fn, *args)
        expected = _pairs_to_halves(w, n_heads)
        if isinstance(got, torch.Tensor) and got.shape == w.shape and not torch.equal(got, expected):
            where = f"permute_for_hf(tensor{tuple(w.shape)}, n_heads={n_heads})"
            if torch.equal(got, w):
                raise ExerciseError(f"{where} returned the rows unchanged; within each head the even rows "
                                    "(0, 2, 4, ...) come first, then the odd rows (1, 3, 5, ...)")
            if torch.equal(got, _halves_to_pairs(w, n_heads)):
                raise ExerciseError(f"{where} applied the inverse permutation (halves -> pairs); we need "
                                    "pairs -> halves: new row j is old row 2j, new row head_dim/2 + j is old row 2j+1")
            if n_heads > 1 and torch.equal(got, _pairs_to_halves(w, 1)):
                raise ExerciseError(f"{where} permuted all rows as one head; permute each head's "
                                    f"{head_dim} rows separately")
        compare("permute_for_hf", got, expected, args)
        n += 1
    print(f"✓ permute_for_hf puts the rows in Hugging Face's RoPE order for {n} shapes (1 to 4 heads)")


def training_gpu_hours_reference(n_params: float, n_tokens: float, peak_flops: float, utilisation: float) -> float:
    """GPU-hours to train ``n_params`` parameters on ``n_tokens`` tokens at 6 FLOPs per parameter per token,
    on GPUs running at ``utilisation`` (0 to 1) of ``peak_flops`` (FLOP/s)."""
    return 6 * n_params * n_tokens / (peak_flops * utilisation) / 3600


def check_training_gpu_hours(fn: Callable[[float, float, float, float], float]) -> None:
    """``fn(n_params, n_tokens, peak_flops, utilisation)`` must give the GPU-hours of a training run (6ND)."""
    g = _generator(17)

    def log_uniform(low: int, high: int) -> float:
        return 10 ** (low + (high - low) * torch.rand((), generator=g).item())

    cases = [(6_738_415_616, 2.0e12, 312e12, 0.4), (65_285_660_672, 1.4e12, 312e12, 0.5)]
    for _ in range(4):
        utilisation = 0.2 + 0.6 * torch.rand((), generator=g).item()
        cases.append((log_uniform(6, 11), log_uniform(9, 13), log_uniform(12, 15), utilisation))
    hints = {3600: "that is GPU-seconds: divide by 3600 for hours", 1 / 24: "that is GPU-days: multiply by 24",
             1 / 3: "that is the forward pass only (2ND): training costs 6ND"}
    for args in cases:
        got, expected = _call("training_gpu_hours", fn, *args), training_gpu_hours_reference(*args)
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            raise ExerciseError(f"training_gpu_hours should return a number, got {type(got).__name__}")
        if abs(got - expected) > 1e-6 * expected:
            n, d, peak, u = args
            ratio = got / expected
            hint = next((h for r, h in hints.items() if abs(ratio - r) < 1e-6 * r), "")
            if not hint and abs(ratio - u) < 1e-6:
                hint = "the GPUs only run at `utilisation` of their peak: divide by peak_flops * utilisation"
            elif not hint and abs(ratio - u * u) < 1e-6:
                hint = "the achieved speed is peak_flops * utilisation; divide by it, do not multiply"
            raise ExerciseError(f"training_gpu_hours(n_params={n:.4g}, n_tokens={d:.4g}, peak_flops={peak:.4g}, "
                                f"utilisation={u:.3g}) = {got:.6g}; expected {expected:.6g}"
                                + (f" ({hint})" if hint else ""))
    print(f"✓ training_gpu_hours is right on {len(cases)} runs, LLaMA-2 7B and LLaMA 65B included")


SHARDING_BYTES = {  # (bytes per parameter held whole on every GPU, bytes per parameter split over the GPUs)
    "none": (16, 0),  # DDP: bf16 weights 2 + bf16 gradients 2 + fp32 master weights, Adam m and v 12
    "optimizer": (4, 12),  # ZeRO stage 1: the optimizer state (fp32 weights, m, v) is sharded
    "gradients": (2, 14),  # ZeRO stage 2 / FSDP SHARD_GRAD_OP: the gradients too
    "full": (0, 16),  # ZeRO stage 3 / FSDP FULL_SHARD: the weights too
}


def training_memory_per_gpu_gb_reference(n_params: int, n_gpus: int, sharding: str) -> float:
    """GB (10^9 bytes) per GPU for the weights, gradients and Adam state of mixed-precision training
    (16 bytes per parameter; Rajbhandari et al. 2020), activations not included."""
    if sharding not in SHARDING_BYTES:
        raise ValueError(f"unknown sharding {sharding!r}; expected one of {list(SHARDING_BYTES)}")
    whole, split = SHARDING_BYTES[sharding]
    return n_params * (whole + split / n_gpus) / 1e9


def check_training_memory_per_gpu(fn: Callable[[int, int, str], float]) -> None:
    """``fn(n_params, n_gpus, sharding)`` must give GB per GPU for weights + gradients + Adam state, and raise
    ``ValueError`` for an unknown ``sharding``."""
    n = 0
    for n_params in (6_738_415_616, 68_976_648_192, 1_787_008):
        for n_gpus in (1, 8, 64):
            for sharding in SHARDING_BYTES:
                got = _call("training_memory_per_gpu_gb", fn, n_params, n_gpus, sharding)
                expected = training_memory_per_gpu_gb_reference(n_params, n_gpus, sharding)
                if not isinstance(got, (int, float)) or isinstance(got, bool) or abs(got - expected) > 1e-9 * expected:
                    whole, split = SHARDING_BYTES[sharding]
                    shown = f"{got:.6g}" if isinstance(got, (int, float)) else repr(got)
                    held = (f"all {whole} bytes per parameter" if not split else
                            f"{whole} bytes per parameter whole and 1/{n_gpus} of the other {split}")
                    raise ExerciseError(
                        f"training_memory_per_gpu_gb({n_params:,}, n_gpus={n_gpus}, sharding={sharding!r}) = {shown}; "
                        f"expected {expected:.6g}: with {sharding!r} each GPU holds {held}"
                    )
                n += 1
    try:
        got = fn(1000, 8, "zero4")
    except ValueError:
        pass
    except Exception as e:
        raise ExerciseError(f"training_memory_per_gpu_gb(1000, 8, 'zero4') raised {type(e).__name__}; expected a "
                            "ValueError that names the known shardings (an unknown sharding)") from e
    else:
        raise ExerciseError(f"training_memory_per_gpu_gb(1000, 8, 'zero4') gave {got!r}; "
                            "expected a ValueError for an unknown sharding")
    print(f"✓ training_memory_per_gpu_gb is right in {n} cases (4 shardings, 1 to 64 GPUs) and rejects unknown ones")


# ---------------------------------------------------------------------------------------------------------------------
# Notebook 07: fine-tuning.


def check_chat_targets(fn: Callable[[list[int], list[int]], tuple[list[int], list[int]]]) -> None:
    """``fn(prompt_ids, answer_ids)`` must return (inputs, targets): the ids but the last, the ids but the first,
    with every target inside the prompt replaced by -100."""
    g = _generator(21)
    n = 0
    for prompt_len, answer_len in [(3, 1), (5, 2), (12, 6), (2, 9)]:
        prompt = torch.randint(4, 100, (prompt_len,), generator=g).tolist()
        answer = torch.randint(4, 100, (answer_len,), generator=g).tolist()
        ids = prompt + answer
        expected = (ids[:-1], [-100] * (prompt_len - 1) + answer)
        got = _call("chat_targets", fn, list(prompt), list(answer))
        if not isinstance(got, tuple) or len(got) != 2:
            raise ExerciseError(f"chat_targets should return a pair (inputs, targets), got {type(got).__name__}")
        for name, value, want in zip(("inputs", "targets"), got, expected, strict=True):
            value = value.tolist() if isinstance(value, torch.Tensor) else list(value)
            if len(value) != len(want):
                raise ExerciseError(f"chat_targets({prompt}, {answer}) {name} has {len(value)} ids; expected "
                                    f"{len(want)} (one per position but the last)")
            if value != want:
                i = next(k for k, (a, b) in enumerate(zip(value, want, strict=True)) if a != b)
                hint = " (a prompt position: its target must be -100)" if want[i] == -100 else ""
                raise ExerciseError(f"chat_targets({prompt}, {answer}) {name}[{i}] is {value[i]}; expected "
                                    f"{want[i]}{hint}")
        n += 1
    print(f"✓ chat_targets masks the prompt and keeps the answer on {n} random examples")


def lora_forward_reference(x: torch.Tensor, weight: torch.Tensor, lora_A: torch.Tensor, lora_B: torch.Tensor,
                           alpha: float) -> torch.Tensor:
    """``W x + (alpha / r) B A x`` through :class:`llama_course.lora.LoRALinear` itself."""
    from ..lora import LoRALinear

    layer = LoRALinear(torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False), lora_A.shape[0], alpha)
    with torch.no_grad():
        layer.base.weight.copy_(weight)
        layer.lora_A.copy_(lora_A)
        layer.lora_B.copy_(lora_B)
        return layer(x)


def check_lora_forward(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(x, weight, lora_A, lora_B, alpha)`` must be a frozen linear layer plus its LoRA update."""
    g = _generator(22)
    cases = []
    for shape, d_in, d_out, rank, alpha in [((3, 8), 8, 6, 2, 4.0), ((2, 5, 16), 16, 16, 4, 16.0),
                                            ((7, 12), 12, 20, 1, 1.0), ((4, 32), 32, 8, 8, 32.0)]:
        cases.append((torch.randn(*shape, generator=g), torch.randn(d_out, d_in, generator=g),
                      torch.randn(rank, d_in, generator=g), torch.randn(d_out, rank, generator=g), alpha))
    _check_cases("lora_forward", fn, lora_forward_reference, cases)


def check_lora_params(fn: Callable[[LlamaConfig, Sequence[str], int], int]) -> None:
    """``fn(config, targets, rank)`` must count the parameters ``apply_lora`` adds to a model of that config."""
    from ..lora import apply_lora, count_trainable
    from ..model import Llama

    configs = [PRESETS["tiny"], LlamaConfig(vocab_size=64, dim=48, n_layers=3, n_heads=6, n_kv_heads=2,
                                            ffn_hidden=80, max_seq_len=16)]
    cases = [(("wq", "wv"), 8), (("wq", "wk", "wv", "wo", "w1", "w2", "w3", "output"), 8), (("w2", "output"), 3),
             (("wk",), 1)]
    n = 0
    for config in configs:
        with torch.device("meta"):
            for targets, rank in cases:
                model = Llama(config)
                apply_lora(model, targets, rank=rank)
                expected = count_trainable(model)[0]
                got = _call("lora_params", fn, config, list(targets), rank)
                if got != expected:
                    raise ExerciseError(
                        f"lora_params(dim={config.dim}, n_heads={config.n_heads}, n_kv_heads={config.n_kv_heads}, "
                        f"hidden_dim={config.hidden_dim}, n_layers={config.n_layers}, vocab_size={config.vocab_size}; "
                        f"targets={list(targets)}, rank={rank}) gave {got!r}; expected {expected:,}")
                n += 1
    print(f"✓ lora_params counts the adapters exactly in {n} cases")
