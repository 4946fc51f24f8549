"""The ``llama-course`` command: open the course, check the environment, do LLaMA arithmetic."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import PRESETS, LlamaConfig
from .corpus import DEFAULT_STORIES
from .model import count_params, flops_per_token


def find_notebooks(folder: str | None = None) -> Path:
    """The course's notebooks folder: ``folder`` if given, else ``./notebooks``, else the one in the checkout."""
    checkout = Path(__file__).resolve().parents[1] / "notebooks"
    candidates = [Path(folder)] if folder else [Path.cwd() / "notebooks", checkout]
    for path in candidates:
        if path.is_dir() and any(path.glob("*.ipynb")):
            return path
    raise SystemExit(
        f"no course notebooks found (looked in {', '.join(str(p) for p in candidates)}); "
        "run this from the llama-course checkout or pass --dir"
    )


def cmd_lab(args: argparse.Namespace) -> int:
    """Open JupyterLab on the course's notebooks."""
    if importlib.util.find_spec("jupyterlab") is None:
        raise SystemExit("JupyterLab is not installed: pip install -e '.[course]'")
    notebooks = find_notebooks(args.dir)
    welcome = "00_welcome.ipynb" if (notebooks / "00_welcome.ipynb").exists() else ""
    command = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={notebooks}", *args.jupyter_args]
    if welcome:
        command.insert(4, welcome)
    return subprocess.call(command, cwd=notebooks)


def cmd_info(args: argparse.Namespace) -> int:
    """Print the environment line, and which optional parts are installed."""
    from .course import setup

    setup(quiet=False)
    for module in ("jupyterlab", "ipywidgets", "sentencepiece", "transformers", "nbval"):
        print(f"  {module:14s} {'installed' if importlib.util.find_spec(module) else 'missing'}")
    return 0


BYTE_UNITS = ("TB", "GB", "MB", "KB")


def _human(n: float, units: tuple[str, ...] = ("T", "B", "M", "K")) -> str:
    """1_787_008 -> '1.79M', 6_738_415_616 -> '6.74B' (or 'GB' with byte units)."""
    for unit, size in zip(units, (1e12, 1e9, 1e6, 1e3), strict=True):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(int(n))


def cmd_params(args: argparse.Namespace) -> int:
    """Parameters (all, and without the token-embedding table), bf16 weight memory and training FLOPs
    per token at the full context, for the presets."""
    names = args.presets or list(PRESETS)
    unknown = [name for name in names if name not in PRESETS]
    if unknown:
        raise SystemExit(f"unknown preset(s) {', '.join(unknown)}; choose from {', '.join(PRESETS)}")
    print(f"{'preset':12s} {'params':>8s} {'non-embed':>9s} {'bf16 weights':>13s} {'train FLOP/token':>17s}  context")
    for name in names:
        config = LlamaConfig.preset(name)
        n = count_params(config)
        print(
            f"{name:12s} {_human(n):>8s} {_human(count_params(config, embeddings=False)):>9s} "
            f"{_human(2 * n, BYTE_UNITS):>13s} {_human(flops_per_token(config)):>17s}  {config.max_seq_len}"
        )
    return 0


def cmd_tokenizer(args: argparse.Namespace) -> int:
    """Train the course's SentencePiece tokenizer on the embedded corpus (English and Chinese)."""
    import time

    from .corpus import load_corpus
    from .tokenizer import Tokenizer

    corpus = load_corpus(n_stories=args.stories, seed=args.seed)
    start = time.perf_counter()
    tokenizer = Tokenizer.train(corpus.text("train", "both"), args.out, vocab_size=args.vocab_size)
    seconds = time.perf_counter() - start
    print(f"trained {tokenizer!r} on {len(corpus.train)} stories in {seconds:.1f} s -> {args.out}")
    for language in ("en", "zh"):
        text = corpus.text("val", language)
        print(f"  {language}: {len(tokenizer.encode(text)) / len(text):.3f} tokens per character (validation stories)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llama-course", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    lab = sub.add_parser(
        "lab", help="open the course in JupyterLab (the default); other options go to jupyter lab, e.g. --no-browser"
    )
    lab.add_argument("--dir", help="the notebooks folder (default: ./notebooks)")
    lab.set_defaults(func=cmd_lab)
    info = sub.add_parser("info", help="check the environment")
    info.set_defaults(func=cmd_info)
    params = sub.add_parser("params", help="parameter, memory and FLOP counts of LLaMA shapes")
    params.add_argument("presets", nargs="*", metavar="PRESET", help=f"any of {', '.join(PRESETS)} (default: all)")
    params.set_defaults(func=cmd_params)
    tok = sub.add_parser("tokenizer", help="train the course tokenizer on the embedded corpus")
    tok.add_argument("--out", default="assets/tokenizer.model", help="where to write the .model file")
    tok.add_argument("--vocab-size", type=int, default=4096)
    tok.add_argument("--stories", type=int, default=DEFAULT_STORIES, help="how many stories to generate")
    tok.add_argument("--seed", type=int, default=0)
    tok.set_defaults(func=cmd_tokenizer)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["lab", *argv]  # `llama-course --no-browser` opens the course too
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.jupyter_args = extra
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
