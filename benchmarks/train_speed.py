"""Training-step speed: our Llama against transformers' LlamaForCausalLM, same weights, same batches.

    python benchmarks/train_speed.py            # the tiny config, then two bigger ones
    python benchmarks/train_speed.py --quick    # the tiny config only

A step is forward, cross-entropy, backward, gradient clipping and an AdamW update. The contenders
run in turn, step by step, so machine noise hits them alike; the table gives the median step time,
tokens per second and the speed relative to transformers. "ours (fast)" is the `compile=True`
switch of `llama_course.training.loop`: torch.compile plus the fused AdamW. transformers gets the same
switch too, to show where the speed comes from. Both models start from the same weights and see
the same batches, so their loss curves can be compared: the last column is the largest difference
in loss over the run.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
import warnings

import torch
import torch.nn.functional as F
import transformers

from llama_course.config import LlamaConfig
from llama_course.hf import to_hf
from llama_course.model import Llama

CONFIGS = {  # name: (model changes to the tiny preset, batch, context)
    "tiny: 4 layers, 4 heads, dim 128": ({}, 12, 64),
    "6 layers, 6 heads, dim 288": ({"dim": 288, "n_layers": 6, "n_heads": 6, "n_kv_heads": 6}, 12, 128),
    "8 layers, 8 heads, dim 512": ({"dim": 512, "n_layers": 8, "n_heads": 8, "n_kv_heads": 8}, 8, 256),
}


def ours_loss(model, x, y):
    return model(x, y)[1]


def hf_loss(model, x, y):
    logits = model(input_ids=x).logits
    return F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())


def contender(model, loss_fn, fast: bool):
    """A function doing one training step on (x, y) and returning the loss."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1,
                                  fused=True if fast else None)
    net = torch.compile(model) if fast else model

    def step(x, y):
        loss = loss_fn(net, x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    return step


def run(name: str, changes: dict, batch: int, context: int, steps: int, warmup: int) -> None:
    torch.manual_seed(0)
    config = LlamaConfig.preset("tiny").replace(**changes, max_seq_len=max(context, 256))
    ours = Llama(config)
    hf = to_hf(ours)
    contenders = {
        "transformers": contender(hf, hf_loss, fast=False),
        "ours (eager)": contender(copy.deepcopy(ours), ours_loss, fast=False),
        "ours (fast)": contender(copy.deepcopy(ours), ours_loss, fast=True),
        "transformers (fast)": contender(copy.deepcopy(hf), hf_loss, fast=True),
    }
    generator = torch.Generator().manual_seed(1)
    batches = [torch.randint(0, config.vocab_size, (batch, context + 1), generator=generator)
               for _ in range(warmup + steps)]
    times = {k: [] for k in contenders}
    losses = {k: [] for k in contenders}
    for i, tokens in enumerate(batches):
        for key, step in contenders.items():
            start = time.perf_counter()
            losses[key].append(step(tokens[:, :-1], tokens[:, 1:]))
            if i >= warmup:
                times[key].append(time.perf_counter() - start)
    print(f"\n{name}; batch {batch} x context {context} = {batch * context} tokens a step, "
          f"{ours.num_params() / 1e6:.2f}M parameters")
    print(f"{'':22s} {'ms/step':>8s} {'tokens/s':>9s} {'vs transformers':>16s} {'max |loss - HF loss|':>21s}")
    reference = statistics.median(times["transformers"])
    for key in contenders:
        median = statistics.median(times[key])
        gap = max(abs(a - b) for a, b in zip(losses[key], losses["transformers"], strict=True))
        print(f"{key:22s} {median * 1e3:8.1f} {batch * context / median:9.0f} {reference / median:15.2f}x {gap:21.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny config only")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per contender")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (compilation happens here)")
    args = parser.parse_args()
    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads, "
          "float32, CPU")
    for i, (name, (changes, batch, context)) in enumerate(CONFIGS.items()):
        if args.quick and i > 0:
            break
        run(name, changes, batch, context, args.steps, args.warmup)


if __name__ == "__main__":
    main()
