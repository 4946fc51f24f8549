"""Text generation: turn next-token logits into text, one token at a time, with a KV cache.

The prompt is fed once (the "prefill"), filling the cache with its keys and values; after that each
step feeds only the newest token. The sampling settings are the usual ones: temperature, top-k
(Fan et al. 2018), top-p or nucleus sampling (Holtzman et al. 2020), min-p (Nguyen et al. 2024) and
the repetition penalty of CTRL (Keskar et al. 2019), applied in that order after the penalty.
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import cast, overload

import torch

from .config import is_real, is_whole
from .model import Llama, check_token_ids


@dataclass(frozen=True)
class Sampling:
    """How to pick the next token. ``temperature=0`` is greedy decoding (always the most likely token)."""

    temperature: float = 1.0
    top_k: int | None = None  # keep the k most likely tokens
    top_p: float | None = None  # keep the fewest tokens whose probabilities add up to at least p
    min_p: float | None = None  # keep tokens at least min_p times as likely as the most likely one
    repetition_penalty: float = 1.0  # > 1 makes tokens already in the text less likely

    def __post_init__(self) -> None:
        if not is_real(self.temperature) or self.temperature < 0:
            raise ValueError(f"temperature must be a number >= 0 (0 = greedy), got {self.temperature!r}")
        if self.top_k is not None and (not is_whole(self.top_k) or self.top_k < 1):
            raise ValueError(f"top_k must be a whole number >= 1 (or None for no limit), got {self.top_k!r}")
        if self.top_p is not None and not (is_real(self.top_p) and 0 < self.top_p <= 1):
            raise ValueError(f"top_p must be in (0, 1] (or None), got {self.top_p!r}")
        if self.min_p is not None and not (is_real(self.min_p) and 0 <= self.min_p < 1):
            raise ValueError(f"min_p must be in [0, 1) (or None), got {self.min_p!r}")
        if not is_real(self.repetition_penalty) or not self.repetition_penalty > 0:
            raise ValueError(f"repetition_penalty must be > 0 (1 = none), got {self.repetition_penalty!r}")


def penalize_repeats(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """Transformers' repetition penalty, a variant of CTRL's: the logit of every token in ``seen`` (batch, n) is
    divided by ``penalty`` if positive and multiplied by it if negative, so the token always becomes less likely
    (CTRL divides whatever the sign, and penalises only the tokens it generated)."""
    if penalty == 1.0:
        return logits
    picked = logits.gather(-1, seen)
    return logits.scatter(-1, seen, torch.where(picked > 0, picked / penalty, picked * penalty))


def filter_logits(logits: torch.Tensor, sampling: Sampling) -> torch.Tensor:
    """Logits divided by the temperature, with the tokens that top-k, top-p and min-p exclude set to -inf."""
    logits = logits.float() / max(sampling.temperature, 1e-8)
    if sampling.top_k is not None and sampling.top_k < logits.size(-1):
        kth = torch.topk(logits, sampling.top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if sampling.top_p is not None and sampling.top_p < 1:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        before = sorted_logits.softmax(-1).cumsum(-1) - sorted_logits.softmax(-1)  # mass of the better tokens
        drop = before >= sampling.top_p  # the nucleus is complete without this token
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    if sampling.min_p is not None and sampling.min_p > 0:
        probs = logits.softmax(-1)
        logits = logits.masked_fill(probs < sampling.min_p * probs.max(-1, keepdim=True).values, float("-inf"))
    return logits


def next_token_probs(logits: torch.Tensor, sampling: Sampling, seen: torch.Tensor | None = None) -> torch.Tensor:
    """The distribution the next token is drawn from (batch, vocab); for greedy, all mass on the argmax."""
    if seen is not None:
        logits = penalize_repeats(logits, seen, sampling.repetition_penalty)
    if sampling.temperature == 0:
        return torch.nn.functional.one_hot(logits.argmax(-1), logits.size(-1)).float()
    return filter_logits(logits, sampling).softmax(-1)


def sample_next(
    logits: torch.Tensor, sampling: Sampling, generator: torch.Generator | None = None, seen: torch.Tensor | None = None
) -> torch.Tensor:
    """One token id per row of ``logits`` (batch, vocab)."""
    if seen is not None:
        logits = penalize_repeats(logits, seen, sampling.repetition_penalty)
    if sampling.temperature == 0:
        return logits.argmax(dim=-1)
    probs = filter_logits(logits, sampling).softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _check_prompt(model: Llama, ids: torch.Tensor) -> None:
    n, limit = ids.size(1), model.config.max_seq_len
    if n == 0:
        raise ValueError("the prompt is empty: give at least one token (text prompts start with <s>)")
    if n >= limit:
        raise ValueError(f"the prompt is {n} tokens but the model's context is {limit}: it leaves no room to "
                         f"generate; shorten it to at most {limit - 1} tokens")
    check_token_ids(ids, model.config.vocab_size, " (the model's vocabulary): check the prompt's tokenizer")


_compiled: weakref.WeakKeyDictionary[Llama, torch.nn.Module] = weakref.WeakKeyDictionary()


def compiled(model: Llama) -> torch.nn.Module:
    """``model`` compiled once with ``torch.compile`` for one-token decoding steps (shapes marked dynamic, so
    the growing cache does not recompile it at every step). It shares the model's weights."""
    if model not in _compiled:
        # a compiled Module is an OptimizedModule (an nn.Module); torch.compile's annotation only says callable
        _compiled[model] = cast(torch.nn.Module, torch.compile(model, dynamic=True))
    return _compiled[model]


@torch.no_grad()
def token_steps(
    model: Llama, ids: torch.Tensor, max_new_tokens: int, sampling: Sampling,
    generator: torch.Generator | None = None, use_cache: bool = True, compile: bool = False,
) -> Iterator[torch.Tensor]:
    """Yield the next token of every row of ``ids`` (batch, n), step after step, until ``max_new_tokens`` or
    the context is full. With ``use_cache=False`` every step recomputes the whole sequence (for comparison);
    ``compile=True`` runs the decoding steps through :func:`compiled` (faster after a warm-up of seconds)."""
    _check_prompt(model, ids)
    if not is_whole(max_new_tokens) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be a whole number >= 0, got {max_new_tokens!r}")
    steps = min(max_new_tokens, model.config.max_seq_len - ids.size(1))
    cache = model.new_cache(ids.size(0), ids.size(1) + steps) if use_cache else None
    step_model = compiled(model) if compile else model
    keep_seen = sampling.repetition_penalty != 1.0 or not use_cache  # the whole text is needed only then
    seen = ids
    logits = model(ids, cache=cache)[:, -1]
    if steps and not bool(torch.isfinite(logits).all()):
        raise ValueError("the model's logits are NaN or infinite: its weights are broken (a run that diverged?)")
    for i in range(steps):
        token = sample_next(logits, sampling, generator, seen if keep_seen else None)
        yield token
        if i == steps - 1:
            return
        if keep_seen:
            seen = torch.cat([seen, token[:, None]], dim=1)
        logits = step_model(token[:, None], cache=cache)[:, -1] if use_cache else step_model(seen)[:, -1]


def _as_prompts(prompt) -> tuple[list[list[int]], bool]:
    """The prompt(s) as lists of ids, and whether a single prompt was given. Ids must be whole numbers: a float
    such as 3.7 is refused rather than silently cut to 3."""
    if isinstance(prompt, torch.Tensor):
        if prompt.is_floating_point() or prompt.is_complex() or prompt.dtype == torch.bool:
            raise TypeError(f"token ids must be integers, got a tensor of {prompt.dtype}")
        return (prompt.tolist(), False) if prompt.dim() == 2 else ([prompt.flatten().tolist()], True)
    items = list(prompt)
    if items and isinstance(items[0], (Sequence, torch.Tensor)):
        return [_ids(torch.as_tensor(p).flatten().tolist() if isinstance(p, torch.Tensor) else p) for p in items], False
    return [_ids(items)], True


def _ids(items) -> list[int]:
    """Each item as an int id; floats, bools and strings are a TypeError."""
    try:
        if any(isinstance(t, bool) for t in items):
            raise TypeError
        return [operator.index(t) for t in items]
    except TypeError:
        raise TypeError(f"token ids must be whole numbers, got {list(items)[:8]!r}") from None


def _generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    return None if seed is None else torch.Generator(device=device).manual_seed(seed)


@overload
def generate(model: Llama, prompt: Sequence[int], max_new_tokens: int = 100, *, seed: int | None = None,
             stop_ids: Sequence[int] = (), use_cache: bool = True, compile: bool = False, **sampling) -> list[int]: ...


@overload
def generate(model: Llama, prompt: Sequence[Sequence[int]], max_new_tokens: int = 100, *, seed: int | None = None,
             stop_ids: Sequence[int] = (), use_cache: bool = True, compile: bool = False,
             **sampling) -> list[list[int]]: ...


@overload
def generate(model: Llama, prompt: torch.Tensor, max_new_tokens: int = 100, *, seed: int | None = None,
             stop_ids: Sequence[int] = (), use_cache: bool = True, compile: bool = False,
             **sampling) -> list[int] | list[list[int]]: ...


def generate(
    model: Llama,
    prompt: Sequence[int] | torch.Tensor | Sequence[Sequence[int]],
    max_new_tokens: int = 100,
    *,
    seed: int | None = None,
    stop_ids: Sequence[int] = (),
    use_cache: bool = True,
    compile: bool = False,
    **sampling,
) -> list[int] | list[list[int]]:
    """The new token ids after ``prompt`` (a list of ids), or one list per prompt for a list of prompts.

    Sampling options are those of :class:`Sampling` (``temperature``, ``top_k``, ``top_p``, ``min_p``,
    ``repetition_penalty``). A sequence ends at any of ``stop_ids`` (kept) or when the context is full.
    Prompts of equal length run together as one batch. ``seed`` makes sampling repeatable;
    ``use_cache`` and ``compile`` are as in :func:`token_steps`.
    """
    settings = Sampling(**sampling)
    device = model.device
    prompts, single = _as_prompts(prompt)
    stops = set(stop_ids)
    generator = _generator(seed, device)
    results: list[list[int]] = [[] for _ in prompts]
    for length in sorted({len(p) for p in prompts}):
        rows = [i for i, p in enumerate(prompts) if len(p) == length]
        ids = torch.tensor([prompts[i] for i in rows], dtype=torch.long, device=device).view(len(rows), length)
        done = [False] * len(rows)
        for token in token_steps(model, ids, max_new_tokens, settings, generator, use_cache, compile):
            for j, t in enumerate(token.tolist()):
                if not done[j]:
                    results[rows[j]].append(t)
                    done[j] = t in stops
            if all(done):
                break
    return results[0] if single else results


def _stop_ids(tokenizer) -> list[int]:
    return [tokenizer.eos_id]


def _check_stop_strings(tokenizer, stop: Sequence[str]) -> list[str]:
    stop = [stop] if isinstance(stop, str) else list(stop)
    for s in stop:
        if not isinstance(s, str) or not s:
            raise ValueError(f"stop strings must be non-empty strings, got {s!r}")
        looks_special = s.startswith("<|") and s.endswith("|>") or s in ("<s>", "</s>", "<unk>", "<pad>")
        if looks_special and hasattr(tokenizer, "piece_to_id") and tokenizer.piece_to_id(s) == tokenizer.unk_id:
            raise ValueError(f"unknown special token {s!r}: this tokenizer's special tokens are "
                             f"{sorted(tokenizer.special_ids)}")
    return stop


def _held_back(text: str, stop: list[str]) -> int:
    """How many characters at the end of ``text`` could be the start of a stop string (not shown yet)."""
    return max((k for s in stop for k in range(1, len(s)) if text.endswith(s[:k])), default=0)


def stream(model: Llama, tokenizer, prompt: str, max_new_tokens: int = 200, stop: Sequence[str] = (),
           seed: int | None = None, compile: bool = False, **sampling) -> Iterator[str]:
    """Yield the continuation of the text ``prompt`` piece by piece as it is generated.

    Ends at ``</s>``, at any of the ``stop`` strings (not included) or after ``max_new_tokens``. Text is held
    back while it is an incomplete UTF-8 character or could be the start of a stop string.
    """
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
    stop = _check_stop_strings(tokenizer, stop)
    settings = Sampling(**sampling)
    ids = tokenizer.encode(prompt, bos=True)
    head = tokenizer.decode(ids)
    device = model.device
    steps = token_steps(model, torch.tensor([ids], device=device), max_new_tokens, settings,
                        _generator(seed, device), compile=compile)
    new: list[int] = []
    shown = 0
    text = ""
    for token in steps:
        if int(token) in _stop_ids(tokenizer):
            break
        new.append(int(token))
        text = tokenizer.decode(ids + new)[len(head):]
        cut = min((text.find(s) for s in stop if s in text), default=-1)
        if cut >= 0:
            text = text[:cut]
            break
        if text.endswith("\ufffd"):  # the first bytes of a character spelled in several byte tokens
            continue
        ready = len(text) - _held_back(text, stop)
        if ready > shown:
            yield text[shown:ready]
            shown = ready
    if len(text) > shown:
        yield text[shown:]


@overload
def complete(model: Llama, tokenizer, prompt: str, max_new_tokens: int = 100,
             stop: Sequence[str] = (), seed: int | None = None, compile: bool = False, **sampling) -> str: ...


@overload
def complete(model: Llama, tokenizer, prompt: Sequence[str], max_new_tokens: int = 100,
             stop: Sequence[str] = (), seed: int | None = None, compile: bool = False, **sampling) -> list[str]: ...


def complete(model: Llama, tokenizer, prompt: str | Sequence[str], max_new_tokens: int = 100,
             stop: Sequence[str] = (), seed: int | None = None, compile: bool = False, **sampling) -> str | list[str]:
    """``prompt`` followed by the model's continuation, as text (or a list, for a list of prompts).

    Ends at ``</s>``, at a ``stop`` string (not included) or after ``max_new_tokens``.
    """
    if isinstance(prompt, str):
        return prompt + "".join(stream(model, tokenizer, prompt, max_new_tokens, stop, seed, compile, **sampling))
    stop = _check_stop_strings(tokenizer, stop)
    encoded = [tokenizer.encode(p, bos=True) for p in prompt]
    outputs = generate(model, encoded, max_new_tokens, seed=seed, stop_ids=_stop_ids(tokenizer), compile=compile,
                       **sampling)
    texts = []
    for p, ids, new in zip(prompt, encoded, outputs, strict=True):
        new = [t for t in new if t not in _stop_ids(tokenizer)]
        text = tokenizer.decode(ids + new)[len(tokenizer.decode(ids)):]
        cut = min((text.find(s) for s in stop if s in text), default=len(text))
        texts.append(p + text[:cut])
    return texts


@torch.no_grad()
def generate_with_attention(model: Llama, prompt: Sequence[int], max_new_tokens: int, seed: int | None = None,
                            **sampling) -> tuple[list[int], list[torch.Tensor]]:
    """The new ids, and for each new token the attention (layers, heads, k_len) of the position that
    predicted it: the prompt's last position for the first token, then each new token in turn."""
    device = model.device
    ids = torch.as_tensor(list(prompt), dtype=torch.long, device=device)[None]
    with model.capture_attention() as maps:
        new = [int(t) for t in token_steps(model, ids, max_new_tokens, Sampling(**sampling), _generator(seed, device))]
    layers = model.config.n_layers
    rows = []
    for step in range(len(new)):
        per_layer = maps[step * layers : (step + 1) * layers]  # (1, heads, q_len, k_len) each
        rows.append(torch.stack([m[0, :, -1] for m in per_layer]).float().cpu())
    return new, rows
