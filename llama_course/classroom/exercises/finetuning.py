"""Checks for notebook 07 (fine-tuning)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ...config import PRESETS, LlamaConfig
from ...lora import LoRALinear, apply_lora, count_trainable
from ...model import Llama
from .base import ExerciseError, call, check_cases, generator


def check_chat_targets(fn: Callable[[list[int], list[int]], tuple[list[int], list[int]]]) -> None:
    """``fn(prompt_ids, answer_ids)`` must return (inputs, targets): the ids but the last, the ids but the first,
    with every target inside the prompt replaced by -100."""
    g = generator(21)
    n = 0
    for prompt_len, answer_len in [(3, 1), (5, 2), (12, 6), (2, 9)]:
        prompt = torch.randint(4, 100, (prompt_len,), generator=g).tolist()
        answer = torch.randint(4, 100, (answer_len,), generator=g).tolist()
        ids = prompt + answer
        expected = (ids[:-1], [-100] * (prompt_len - 1) + answer)
        got = call("chat_targets", fn, list(prompt), list(answer))
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
    layer = LoRALinear(torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False), lora_A.shape[0], alpha)
    with torch.no_grad():
        layer.base.weight.copy_(weight)
        layer.lora_A.copy_(lora_A)
        layer.lora_B.copy_(lora_B)
        return layer(x)


def check_lora_forward(fn: Callable[..., torch.Tensor]) -> None:
    """``fn(x, weight, lora_A, lora_B, alpha)`` must be a frozen linear layer plus its LoRA update."""
    g = generator(22)
    cases = []
    for shape, d_in, d_out, rank, alpha in [((3, 8), 8, 6, 2, 4.0), ((2, 5, 16), 16, 16, 4, 16.0),
                                            ((7, 12), 12, 20, 1, 1.0), ((4, 32), 32, 8, 8, 32.0)]:
        cases.append((torch.randn(*shape, generator=g), torch.randn(d_out, d_in, generator=g),
                      torch.randn(rank, d_in, generator=g), torch.randn(d_out, rank, generator=g), alpha))
    check_cases("lora_forward", fn, lora_forward_reference, cases)


def check_lora_params(fn: Callable[[LlamaConfig, Sequence[str], int], int]) -> None:
    """``fn(config, targets, rank)`` must count the parameters ``apply_lora`` adds to a model of that config."""
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
                got = call("lora_params", fn, config, list(targets), rank)
                if got != expected:
                    raise ExerciseError(
                        f"lora_params(dim={config.dim}, n_heads={config.n_heads}, n_kv_heads={config.n_kv_heads}, "
                        f"hidden_dim={config.hidden_dim}, n_layers={config.n_layers}, vocab_size={config.vocab_size}; "
                        f"targets={list(targets)}, rank={rank}) gave {got!r}; expected {expected:,}")
                n += 1
    print(f"✓ lora_params counts the adapters exactly in {n} cases")

