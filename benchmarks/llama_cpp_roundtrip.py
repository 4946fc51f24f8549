"""The course model in llama.cpp itself: export to GGUF, load it with llama.cpp, compare token for token.

    python benchmarks/llama_cpp_roundtrip.py

Needs llama.cpp's Python binding, built from source (PyPI ships the source of llama-cpp-python, with llama.cpp
inside; it compiles with cmake and a C++ compiler, most of an hour on two busy cores, and is not part of the
course's install):

    CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON" \
        pip install llama-cpp-python --no-binary llama-cpp-python

(GGML_NATIVE=OFF: see the README, the native build crashed on Q8_0 files on a CPU with AMX; the two AVX512
flags are for x86 CPUs that have it, drop them elsewhere.)

For each GGUF type (F32, and Q8_0: int8 in blocks of 32 with a float16 scale) it checks:
- llama.cpp's tokenizer, reading the vocabulary from the file, gives our ids on every validation story;
- llama.cpp's greedy continuation (its own sampler at temperature 0) of the opening of validation stories
  against ours: for F32 against our float model, which it must equal token for token (the exit status says
  whether it did); for Q8_0 against our model holding the same Q8_0 weights read back from the file. That one
  is reported, not required: ggml's Q8_0 product also rounds its *input* to 8-bit blocks, so its logits
  differ from ours by some hundredths, and near-ties tip.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch

from llama_course.data.corpus import load_corpus
from llama_course.generate import generate
from llama_course.model import Llama
from llama_course.serving.decode import matching_prefix
from llama_course.serving.gguf import export_gguf, read_gguf
from llama_course.training.checkpoint import course_model

PROMPT_TOKENS, NEW_TOKENS, STORIES = 16, 128, 20


def model_from_gguf(path: Path) -> Llama:
    """Our model holding the weights of a GGUF file (dequantized to float32)."""
    config, weights, _ = read_gguf(path)
    model = Llama(config).eval()
    model.load_state_dict(weights)
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
            ours = {"f32": ("our float model", shipped.model),
                    "q8_0": ("our model with the file's Q8_0 weights", model_from_gguf(path))}
            name, model = ours[kind]
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
            failures += kind == "f32" and identical != len(prompts)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
