"""The course model in llama.cpp itself: export to GGUF, load it with llama.cpp, compare token for token.

    python benchmarks/llama_cpp_roundtrip.py

Needs llama.cpp's Python binding, built from source (PyPI ships the source of llama-cpp-python, with llama.cpp
inside; it compiles with cmake and a C++ compiler in some minutes, and is not part of the course's install):

    CMAKE_ARGS="-DLLAVA_BUILD=OFF" pip install llama-cpp-python --no-binary llama-cpp-python

For each GGUF type (F32, and Q8_0: int8 in blocks of 32 with a float16 scale) it checks:
- llama.cpp's tokenizer, reading the vocabulary from the file, gives our ids on every validation story;
- llama.cpp's greedy continuation (its own sampler at temperature 0) of the opening of validation stories
  equals ours token for token: for F32 against our float model; for Q8_0 against our model holding the same
  Q8_0 weights read back from the file, once as they are, and once with the input of every matrix product
  rounded to Q8_0 too, as ggml does (its Q8_0 product multiplies 8-bit blocks by 8-bit blocks).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

from llama_course.checkpoint import course_model
from llama_course.corpus import load_corpus
from llama_course.generate import generate
from llama_course.model import Llama
from llama_course.serving.decode import matching_prefix
from llama_course.serving.gguf import export_gguf, read_gguf

PROMPT_TOKENS, NEW_TOKENS, STORIES = 16, 128, 20


class RoundInputToQ8_0(nn.Module):
    """A linear layer whose input is first rounded as ggml rounds it for a Q8_0 product (``quantize_row_q8_0``):
    blocks of 32 values, ``d = max|x| / 127`` stored in float16, ``q = round(x / d)``."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blocks = x.float().unflatten(-1, (-1, 32))
        d = blocks.abs().amax(-1, keepdim=True) / 127
        inverse = torch.where(d > 0, 1 / d, torch.zeros_like(d))
        q = torch.sign(blocks * inverse) * torch.floor((blocks * inverse).abs() + 0.5)  # C's roundf: halves away
        return self.linear((q * d.half().float()).flatten(-2).type_as(x))


def model_from_gguf(path: Path, round_inputs: bool = False) -> Llama:
    """Our model holding the weights of a GGUF file (dequantized to float32); with ``round_inputs``, every
    matrix product's input is rounded to Q8_0 first."""
    config, weights, _ = read_gguf(path)
    model = Llama(config).eval()
    model.load_state_dict(weights)
    if round_inputs:
        for module in list(model.modules()):
            for name, child in list(module.named_children()):
                if isinstance(child, nn.Linear):
                    setattr(module, name, RoundInputToQ8_0(child))
    return model


def main() -> int:
    try:
        import llama_cpp
    except ImportError:
        print("llama.cpp's Python binding is not installed; build it from source with the command in this "
              "script's docstring")
        return 1
    torch.set_num_threads(1)
    shipped = course_model()
    tokenizer = shipped.tokenizer
    corpus = load_corpus()
    stories = [s.text for s in corpus.val] + [s.text_zh for s in corpus.val]
    prompts = [tokenizer.encode(s.text, bos=True)[:PROMPT_TOKENS] for s in corpus.val[:STORIES]]
    print(f"llama-cpp-python {llama_cpp.__version__}, torch {torch.__version__}; course model, greedy, "
          f"{len(prompts)} validation story openings of {PROMPT_TOKENS} tokens, {NEW_TOKENS} new tokens each")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("f32", "q8_0"):
            path = export_gguf(shipped.model, tokenizer, Path(tmp) / f"course-{kind}.gguf", kind)
            theirs = llama_cpp.Llama(str(path), n_ctx=shipped.model.config.max_seq_len, n_threads=1,
                                     n_threads_batch=1, verbose=False)
            same_ids = sum(theirs.tokenize(s.encode(), add_bos=True) == tokenizer.encode(s, bos=True) for s in stories)
            print(f"{kind:5s} {path.stat().st_size / 1e6:5.2f} MB  llama.cpp's tokenizer: our ids on {same_ids}/"
                  f"{len(stories)} validation stories (English and Chinese)")
            failures += same_ids != len(stories)
            ours = {"f32": {"our float model": shipped.model}, "q8_0": {
                "ours, the file's Q8_0 weights": model_from_gguf(path),
                "ours, Q8_0 weights and inputs rounded to Q8_0 as ggml does": model_from_gguf(path, True)}}[kind]
            for name, model in ours.items():
                matched, total, identical = 0, 0, 0
                for prompt in prompts:
                    expected = generate(model, prompt, NEW_TOKENS, temperature=0)
                    got = []
                    for token in theirs.generate(prompt, temp=0.0, reset=True):
                        got.append(token)
                        if len(got) == len(expected):
                            break
                    matched, total = matched + matching_prefix(expected, got), total + len(expected)
                    identical += got == expected
                print(f"      greedy, llama.cpp against {name}: {identical}/{len(prompts)} continuations identical, "
                      f"{matched}/{total} tokens before the first difference")
            failures += identical != len(prompts)  # the last comparison of each type must match exactly
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
