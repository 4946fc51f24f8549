"""Corpus statistics and tokenizer figures: generation time, training time, tokens per character.

    python benchmarks/tokenizer_compression.py

Generates the default corpus (no cache), trains our byte-level BPE (1000 merges on 1 MB of stories:
English and Chinese, half each by bytes) and the course's SentencePiece tokenizer, and measures tokens
per character on the validation stories, English and Chinese separately.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from llama_course.data.bpe import BytePairTokenizer
from llama_course.data.corpus import DEFAULT_STORIES, Corpus, generate_stories
from llama_course.data.tokenizer import Tokenizer


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> None:
    stories, seconds = timed(generate_stories, DEFAULT_STORIES)
    corpus = Corpus(train=stories[:-200], val=stories[-200:])
    stats = corpus.stats()
    print(f"corpus: {stats['stories']} stories generated in {seconds:.2f} s; English {stats['en_words']:,} words, "
          f"{stats['en_distinct_words']:,} distinct, {stats['en_mb']:.2f} MB; Chinese {stats['zh_chars']:,} "
          f"characters, {stats['zh_distinct_chars']:,} distinct, {stats['zh_mb']:.2f} MB")

    english, chinese = corpus.text("train", "en"), corpus.text("train", "zh")
    one_mb = english[:500_000] + "\n\n" + chinese[: 500_000 // 3]
    bpe, seconds = timed(BytePairTokenizer.train, one_mb, vocab_size=256 + 1000)
    print(f"byte-level BPE: 1000 merges on {len(one_mb.encode()) / 1e6:.2f} MB in {seconds:.2f} s")
    with tempfile.TemporaryDirectory() as folder:
        sp, seconds = timed(Tokenizer.train, corpus.text("train", "both"), Path(folder) / "t.model", vocab_size=4096)
    print(f"SentencePiece BPE: 4096 pieces on {stats['en_mb'] + stats['zh_mb']:.1f} MB in {seconds:.2f} s")

    print(f"{'tokens per character':22s} {'English':>8s} {'Chinese':>8s}")
    for name, tokenizer in [("UTF-8 bytes", None), ("our BPE, 1256", bpe), ("SentencePiece, 4096", sp)]:
        row = []
        for text in (corpus.text("val", "en"), corpus.text("val", "zh")):
            n = len(text.encode()) if tokenizer is None else len(tokenizer.encode(text))
            row.append(n / len(text))
        print(f"{name:22s} {row[0]:8.3f} {row[1]:8.3f}")


if __name__ == "__main__":
    main()
