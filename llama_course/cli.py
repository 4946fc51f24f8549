"""The ``llama-course`` command: open the course, check the environment, do LLaMA arithmetic."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import math
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .config import PRESETS, LlamaConfig
from .data.corpus import DEFAULT_STORIES
from .data.tokenizer import COURSE_TOKENIZER
from .model import count_params, flops_per_token
from .runtime import pick_device
from .training.instruct import INSTRUCT_TASKS


def whole(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``minimum`` (a bad value is reported by argparse, naming the option)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return value
    return parse


def finite(text: str) -> float:
    """An argparse type: a finite number (not nan or inf)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value




def instruct_tasks(text: str) -> list[str]:
    """An argparse type: a comma-separated list of instruction kinds."""
    tasks = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in INSTRUCT_TASKS]
    if unknown or not tasks:
        raise argparse.ArgumentTypeError(f"expected some of {','.join(INSTRUCT_TASKS)}, got {text!r}")
    return tasks


def cmd_lab(args: argparse.Namespace) -> int:
    """Open JupyterLab on the learner's workspace (copies of the course notebooks), or on ``--dir`` as it is."""
    from .classroom.launch import course_notebooks, default_workspace, lab_launch, prepare_workspace

    if importlib.util.find_spec("jupyterlab") is None:
        raise SystemExit('JupyterLab is not installed: pip install "llama-course[course]" (or -e ".[course]" '
                         "in the checkout)")
    if args.dir:
        folder = Path(args.dir)
        if not any(folder.glob("*.ipynb")):
            raise SystemExit(f"no notebooks in {folder}")
    else:
        folder = Path(args.workspace) if args.workspace else default_workspace()
        copied = prepare_workspace(folder, course_notebooks())
        kept = len(list(folder.glob("*.ipynb"))) - len(copied)
        parts = [f"{kept} of yours, kept as they are"] if kept else []
        parts += [f"{len(copied)} copied from the course"] if copied else []
        print(f"your notebooks: {folder} ({'; '.join(parts)}); the course's own copies stay untouched", flush=True)
    launch = lab_launch(folder, args.jupyter_args)
    for notice in launch.notices:
        print(notice, flush=True)
    if launch.url:
        print(f"no web browser here: when JupyterLab has started, open this address in a browser:\n  {launch.url}",
              flush=True)
    if os.name == "posix":  # llama-course becomes JupyterLab: Ctrl-C or a kill reaches it, nothing is left behind
        os.chdir(folder)
        os.execve(launch.command[0], launch.command, launch.env)
    return subprocess.call(launch.command, cwd=folder, env=launch.env)


def cmd_info(args: argparse.Namespace) -> int:
    """Print the environment line, and whether what the course needs is installed."""
    from .classroom.course import setup

    setup(quiet=False)
    needed = ("jupyterlab", "ipywidgets", "matplotlib", "sentencepiece", "safetensors", "transformers")
    missing = [module for module in needed if importlib.util.find_spec(module) is None]
    for module in needed:
        print(f"  {module:14s} {'missing' if module in missing else 'installed'}")
    if missing:
        print('the course needs the missing parts: pip install -e ".[course]" in the checkout')
        return 1
    print("everything the course needs is installed")
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

    from .data.corpus import load_corpus
    from .data.tokenizer import Tokenizer

    corpus = load_corpus(n_stories=args.stories, seed=args.seed)
    start = time.perf_counter()
    tokenizer = Tokenizer.train(corpus.text("train", "both"), args.out, vocab_size=args.vocab_size)
    seconds = time.perf_counter() - start
    print(f"trained {tokenizer!r} on {len(corpus.train)} stories in {seconds:.1f} s -> {args.out}")
    for language in ("en", "zh"):
        text = corpus.text("val", language)
        print(f"  {language}: {len(tokenizer.encode(text)) / len(text):.3f} tokens per character (validation stories)")
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    """Pretrain a model on the embedded stories or your own text; write a checkpoint folder."""
    from .training.pretrain import PretrainRun, pretrain

    history = pretrain(_run_options(PretrainRun, args, command="llama-course pretrain"))
    return 130 if history.interrupted else 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Print a continuation of the prompt from a checkpoint, token by token as it is generated."""
    from .generate import Sampling, stream
    from .training.checkpoint import course_model, load_checkpoint

    device = pick_device(args.device)
    saved = load_checkpoint(args.checkpoint, device) if args.checkpoint else course_model(device)
    if saved.tokenizer is None:
        raise SystemExit(f"{saved.path} has no tokenizer saved with it, so its ids cannot be turned into text")
    settings = {"temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p, "min_p": args.min_p,
                "repetition_penalty": args.repetition_penalty}
    Sampling(**settings)  # a bad setting is reported before anything is printed
    print(args.prompt, end="", flush=True)
    for piece in stream(saved.model, saved.tokenizer, args.prompt, args.max_new_tokens, stop=args.stop,
                        seed=args.seed, compile=args.compile, **settings):
        print(piece, end="", flush=True)
    print()
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    """Fine-tune the course model (or a checkpoint) to classify stories, to follow instructions, or with DPO."""
    from .training.finetune import FinetuneRun, finetune

    finetune(_run_options(FinetuneRun, args, command="llama-course finetune"))
    return 0


def _run_options(run_type, args: argparse.Namespace, command: str):
    """The run's dataclass filled from the parsed options of the same names, and the command line itself."""
    names = {f.name for f in dataclasses.fields(run_type)} - {"command"}
    return run_type(**{name: getattr(args, name) for name in names}, command=" ".join([command, *args.argv]))


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score a checkpoint (the course model by default) on the built-in benchmark and print the table."""
    from .evaluation.benchmark import evaluate_checkpoint

    result = evaluate_checkpoint(args.checkpoint, args.items, pick_device(args.device))
    print(f"{args.checkpoint or 'the course model'} on the held-out stories (95% Wilson intervals):")
    print(result.table())
    return 0



def cmd_student_copies(args: argparse.Namespace) -> int:
    """Write the notebooks with their exercise solutions taken out, for handing to students."""
    from .classroom.launch import course_notebooks
    from .classroom.student_copies import write_student_copies

    written = write_student_copies(Path(args.dir) if args.dir else course_notebooks(), args.out, force=args.force)
    print(f"wrote {len(written)} student notebooks to {args.out} (solutions replaced by raise NotImplementedError)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the course model (or a checkpoint) and its tokenizer to a GGUF file for llama.cpp and Ollama."""
    from .serving.gguf import check_gguf_out, export_gguf
    from .training.checkpoint import course_model, load_checkpoint

    check_gguf_out(args.gguf)  # a bad target is refused before the model is read
    saved = load_checkpoint(args.checkpoint) if args.checkpoint else course_model()
    path = export_gguf(saved.model, saved.tokenizer, args.gguf, args.type)
    print(f"wrote {path} ({args.type}, {path.stat().st_size / 1e6:.1f} MB); run it with llama.cpp or "
          f"`ollama create` (see notebook 08)")
    return 0


LAB_HELP = """Open the course in JupyterLab. The first time, the course notebooks are copied into your
workspace (~/llama-course-workspace); you work on those copies, and later runs copy only notebooks
you do not have yet, so your work is never replaced."""
JUPYTER_HELP = """options for JupyterLab: `llama-course` and `llama-course lab` pass any option they do not know to
`jupyter lab`, for example:
  --no-browser        do not open a browser; the address to open is printed
  --port 8890         another port;  --ip 0.0.0.0  listen on every network interface
  --allow-root        added for you when running as root (Docker, WSL, cloud machines)"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llama-course",
                                     description="Open the course, check the environment, train, generate, fine-tune.",
                                     epilog=JUPYTER_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     usage="llama-course [COMMAND] [options]   (no command: open the course)")
    sub = parser.add_subparsers(dest="command")
    lab = sub.add_parser("lab", help="open the course in JupyterLab (the default command)", description=LAB_HELP,
                         epilog=JUPYTER_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    lab.add_argument("--workspace", help="your notebooks folder (default: $LLAMA_COURSE_WORKSPACE or "
                     "~/llama-course-workspace); missing course notebooks are copied into it, yours are kept")
    lab.add_argument("--dir", help="open this folder of notebooks as it is, with no copying (e.g. student copies)")
    lab.set_defaults(func=cmd_lab)
    info = sub.add_parser("info", help="check the environment")
    info.set_defaults(func=cmd_info)
    params = sub.add_parser("params", help="parameter, memory and FLOP counts of LLaMA shapes")
    params.add_argument("presets", nargs="*", metavar="PRESET", help=f"any of {', '.join(PRESETS)} (default: all)")
    params.set_defaults(func=cmd_params)
    tok = sub.add_parser("tokenizer", help="train the course tokenizer on the embedded corpus")
    tok.add_argument("--out", default=str(COURSE_TOKENIZER),
                     help="where to write the .model file (default: where the course reads its tokenizer)")
    tok.add_argument("--vocab-size", type=whole(8), default=4096)
    tok.add_argument("--stories", type=whole(1), default=DEFAULT_STORIES, help="how many stories to generate")
    tok.add_argument("--seed", type=whole(0), default=0)
    tok.set_defaults(func=cmd_tokenizer)
    pre = sub.add_parser("pretrain", help="pretrain a model on the embedded stories or your own text",
                         description="Pretrain a LLaMA. Several processes: torchrun --nproc-per-node N -m llama_course "
                         "pretrain ...")
    pre.add_argument("--out", default="runs/pretrain", help="checkpoint folder (default: runs/pretrain)")
    pre.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    pre.add_argument("--weights-only", action="store_true",
                     help="at the end drop the optimizer state (twice the model's size) from the checkpoint")
    data = pre.add_argument_group("data")
    data.add_argument("--text", help="your own text: a file, a folder of .txt/.md files, or a URL (default: the "
                      "embedded stories)")
    data.add_argument("--language", choices=("en", "zh", "both"), default="en", help="stories in (default: en)")
    data.add_argument("--stories", type=whole(1), default=DEFAULT_STORIES, help="how many stories to generate")
    data.add_argument("--tokenizer", choices=("course", "sentencepiece", "char"),
                      help="for --text: train SentencePiece on it (default), characters, or the course tokenizer")
    data.add_argument("--vocab-size", type=whole(8), default=2048, help="SentencePiece vocabulary for --text")
    data.add_argument("--download-timeout", type=finite, default=300.0,
                      help="for a URL: seconds the whole download may take (default: 300)")
    data.add_argument("--max-download-mb", type=whole(1), default=200,
                      help="for a URL: the largest text to download, in MiB (default: 200)")
    model = pre.add_argument_group("model (the preset, with any of these changed)")
    model.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    model.add_argument("--dim", type=whole(1))
    model.add_argument("--layers", type=whole(1))
    model.add_argument("--heads", type=whole(1))
    model.add_argument("--kv-heads", type=whole(1))
    run = pre.add_argument_group("training")
    run.add_argument("--steps", type=whole(1), default=1000)
    run.add_argument("--batch-size", type=whole(1), default=16)
    run.add_argument("--grad-accum", type=whole(1), default=1)
    run.add_argument("--context", type=whole(2), default=128, help="tokens per training window")
    run.add_argument("--lr", type=finite, default=3e-3, help="peak learning rate")
    run.add_argument("--warmup", type=whole(0), help="warmup steps (default: 10%% of the steps, at most 100)")
    run.add_argument("--eval-every", type=whole(0), default=100,
                     help="steps between validation and checkpoints (0: only at the end)")
    run.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto")
    run.add_argument("--compile", action="store_true", help="torch.compile + fused AdamW (faster after a warm-up)")
    run.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    run.add_argument("--seed", type=whole(0), default=0)
    pre.set_defaults(func=cmd_pretrain)
    gen = sub.add_parser("generate", help="continue a prompt with the course model or any checkpoint")
    gen.add_argument("prompt", nargs="?", default="Once upon a time", help='the text to continue '
                     '(default: "Once upon a time")')
    gen.add_argument("--checkpoint", help="a checkpoint folder (default: the course model in assets/)")
    gen.add_argument("--max-new-tokens", type=whole(0), default=200)
    gen.add_argument("--temperature", type=finite, default=0.8, help="0 = greedy (default: 0.8)")
    gen.add_argument("--top-k", type=whole(1))
    gen.add_argument("--top-p", type=finite)
    gen.add_argument("--min-p", type=finite)
    gen.add_argument("--repetition-penalty", type=finite, default=1.0)
    gen.add_argument("--stop", action="append", default=[], help="stop at this text (repeatable)")
    gen.add_argument("--seed", type=whole(0), help="for a repeatable sample")
    gen.add_argument("--compile", action="store_true", help="torch.compile the decoding step (pays off for long texts)")
    gen.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    gen.set_defaults(func=cmd_generate)
    ft = sub.add_parser("finetune", help="fine-tune the course model: classify stories, follow instructions, DPO",
                        description="Fine-tune the course model (or --checkpoint) on the embedded stories: 'classify' "
                        "trains a head on a story label; 'instruct' teaches answering questions and translating; "
                        "'dpo' instruction-tunes briefly, then tunes on preference pairs (right answer over wrong, "
                        "short over rambling) with DPO. Prints the held-out scores before and after.")
    ft.add_argument("task", choices=("classify", "instruct", "dpo"))
    ft.add_argument("--checkpoint", help="the model to start from (default: the course model in assets/)")
    ft.add_argument("--out", default="runs/finetune", help="where to save (default: runs/finetune)")
    ft.add_argument("--stories", type=whole(1), default=DEFAULT_STORIES,
                    help="how many stories to generate (5%% held out)")
    ft.add_argument("--label", choices=("happy_ending", "shape"), default="happy_ending", help="classify: the label")
    ft.add_argument("--language", choices=("en", "zh"), default="en", help="classify: the stories' language")
    ft.add_argument("--tasks", type=instruct_tasks, default=list(INSTRUCT_TASKS),
                    help=f"instruct: comma-separated kinds of example (default: {','.join(INSTRUCT_TASKS)})")
    ft.add_argument("--eval", type=whole(1), default=150,
                    help="instruct, dpo: held-out examples (preference pairs) to score (default: 150)")
    ft.add_argument("--beta", type=finite, default=0.1, help="dpo: the pull towards the reference (default: 0.1)")
    ft.add_argument("--sft-steps", type=whole(0), default=60,
                    help="dpo: instruction-tuning steps before DPO; 0 when --checkpoint is instruction-tuned "
                    "(default: 60)")
    ft.add_argument("--lora", action="store_true", help="train LoRA adapters instead of every weight")
    ft.add_argument("--rank", type=whole(1), default=8, help="LoRA rank (default: 8)")
    ft.add_argument("--alpha", type=finite, default=16.0, help="LoRA alpha (default: 16)")
    ft.add_argument("--targets", default="wq,wk,wv,wo,w1,w2,w3", help="LoRA: layers to adapt (default: all "
                    "attention and feed-forward projections)")
    ft.add_argument("--steps", type=whole(1), default=300)
    ft.add_argument("--batch-size", type=whole(1), default=16)
    ft.add_argument("--lr", type=finite, help="peak learning rate (default: 1e-3, dpo 1e-4; LoRA likes ~3e-3)")
    ft.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    ft.add_argument("--seed", type=whole(0), default=0)
    ft.set_defaults(func=cmd_finetune)
    ev = sub.add_parser("evaluate", help="score a checkpoint on the built-in benchmark and print a table",
                        description="Multiple-choice questions (reading comprehension, story endings) from the "
                        "held-out stories, scored by log-likelihood (summed and length-normalised), generated "
                        "answers scored by exact match, and the stories' perplexity.")
    ev.add_argument("--checkpoint", help="a checkpoint folder (default: the course model in assets/)")
    ev.add_argument("--items", type=whole(1), default=100, help="questions per task (default: 100)")
    ev.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    ev.set_defaults(func=cmd_evaluate)
    exp = sub.add_parser("export", help="write the course model (or a checkpoint) as GGUF for llama.cpp and Ollama")
    exp.add_argument("--gguf", required=True, metavar="OUT", help="the .gguf file to write (replaced atomically)")
    exp.add_argument("--checkpoint", help="a checkpoint folder (default: the course model in assets/)")
    exp.add_argument("--type", choices=("f32", "f16", "q8_0"), default="f32",
                     help="type of the matrices (default: f32)")
    exp.set_defaults(func=cmd_export)
    kit = sub.add_parser("student-copies", help="copies of the notebooks with the exercise solutions removed")
    kit.add_argument("out", help="the folder to write them to")
    kit.add_argument("--dir", help="the notebooks folder (default: ./notebooks)")
    kit.add_argument("--force", action="store_true", help="replace notebooks already in the folder")
    kit.set_defaults(func=cmd_student_copies)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["lab", *argv]  # `llama-course --no-browser` opens the course too
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.jupyter_args, args.argv = extra, argv[1:]
    # The library's own errors, said plainly in one line: CourseError (a ValueError) for bad input or a broken
    # file, SaveError (an OSError) for a save that could not be written, and the checks' ValueError/TypeError.
    try:
        return args.func(args)
    except (OSError, ValueError, TypeError) as e:
        raise SystemExit(f"llama-course {args.command}: {e}") from None


if __name__ == "__main__":
    sys.exit(main())
