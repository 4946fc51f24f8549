"""Serving speed: greedy decoding with float, int8 and int4 weights, against transformers and llama.cpp.

    python benchmarks/serving_speed.py [--compile] [--tokens 128] [--threads N]

Two sizes: the course model (trained, from assets/; agreement measured on validation story openings) and
llama2.c's 15M shape (dim 288, 6 layers, 6 heads, 32,000 tokens, random weights: its greedy agreement says
little, as random logits are nearly tied). Contenders, each timed in turn in three rounds (median counts, so
other work on the machine falls on all of them alike): transformers' `generate`; the course's `generate`;
`llama_course.serving.Decoder` with float, int8 and int4 weights (and compiled, with --compile; warm-up not
timed); llama.cpp with F32 and Q8_0 files, when its Python binding is installed (see
benchmarks/llama_cpp_roundtrip.py). Columns: tokens/s, ratio to transformers, bytes of weights read per
token and bytes/s against the memory bandwidth measured at the start, greedy agreement with the float model.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import sentencepiece as spm
import torch
import transformers

from llama_course.config import LlamaConfig
from llama_course.data.corpus import load_corpus
from llama_course.data.tokenizer import Tokenizer
from llama_course.generate import generate
from llama_course.hf import to_hf
from llama_course.model import Llama
from llama_course.serving.decode import Decoder, matching_prefix
from llama_course.serving.gguf import export_gguf
from llama_course.serving.quantize import weight_bytes
from llama_course.training.checkpoint import course_model

Run = Callable[[list[int], int], list[int]]


def bandwidth() -> float:
    """Bytes per second reading a 1 GiB array (beyond the caches), best of five."""
    big = torch.ones(2**28)
    big.sum()
    best = min(_seconds(big.sum) for _ in range(5))
    return big.nbytes / best


def _seconds(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def stand_in_tokenizer(vocab_size: int, folder: Path) -> Tokenizer:
    """A SentencePiece vocabulary of ``vocab_size`` made-up words: llama.cpp needs a vocabulary in the file; the
    benchmark feeds it token ids, so the words never matter."""
    words = [f"w{i:05d}" for i in range(vocab_size)]
    path = folder / "stand-in.model"
    spm.SentencePieceTrainer.train(sentence_iterator=iter(words), model_prefix=str(path.with_suffix("")),
                                   model_type="word", vocab_size=vocab_size, minloglevel=2, byte_fallback=False,
                                   unk_id=0, bos_id=1, eos_id=2, pad_id=3, hard_vocab_limit=False)
    return Tokenizer.load(path)


def llama_cpp_runs(model: Llama, tokenizer: Tokenizer, folder: Path, threads: int) -> dict[str, tuple[Run, int]]:
    """llama.cpp on F32 and Q8_0 exports of ``model``: a greedy run and the bytes of the matrices it reads."""
    try:
        import gguf
        import llama_cpp
    except ImportError:
        return {}
    runs = {}
    for kind in ("f32", "q8_0"):
        path = export_gguf(model, tokenizer, folder / f"{kind}-{model.config.dim}.gguf", kind)
        llm = llama_cpp.Llama(str(path), n_ctx=model.config.max_seq_len, n_threads=threads, n_threads_batch=threads,
                              verbose=False)
        nbytes = sum(int(t.n_bytes) for t in gguf.GGUFReader(str(path)).tensors if t.name != "token_embd.weight")

        def run(prompt: list[int], n: int, llm=llm) -> list[int]:
            out = []
            for token in llm.generate(prompt, temp=0.0, reset=True):
                out.append(token)
                if len(out) == n:
                    return out
            return out

        runs[f"llama.cpp {kind.upper()}"] = (run, nbytes + model.config.dim * 4)
    return runs


def contenders(model: Llama, tokenizer: Tokenizer, folder: Path, compile: bool, threads: int):
    hf = to_hf(model).eval()
    hf.generation_config.eos_token_id = None  # always all the tokens asked for

    def hf_run(prompt: list[int], n: int) -> list[int]:
        ids = torch.tensor([prompt])
        out = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, min_new_tokens=n,
                          do_sample=False, pad_token_id=0)
        return out[0, len(prompt):].tolist()

    read = weight_bytes(model) - model.tok_embeddings.weight.nbytes + model.config.dim * 4
    runs = {"transformers generate": (hf_run, read),
            "course generate": (lambda p, n: generate(model, p, n, temperature=0), read)}
    for compiled in (False, True) if compile else (False,):
        for kind in ("float", "int8", "int4"):
            decoder = Decoder(model, kind, compile=compiled)
            nbytes = weight_bytes(decoder) - decoder.embeddings.nbytes + model.config.dim * 4
            runs[f"Decoder {kind}{' compiled' if compiled else ''}"] = (decoder.generate, nbytes)
    runs.update(llama_cpp_runs(model, tokenizer, folder, threads))
    return runs


def table(title: str, model: Llama, tokenizer: Tokenizer, prompts: list[list[int]], n: int, compile: bool,
          threads: int, memory: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = contenders(model, tokenizer, Path(tmp), compile, threads)
        reference = [generate(model, p, n, temperature=0) for p in prompts]
        agree = {}
        for name, (run, _) in runs.items():
            outputs = [run(p, n) for p in prompts]  # also the warm-up (and the compilation)
            agree[name] = sum(map(matching_prefix, reference, outputs)) / (n * len(prompts))
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(3):
            for name, (run, _) in runs.items():
                times[name].append(_seconds(lambda run=run: run(prompts[0], n)))
    rate = {name: n / statistics.median(t) for name, t in times.items()}
    print(f"\n{title}")
    print(f"{'':26s} {'tokens/s':>9s} {'vs HF':>6s} {'MB/token':>9s} {'GB/s':>6s} {'of bandwidth':>13s} "
          f"{'greedy agreement':>17s}")
    for name, (_, nbytes) in runs.items():
        gbs = nbytes * rate[name] / 1e9
        print(f"{name:26s} {rate[name]:9.0f} {rate[name] / rate['transformers generate']:5.2f}x "
              f"{nbytes / 1e6:9.2f} {gbs:6.2f} {gbs * 1e9 / memory:12.0%} {agree[name]:16.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compile", action="store_true", help="also time Decoder(..., compile=True)")
    parser.add_argument("--tokens", type=int, default=128, help="new tokens per run (default: 128)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore")
    memory = bandwidth()
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {args.threads} threads, CPU; "
          f"memory bandwidth (reading 1 GiB) {memory / 1e9:.1f} GB/s; greedy, {args.tokens} new tokens, batch 1")
    shipped = course_model()
    corpus = load_corpus()
    openings = [shipped.tokenizer.encode(s.text, bos=True)[:16] for s in corpus.val[:10]]
    table("course model (dim 128, 4 layers, 4,096 tokens; trained): agreement on 10 validation story openings",
          shipped.model, shipped.tokenizer, openings, args.tokens, args.compile, args.threads, memory)
    torch.manual_seed(0)
    config = LlamaConfig.preset("tiny").replace(dim=288, n_layers=6, n_heads=6, n_kv_heads=6, vocab_size=32000)
    model = Llama(config).eval()
    prompt = torch.randint(3, 32000, (16,), generator=torch.Generator().manual_seed(1)).tolist()
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = stand_in_tokenizer(config.vocab_size, Path(tmp))
        table("llama2.c 15M shape (dim 288, 6 layers, 32,000 tokens; random weights): agreement on one prompt",
              model, tokenizer, [prompt], args.tokens, args.compile, args.threads, memory)


if __name__ == "__main__":
    main()
