"""Decoding speed: our KV-cached generation, our uncached generation and transformers' `generate`.

    python benchmarks/generate_speed.py

Greedy decoding of 256 new tokens, batch 1, on the same random weights, at two sizes: the course
model's (dim 128, 4 layers) and llama2.c's 15M model (dim 288, 6 layers, 6 heads, 32000 tokens).
"+ compile" is the `compile=True` switch: the decoding step through torch.compile (its warm-up of
some seconds is not timed). Each contender runs in turn, three times, and the median time counts
(prefill included). A second
table gives the cache's speed-up against recomputing everything, as the context grows to 512 tokens.
"""

from __future__ import annotations

import statistics
import time
import warnings
from functools import partial

import torch
import transformers

from llama_course.config import LlamaConfig
from llama_course.generate import generate
from llama_course.hf import to_hf
from llama_course.model import Llama

SIZES = {
    "course model (dim 128, 4 layers)": {},
    "llama2.c 15M (dim 288, 6 layers)": {"dim": 288, "n_layers": 6, "n_heads": 6, "n_kv_heads": 6,
                                         "vocab_size": 32000},
}
NEW_TOKENS = 256


def timed(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build(changes: dict) -> tuple[Llama, transformers.LlamaForCausalLM]:
    torch.manual_seed(0)
    model = Llama(LlamaConfig.preset("tiny").replace(max_seq_len=1024, **changes)).eval()
    hf = to_hf(model).eval()
    hf.generation_config.eos_token_id = None  # always generate all the tokens asked for
    return model, hf


def speed_table() -> None:
    print(f"\ngreedy, {NEW_TOKENS} new tokens after an 8-token prompt, batch 1: tokens per second")
    print(f"{'':34s} {'ours, cache':>12s} {'+ compile':>10s} {'ours, no cache':>15s} {'transformers':>13s} "
          f"{'ours / HF':>10s} {'compiled / HF':>14s}")
    for name, changes in SIZES.items():
        model, hf = build(changes)
        prompt = torch.randint(3, model.config.vocab_size, (1, 8), generator=torch.Generator().manual_seed(1))
        runs = {
            "cache": partial(generate, model, prompt[0], NEW_TOKENS, temperature=0),
            "compiled": partial(generate, model, prompt[0], NEW_TOKENS, temperature=0, compile=True),
            "none": partial(generate, model, prompt[0], NEW_TOKENS, temperature=0, use_cache=False),
            "hf": partial(hf.generate, prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=NEW_TOKENS,
                          min_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=0),
        }
        with torch.no_grad():
            runs["cache"](), runs["compiled"](), runs["hf"]()  # warm-up (compiling happens here)
            rate = {key: NEW_TOKENS / timed(run) for key, run in runs.items()}
            same = generate(model, prompt[0], NEW_TOKENS, temperature=0) == runs["hf"]()[0, 8:].tolist()
        print(f"{name:34s} {rate['cache']:12.0f} {rate['compiled']:10.0f} {rate['none']:15.0f} {rate['hf']:13.0f} "
              f"{rate['cache'] / rate['hf']:9.2f}x {rate['compiled'] / rate['hf']:13.2f}x   same tokens as HF: {same}")


def cache_table() -> None:
    model, _ = build({})
    print("\nthe course model's size: time to generate up to a total context of n tokens (half prompt, half new)")
    print(f"{'context':>8s} {'cache (ms)':>11s} {'no cache (ms)':>14s} {'speed-up':>9s}")
    for total in (64, 128, 256, 512):
        prompt = torch.randint(3, model.config.vocab_size, (total // 2,), generator=torch.Generator().manual_seed(2))
        cached = timed(partial(generate, model, prompt, total // 2, temperature=0))
        uncached = timed(partial(generate, model, prompt, total // 2, temperature=0, use_cache=False))
        print(f"{total:8d} {cached * 1e3:11.0f} {uncached * 1e3:14.0f} {uncached / cached:8.1f}x")


def main() -> None:
    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads, "
          "float32, CPU")
    speed_table()
    cache_table()


if __name__ == "__main__":
    main()
