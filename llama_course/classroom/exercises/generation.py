"""Checks for notebook 06 (generation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ...attention import KVCache
from ...config import PRESETS, LlamaConfig
from ...generate import Sampling, generate, next_token_probs
from ...model import Llama
from .base import ExerciseError, call, check_cases, generator


def check_greedy_decode(fn: Callable[[Any, list[int], int], list[int]]) -> None:
    """``fn(model, prompt_ids, n)`` must return the ``n`` ids greedy decoding appends (no cache needed)."""
    torch.manual_seed(14)
    model = Llama(LlamaConfig(vocab_size=50, dim=32, n_layers=2, n_heads=4, max_seq_len=40))
    for prompt, n in (([1, 7, 3], 12), ([1], 5), ([1, 9, 9, 9], 20)):
        got = call("greedy_decode", fn, model, list(prompt), n)
        expected = generate(model, prompt, n, temperature=0)
        got = [int(t) for t in got] if isinstance(got, (list, tuple, torch.Tensor)) else got
        if got != expected:
            raise ExerciseError(f"greedy_decode(model, {prompt}, {n}) returned {got}; expected {expected}")
    print("✓ greedy_decode picks the same tokens as the package's generate(temperature=0)")


def check_top_p(fn: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """``fn(probs, p)`` must keep the most likely tokens until their mass reaches ``p`` and renormalize."""
    g = generator(15)
    cases = [(torch.tensor([0.5, 0.2, 0.15, 0.1, 0.05]), p) for p in (0.5, 0.6, 0.8, 1.0)]
    cases += [(torch.randn(30, generator=g).mul(2).softmax(-1), p) for p in (0.3, 0.9)]
    check_cases("top_p_filter", fn, lambda probs, p: next_token_probs(probs.log()[None], Sampling(top_p=p))[0],
                 cases)


def check_kv_cache_bytes(fn: Callable[[LlamaConfig, int, int], int]) -> None:
    """``fn(config, seq_len, bytes_per_value)`` must be the KV cache's size for one sequence of ``seq_len``."""
    n = 0
    for name in ("tiny", "llama2-7b", "llama2-70b", "llama3-8b"):
        config = PRESETS[name]
        for seq_len, size in ((config.max_seq_len, 2), (1000, 4)):
            expected = 2 * config.n_layers * config.n_kv_heads * config.head_dim * seq_len * size
            got = call("kv_cache_bytes", fn, config, seq_len, size)
            if got != expected:
                raise ExerciseError(f"kv_cache_bytes({name}, seq_len={seq_len}, bytes_per_value={size}) = {got!r}; "
                                    f"expected {expected:,}")
            n += 1
    print(f"✓ kv_cache_bytes is right for {n} cases (4 presets, two lengths and precisions)")


class _Interface(torch.nn.Module):
    """A model seen only through what the exercise may use: calling it, its ``.config`` and its parameters. The
    learner's own MyLlama of notebook 04 promises no more."""

    def __init__(self, model: Llama) -> None:
        super().__init__()
        self.model, self.config = model, model.config

    def forward(self, tokens: torch.Tensor, targets: torch.Tensor | None = None, cache: KVCache | None = None) -> Any:
        return self.model(tokens, targets, cache)


class _Calls:
    """What a model was fed, call by call, seen through a forward pre-hook: the tokens, the cache object (None
    when none was passed) and the cache's position when the call began."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.calls: list[tuple[list[int] | None, Any, int | None, bool]] = []
        self.handle = model.register_forward_pre_hook(self._record, with_kwargs=True)

    def _record(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        tokens = args[0] if args else kwargs.get("tokens")
        cache = kwargs.get("cache", args[2] if len(args) > 2 else None)
        cache_as_targets = len(args) > 1 and isinstance(args[1], KVCache)  # model(tokens, cache): targets=cache
        ids = tokens[0].tolist() if isinstance(tokens, torch.Tensor) and tokens.dim() == 2 else None
        self.calls.append((ids, cache, getattr(cache, "pos", None), cache_as_targets))


def _diagnose_calls(calls: list[tuple[list[int] | None, Any, int | None, bool]], prompt: list[int],
                    new: list[int]) -> str | None:
    """What is wrong with how the model was fed, or None: the prompt once (prefill), then the newest token alone,
    every call with the same cache."""
    if not calls:
        return ("never called the model: feed the prompt with model(tokens, cache=cache), calling the model itself, "
                "model(...), not model.forward(...)")
    for step, (ids, cache, pos, cache_as_targets) in enumerate(calls):
        if ids is None:  # not a (batch, seq) tensor: the model's own error says what it expects
            return None
        if cache_as_targets:
            return ("the cache went in as the second positional argument, which is `targets`: write "
                    "model(tokens, cache=cache)")
        if cache is None:
            return (f"the cache was not passed at call {step + 1}: call model(tokens, cache=cache) every time, or the "
                    "model sees only the tokens you give it and forgets the rest")
        if cache is not calls[0][1]:
            return (f"call {step + 1} got a different cache from the first call: make one cache before the loop "
                    "and pass that same one at every step")
        if step == 0:
            if pos != 0:
                return (f"the cache already held {pos} positions before the prompt: make a new cache inside "
                        "cached_greedy_decode, one per call")
            if ids != prompt:
                return (f"the first call should feed the whole prompt once (the prefill), {len(prompt)} tokens "
                        f"{prompt[:8]}{'...' if len(prompt) > 8 else ''}; it got {len(ids)} tokens {ids[:8]}")
            continue
        if len(ids) > 1:
            if len(ids) == len(prompt) + step:
                return (f"you fed the whole sequence again at step {step} ({len(ids)} tokens): that is decoding "
                        "without the cache; the cache already holds them, so feed only the newest token")
            return f"step {step} fed {len(ids)} tokens; after the prefill feed exactly one token per call, the newest"
        expected_pos = len(prompt) + step - 1
        if pos != expected_pos:
            return (f"at step {step} the cache held {pos} positions but {expected_pos} tokens had been fed: do not "
                    "call cache.advance yourself (the model does, once per call) and do not reuse a filled cache")
        if step - 1 < len(new) and ids != [new[step - 1]]:
            return (f"step {step} fed token {ids}, but the newest token is [{new[step - 1]}], the one you picked "
                    "at the step before")
    return None


def check_cached_greedy_decode(fn: Callable[[Any, list[int], int], list[int]]) -> None:
    """``fn(model, prompt_ids, n)`` must return greedy decoding's ``n`` new ids, feeding the prompt once and then
    one token per call through a KV cache (the calls are watched with a forward hook)."""
    torch.manual_seed(16)
    config = LlamaConfig(vocab_size=50, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=40)
    model = Llama(config).eval()
    seen = _Interface(model)
    g = generator(16)
    long_prompt = [1, *torch.randint(2, 50, (35,), generator=g).tolist()]
    cases = (([1, 7, 3], 12), ([1], 6), ([1, 9, 9, 9], 20), (long_prompt, config.max_seq_len - len(long_prompt)))
    for prompt, n in cases:
        watch = _Calls(seen)
        try:
            got = call("cached_greedy_decode", fn, seen, list(prompt), n)
        except ExerciseError as error:
            if "not written yet" in str(error):
                raise
            cause = error.__cause__
            if isinstance(cause, AttributeError) and getattr(cause, "obj", None) is seen:
                raise ExerciseError(f"cached_greedy_decode used model.{cause.name}: use nothing but "
                                    "model(tokens, cache=cache), model.config and model.parameters(), so that it "
                                    "runs on any model with this interface, your own MyLlama too (make the cache "
                                    "with KVCache(model.config, ...), take the device from "
                                    "next(model.parameters()))") from error
            # failed before any call (a TypeError, a NameError...): the learner's own error says what is wrong
            problem = _diagnose_calls(watch.calls, list(prompt), []) if watch.calls else None
            if problem is None:
                raise
            raise ExerciseError(f"cached_greedy_decode(model, {_short(prompt)}, {n}): {problem}") from error
        finally:
            watch.handle.remove()
        where = f"cached_greedy_decode(model, {_short(prompt)}, {n})"
        if not isinstance(got, (list, tuple, torch.Tensor)):
            raise ExerciseError(f"{where} should return a list of {n} token ids, got {type(got).__name__}")
        got = [int(t) for t in got]
        if len(got) != n:
            raise ExerciseError(f"{where} returned {len(got)} ids; expected {n} (the new tokens only, not the prompt)")
        problem = _diagnose_calls(watch.calls, list(prompt), got)
        if problem is not None:
            raise ExerciseError(f"{where}: {problem}")
        expected = generate(model, prompt, n, temperature=0)
        if got != expected:
            first = next(i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b)
            raise ExerciseError(f"{where} returned {got}; expected {expected} (greedy: the argmax of the last "
                                f"position's logits); first difference at new token {first}")
    print(f"✓ cached_greedy_decode matches generate(temperature=0) on {len(cases)} prompts (1 to {len(long_prompt)} "
          "tokens), feeding the prompt once and then one token per call")


def _short(ids: list[int]) -> str:
    return str(ids) if len(ids) <= 8 else f"[{', '.join(map(str, ids[:4]))}, ... {len(ids)} tokens]"
