"""The ``llama-course`` command: open the course, check the environment, do LLaMA arithmetic."""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import random
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from .config import PRESETS, LlamaConfig
from .corpus import DEFAULT_STORIES
from .files import CourseError
from .model import count_params, flops_per_token
from .tokenizer import COURSE_TOKENIZER


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


INSTRUCT_TASKS = ("qa_en", "qa_zh", "translate")  # the kinds of example finetune.story_examples makes


def instruct_tasks(text: str) -> list[str]:
    """An argparse type: a comma-separated list of instruction kinds."""
    tasks = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in INSTRUCT_TASKS]
    if unknown or not tasks:
        raise argparse.ArgumentTypeError(f"expected some of {','.join(INSTRUCT_TASKS)}, got {text!r}")
    return tasks


def pick_device(name: str | None) -> torch.device:
    """The ``--device`` asked for, checked to exist here; the best available one when none is asked for."""
    from .course import checked_device, default_device

    return default_device() if name is None else checked_device(name, f"--device {name}")


def cmd_lab(args: argparse.Namespace) -> int:
    """Open JupyterLab on the learner's workspace (copies of the course notebooks), or on ``--dir`` as it is."""
    from .launch import course_notebooks, default_workspace, lab_launch, prepare_workspace

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
    from .course import setup

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


def _init_distributed(requested: str | None = None) -> tuple[int, torch.device | None]:
    """Under ``torchrun`` (WORLD_SIZE > 1) join the process group: NCCL with one GPU per process when CUDA is
    there and ``--device`` does not say otherwise, gloo on the CPU."""
    import os

    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, None
    use_cuda = torch.cuda.is_available() and (requested is None or requested.startswith("cuda"))
    if requested is not None and not use_cuda and requested != "cpu":
        raise SystemExit(f"under torchrun, --device must be cpu or cuda, got {requested!r}")
    device = torch.device("cpu")
    if use_cuda:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if local_rank >= torch.cuda.device_count():
            raise SystemExit(f"process {local_rank} has no GPU of its own ({torch.cuda.device_count()} visible): "
                             "start at most one process per GPU, or pass --device cpu")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if use_cuda else "gloo")
    return dist.get_rank(), device


def _resumed_tokenizer(args: argparse.Namespace, say):
    """With ``--resume`` and a checkpoint in ``--out``: the tokenizer saved in it, which the weights were trained
    with (a new one would give the old weights new token meanings). None when there is nothing to resume."""
    from .checkpoint import has_checkpoint, load_checkpoint

    if not args.resume:
        return None
    if not has_checkpoint(args.out):
        say(f"--resume: no checkpoint in {args.out} yet, so this is a fresh run")
        return None
    tokenizer = load_checkpoint(args.out).tokenizer
    if tokenizer is None:
        raise CourseError(f"--resume: {args.out} has no tokenizer saved with it, so its token ids mean nothing "
                          "known; start a fresh run in another --out")
    say(f"--resume: using the tokenizer saved in {args.out} ({len(tokenizer)} ids)")
    return tokenizer


def _pretrain_data(args: argparse.Namespace, say):
    """The tokenizer and the training/validation datasets the options ask for, and a line describing them."""
    from .data import story_datasets, text_datasets
    from .tokenizer import CharTokenizer, Tokenizer, course_tokenizer

    resumed = _resumed_tokenizer(args, say)
    if args.text is None:
        from .corpus import load_corpus

        if args.tokenizer not in ("course", None):
            raise SystemExit("the embedded corpus uses the course tokenizer; --tokenizer is for --text")
        corpus = load_corpus(n_stories=args.stories, seed=args.seed)
        tokenizer = resumed or course_tokenizer()
        train_data, val_data = story_datasets(corpus, tokenizer, args.context, args.language)
        source = f"the course corpus ({len(corpus.train)} + {len(corpus.val)} stories, language {args.language})"
        languages = ("en", "zh") if args.language == "both" else ()
        by_language = {lang: story_datasets(corpus, tokenizer, args.context, lang)[1] for lang in languages}
        return tokenizer, train_data, {"all": val_data, **by_language}, source
    from .sources import load_text

    text = load_text(args.text, timeout_s=args.download_timeout, max_bytes=args.max_download_mb * 2**20)
    kind = "saved" if resumed else args.tokenizer or "sentencepiece"
    if resumed:
        tokenizer = resumed
    elif kind == "char":
        tokenizer = CharTokenizer.from_text(text)
    elif kind == "course":
        tokenizer = course_tokenizer()
    else:
        import tempfile

        try:  # the checkpoint keeps a copy of the tokenizer
            with tempfile.TemporaryDirectory() as tmp:
                tokenizer = Tokenizer.train(text, Path(tmp) / "tokenizer.model", vocab_size=args.vocab_size)
        except ValueError as e:
            raise SystemExit(f"{e}\n(choose another --vocab-size, or use --tokenizer char)") from None
    say(f"tokenizer: {kind}, {len(tokenizer)} ids")
    try:
        train_data, val_data = text_datasets(text, tokenizer, args.context)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    return tokenizer, train_data, {"all": val_data}, f"{args.text} ({len(text):,} characters)"


def _finish_pretraining(args: argparse.Namespace, model, tokenizer, val_sets: dict, history, dtype) -> None:
    """Validation loss on every validation token (and per language), written into the checkpoint; a sample."""
    import math

    from .checkpoint import load_checkpoint, save_checkpoint, update_state
    from .generate import complete
    from .train import evaluate

    losses = {name: evaluate(model, data, args.batch_size, dtype=dtype) for name, data in val_sets.items()}
    update_state(args.out, metrics={name: {"val_loss": loss, "val_perplexity": math.exp(loss),
                                           "val_tokens": len(val_sets[name])} for name, loss in losses.items()})
    print(f"after {history.step[-1]} steps, {history.tokens:,} tokens, {history.seconds:.0f} s:")
    for name, loss in losses.items():
        which = "" if name == "all" else f", {name} stories only"
        print(f"  validation loss {loss:.3f} nats/token, perplexity {math.exp(loss):.2f} "
              f"({len(val_sets[name]):,} validation tokens{which})")
    if args.weights_only:
        saved = load_checkpoint(args.out)
        state = {k: v for k, v in saved.state.items() if k not in ("optimizer", "scaler", "tokenizer")}
        save_checkpoint(args.out, saved.model, saved.tokenizer, state=state)
    print(f"checkpoint: {args.out}" + (" (weights only: it cannot be resumed)" if args.weights_only else ""))
    prompt = "Once upon a time" if args.text is None and args.language != "zh" else ""
    print("sample: " + complete(model, tokenizer, prompt, 60, temperature=0.8, seed=args.seed))


def cmd_pretrain(args: argparse.Namespace) -> int:
    """Pretrain a model on the embedded stories or your own text; write a checkpoint folder."""
    import torch.distributed as dist

    from .checkpoint import check_checkpoint_out
    from .course import seed_everything
    from .model import Llama
    from .train import TrainConfig, autocast_dtype, train

    check_checkpoint_out(args.out)  # before any work: a folder that cannot take the checkpoint is refused now
    rank, ddp_device = _init_distributed(args.device)
    say = print if rank == 0 else (lambda *a, **k: None)
    tokenizer, train_data, val_sets, source = _pretrain_data(args, say)
    val_data = val_sets["all"]
    base = LlamaConfig.preset(args.preset)
    changes = {"dim": args.dim, "n_layers": args.layers, "n_heads": args.heads, "n_kv_heads": args.kv_heads}
    changes = {k: v for k, v in changes.items() if v is not None}
    if "n_heads" in changes and "n_kv_heads" not in changes:
        changes["n_kv_heads"] = changes["n_heads"]
    config = base.replace(**changes, vocab_size=len(tokenizer), max_seq_len=max(base.max_seq_len, args.context))
    train_config = TrainConfig(
        steps=args.steps, batch_size=args.batch_size, grad_accum=args.grad_accum, lr=args.lr,
        warmup_steps=min(100, args.steps // 10) if args.warmup is None else args.warmup,
        eval_every=args.eval_every, precision=args.precision,
        compile=args.compile, seed=args.seed,
    )
    device = ddp_device or pick_device(args.device)
    seed_everything(args.seed)
    model = Llama(config).to(device)
    say(f"data: {source}: {len(train_data):,} training tokens, {len(val_data):,} validation tokens")
    say(f"model: {model.num_params():,} parameters (dim {config.dim}, {config.n_layers} layers, "
        f"{config.n_heads} heads, {config.n_kv_heads} kv heads), on {device}")
    about = {"data": source, "command": "llama-course pretrain " + " ".join(args.argv)}
    history = train(model, train_data, val_data, train_config, checkpoint=args.out, tokenizer=tokenizer,
                    resume=args.resume, about=about)
    if rank == 0 and not history.interrupted:
        _finish_pretraining(args, model, tokenizer, val_sets, history, autocast_dtype(device, args.precision))
    if dist.is_initialized():
        dist.destroy_process_group()
    return 130 if history.interrupted else 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Print a continuation of the prompt from a checkpoint, token by token as it is generated."""
    from .checkpoint import course_model, load_checkpoint
    from .generate import Sampling, stream

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
    """Fine-tune the course model (or a checkpoint) to classify stories or to follow instructions."""
    from . import finetune as ft
    from .checkpoint import course_model, load_checkpoint
    from .corpus import load_corpus
    from .course import seed_everything
    from .lora import apply_lora
    from .train import TrainConfig

    out = ft.check_finetune_out(args.out, args.lora)  # before any work, not at the save
    device = pick_device(args.device)
    seed_everything(args.seed)
    base = course_model(device) if args.checkpoint is None else load_checkpoint(args.checkpoint, device)
    model, tokenizer = base.model, base.tokenizer
    corpus = load_corpus(n_stories=args.stories, seed=0)
    text = "text" if args.language == "en" else "text_zh"
    if args.task == "classify":
        model = ft.LlamaClassifier(model, ft.LABELS[args.label], tokenizer.pad_id).to(device)
        context = model.backbone.config.max_seq_len
        train_x = ft.encode_texts(tokenizer, [getattr(s, text) for s in corpus.train], context)
        val_x = ft.encode_texts(tokenizer, [getattr(s, text) for s in corpus.val], context)
        train_y = model.label_ids(ft.story_labels(corpus.train, args.label))
        val_y = model.label_ids(ft.story_labels(corpus.val, args.label))

        def score() -> dict:
            scores = ft.evaluate_classifier(model, val_x, val_y)
            return {"accuracy": scores.accuracy, "balanced_accuracy": scores.balanced_accuracy,
                    "confusion": scores.confusion.tolist()}
    else:
        context = model.config.max_seq_len
        train_set = [e for e in ft.story_examples(corpus.train, tokenizer, context, seed=args.seed)
                     if e.kind in args.tasks]
        val_set = [e for e in ft.unseen(ft.story_examples(corpus.val, tokenizer, context), train_set)
                   if e.kind in args.tasks]
        val_set = random.Random(0).sample(val_set, min(args.eval, len(val_set)))

        def score() -> dict:
            return ft.exact_match(model, tokenizer, val_set)
    before = score()
    print(f"before: {_scores_line(before)}")
    backbone = model.backbone if args.task == "classify" else model
    if args.lora:
        apply_lora(backbone, tuple(args.targets.split(",")), args.rank, args.alpha)
        if args.task == "classify":
            model.score.requires_grad_(True)
    config = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                         warmup_steps=min(20, args.steps // 10), weight_decay=0.0, seed=args.seed)
    if args.task == "classify":
        report = ft.train_classifier(model, train_x, train_y, config)
    else:
        report = ft.train_instructions(model, tokenizer, train_set, config)
    after = score()
    print(f"after {len(report.loss)} steps, {report.seconds:.0f} s, {report.trainable:,} of {report.total:,} "
          f"parameters trained: {_scores_line(after)}")
    info = {"task": args.task, "base": str(args.checkpoint or "course-model"), "before": before, "after": after,
            "fit": report.as_dict(), "command": "llama-course finetune " + " ".join(args.argv)}
    if args.task == "classify":
        info.update(label=args.label, language=args.language)
    else:
        info.update(tasks=args.tasks)
    ft.save_finetuned(out, model, tokenizer, info)
    print(f"saved to {out}" + (" (the adapters only; the base model is not copied)" if args.lora else ""))
    return 0


def _scores_line(scores: dict) -> str:
    return ", ".join(f"{k} {v:.1%}" for k, v in scores.items() if isinstance(v, float))


def cmd_student_copies(args: argparse.Namespace) -> int:
    """Write the notebooks with their exercise solutions taken out, for handing to students."""
    from .classroom import write_student_copies
    from .launch import course_notebooks

    written = write_student_copies(Path(args.dir) if args.dir else course_notebooks(), args.out, force=args.force)
    print(f"wrote {len(written)} student notebooks to {args.out} (solutions replaced by raise NotImplementedError)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the course model (or a checkpoint) and its tokenizer to a GGUF file for llama.cpp and Ollama."""
    from .checkpoint import course_model, load_checkpoint
    from .serving.gguf import check_gguf_out, export_gguf

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
    ft = sub.add_parser("finetune", help="fine-tune the course model: classify stories, or follow instructions",
                        description="Fine-tune the course model (or --checkpoint) on the embedded stories: 'classify' "
                        "trains a head on a story label; 'instruct' teaches answering questions and translating. "
                        "Prints the held-out scores before and after.")
    ft.add_argument("task", choices=("classify", "instruct"))
    ft.add_argument("--checkpoint", help="the model to start from (default: the course model in assets/)")
    ft.add_argument("--out", default="runs/finetune", help="where to save (default: runs/finetune)")
    ft.add_argument("--stories", type=whole(1), default=DEFAULT_STORIES,
                    help="how many stories to generate (5%% held out)")
    ft.add_argument("--label", choices=("happy_ending", "shape"), default="happy_ending", help="classify: the label")
    ft.add_argument("--language", choices=("en", "zh"), default="en", help="classify: the stories' language")
    ft.add_argument("--tasks", type=instruct_tasks, default=list(INSTRUCT_TASKS),
                    help=f"instruct: comma-separated kinds of example (default: {','.join(INSTRUCT_TASKS)})")
    ft.add_argument("--eval", type=whole(1), default=150, help="instruct: held-out examples to score (default: 150)")
    ft.add_argument("--lora", action="store_true", help="train LoRA adapters instead of every weight")
    ft.add_argument("--rank", type=whole(1), default=8, help="LoRA rank (default: 8)")
    ft.add_argument("--alpha", type=finite, default=16.0, help="LoRA alpha (default: 16)")
    ft.add_argument("--targets", default="wq,wk,wv,wo,w1,w2,w3", help="LoRA: layers to adapt (default: all "
                    "attention and feed-forward projections)")
    ft.add_argument("--steps", type=whole(1), default=300)
    ft.add_argument("--batch-size", type=whole(1), default=16)
    ft.add_argument("--lr", type=finite, default=1e-3, help="peak learning rate (default: 1e-3; LoRA likes ~3e-3)")
    ft.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    ft.add_argument("--seed", type=whole(0), default=0)
    ft.set_defaults(func=cmd_finetune)
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
