"""Hostile input, re-measured (issue #13): bad command lines, faults, crafted files, URLs and API calls.

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/hostile_inputs.py

Each try is judged. "clear": refused with a one-line error of the library's own types (ValueError, which
CourseError is, TypeError or OSError; for the command, a non-zero exit and no traceback), or for a fault,
every earlier file intact afterwards. "misbehaved": anything else: a raw traceback or another exception type,
bad input accepted without a word, a learner's file changed or lost, a hang past 30 s. Prints one table and
the misbehaving tries. Runs in about a minute on one thread; memory is capped at 16 GB in case of a runaway.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch

from llama_course.config import LlamaConfig
from llama_course.data.sources import load_text
from llama_course.data.tokenizer import CharTokenizer, course_tokenizer
from llama_course.files import write_safetensors
from llama_course.generate import Sampling, generate
from llama_course.hf import load_hf_checkpoint, save_hf_checkpoint
from llama_course.lora import apply_lora, load_adapters, lora_layers, save_adapters
from llama_course.model import Llama
from llama_course.training import finetune
from llama_course.training.checkpoint import load_checkpoint, save_checkpoint, update_state
from llama_course.training.classify import LlamaClassifier, encode_texts
from llama_course.training.finetune import load_finetuned, save_finetuned
from llama_course.training.recipe import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
LIBRARY_ERRORS = (ValueError, TypeError, OSError)
CHARS = "abcdefghijklmnopqrstuvwxyz .,!?'\n-AT"  # 36 characters + 4 special ids = 40
TINY = ["--dim", "16", "--layers", "1", "--heads", "2", "--context", "16", "--batch-size", "2", "--eval-every", "1"]
results: dict[str, list[tuple[str, str]]] = {}


def tiny_model(seed: int = 0, **changes) -> Llama:
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=40, dim=16, n_layers=1, n_heads=2, multiple_of=16, max_seq_len=32)
    return Llama(config.replace(**changes))


def snapshot(*folders: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for f in folders if f.exists() for p in sorted(f.rglob("*")) if p.is_file()}


@contextlib.contextmanager
def deadline(seconds: int):
    def hang(*_):
        raise TimeoutError("hang")

    signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)


def record(category: str, name: str, verdict: str) -> None:
    results.setdefault(category, []).append((name, verdict))


def refuse(category: str, name: str, call: Callable[[], object], keep: tuple[Path, ...] = ()) -> None:
    """A bad input: clear if refused in one line by a library error, and every file in ``keep`` unchanged."""
    before = snapshot(*keep)
    try:
        with deadline(30):
            call()
    except TimeoutError as e:
        verdict = "clear" if str(e) != "hang" and "\n" not in str(e) else f"misbehaved: {e}"
    except LIBRARY_ERRORS as e:
        verdict = "clear" if str(e).strip() and "\n" not in str(e).strip() else f"misbehaved: unclear {e!r}"
    except Exception as e:  # noqa: BLE001 -- measuring what escapes is the point
        verdict = f"misbehaved: raw {type(e).__name__}: {str(e)[:100]}"
    else:
        verdict = "misbehaved: accepted without a word"
    if snapshot(*keep) != before:
        verdict = "misbehaved: changed a learner's file"
    record(category, name, verdict)


def survive(category: str, name: str, fault: Callable[[], object]) -> None:
    """A fault: clear if ``fault`` (which injects it and then checks that nothing was lost) finishes."""
    try:
        with deadline(30):
            fault()
        verdict = "clear"
    except Exception as e:  # noqa: BLE001
        verdict = f"misbehaved: {type(e).__name__}: {str(e)[:100]}"
    record(category, name, verdict)


# --- the command line: every command in one process, through the entry point the console script calls -------------

DRIVER = """
import contextlib, io, json, sys
from llama_course.cli import main
out = []
for argv in json.loads(sys.argv[1]):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
            print("" if isinstance(e.code, int) else e.code, file=sys.stderr)
        except BaseException as e:  # a raw traceback would reach the learner
            code, stderr = 1, io.StringIO("Traceback: " + type(e).__name__ + ": " + str(e)[:100])
    out.append([code, stderr.getvalue()])
print(json.dumps(out))
"""


def run_commands(commands: list[list[str]], cwd: Path) -> list[tuple[int, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "LLAMA_COURSE_CACHE": str(cwd / "cache")}
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(commands)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)
    if done.returncode:
        raise SystemExit(done.stderr)
    return [tuple(r) for r in json.loads(done.stdout.strip().splitlines()[-1])]


def damage(folder: Path, kind: str) -> Path:
    """A copy of the run ``folder`` broken in one way (the crafted files)."""
    broken = Path(shutil.copytree(folder, folder.with_name(f"{folder.name}-{kind.replace(' ', '-')}")))
    weights, config, state = broken / "model.safetensors", broken / "config.json", broken / "trainer.json"
    fields = json.loads(config.read_text())
    edits = {
        "truncated weights": lambda: weights.write_bytes(weights.read_bytes()[:300]),
        "garbage weights": lambda: weights.write_bytes(b"\x00garbage" * 50),
        "empty weights": lambda: weights.write_bytes(b""),
        "other shape": lambda: config.write_text(json.dumps({**fields, "dim": 32})),
        "n_layers 1e7": lambda: config.write_text(json.dumps({**fields, "n_layers": 10**7})),
        "max_seq_len 1e8": lambda: config.write_text(json.dumps({**fields, "max_seq_len": 10**8})),
        "tie as string": lambda: config.write_text(json.dumps({**fields, "tie_embeddings": "false"})),
        "norm_eps Infinity": lambda: config.write_text(json.dumps({**fields, "norm_eps": float("inf")})),
        "norm_eps NaN": lambda: config.write_text(json.dumps({**fields, "norm_eps": float("nan")})),
        "unknown field": lambda: config.write_text(json.dumps({**fields, "n_experts": 8})),
        "config list": lambda: config.write_text("[]"),
        "config cut": lambda: config.write_text('{\n "dim": 16,\n "oops: \n'),
        "rope factor string": lambda: config.write_text(json.dumps({**fields, "rope_scaling": {"factor": "x"}})),
        "state list": lambda: state.write_text("[]"),
        "state cut": lambda: state.write_text('{"step": 2, "hist'),
        "tokenizer kind": lambda: state.write_text(json.dumps({**json.loads(state.read_text()), "tokenizer": "bpe"})),
        "tokenizer garbage": lambda: (broken / "tokenizer.json").write_text("{garbage"),
        "nan weights": lambda: _nan_weights(weights),
    }
    edits[kind]()
    return broken


def _nan_weights(weights: Path) -> None:
    from safetensors.torch import load_file

    tensors = load_file(weights)
    tensors["norm.weight"][0] = float("nan")
    write_safetensors(tensors, weights)


def command_line(work: Path, story: Path, url: str) -> None:
    run = work / "run"
    made = run_commands([["pretrain", "--text", str(story), "--tokenizer", "char", "--steps", "2", *TINY,
                          "--out", str(run)]], work)
    assert made[0][0] == 0, made
    hf = save_hf_checkpoint(tiny_model(), work / "hf")
    (hf / "NOTES.md").write_text("mine")
    (hf / "tokenizer.json").write_text("{}")
    ft = work / "ft"
    ft.mkdir()
    (ft / "finetune.json").write_text('{"lora": true}')
    (ft / "notes.md").write_text("mine")
    full = save_finetuned(work / "full", tiny_model(), CharTokenizer(CHARS), {"task": "instruct"})
    a_file = work / "a-file"
    a_file.write_text("not a folder")
    empty, binary = work / "empty.txt", work / "binary.txt"
    empty.write_text("")
    binary.write_bytes(b"\x00\x01" * 100)
    (work / "no-text").mkdir()
    broken = {kind: damage(run, kind) for kind in ("truncated weights", "garbage weights", "other shape",
                                                   "nan weights", "config cut", "state list", "tokenizer kind")}
    no_history = damage(run, "state cut")
    no_history_state = json.loads((run / "trainer.json").read_text())
    del no_history_state["history"]
    (no_history / "trainer.json").write_text(json.dumps(no_history_state))
    other_optimizer = Path(shutil.copytree(run, work / "other-optimizer"))
    write_safetensors({"0.exp_avg": torch.zeros(3, 3)}, other_optimizer / "optimizer.safetensors")
    pre = ["pretrain", "--stories", "30", "--steps", "2", *TINY, "--out", str(work / "new")]
    text = ["pretrain", "--tokenizer", "char", "--steps", "2", *TINY, "--out", str(work / "new"), "--text"]
    fine = ["finetune", "classify", "--stories", "40", "--steps", "1", "--batch-size", "2", "--out", str(work / "f")]
    gen = ["generate", "--max-new-tokens", "3", "--checkpoint"]
    resume = ["pretrain", "--resume", "--text", str(story), "--tokenizer", "char", "--steps", "3", *TINY, "--out"]
    commands = [
        ["generate", "--device", "tpu"], ["generate", "--device", "cuda:7"], ["generate", "--device", ""],
        ["generate", "--temperature", "nan"], ["generate", "--temperature", "inf"], ["generate", "--temperature", "-1"],
        ["generate", "--top-k", "0"], ["generate", "--top-k", "x"], ["generate", "--top-p", "0"],
        ["generate", "--top-p", "1.5"], ["generate", "--top-p", "nan"], ["generate", "--min-p", "1"],
        ["generate", "--repetition-penalty", "0"], ["generate", "--repetition-penalty", "nan"],
        ["generate", "--max-new-tokens", "-5"], ["generate", "--max-new-tokens", "1.5"], ["generate", "--seed", "-1"],
        gen + [str(work / "missing")], gen + [str(a_file)], gen + [str(work / "no-text")], gen + [str(hf)],
        *[gen + [str(folder)] for folder in broken.values()],
        ["generate", "--stop", "<|nope|>"],
        [*pre[:-2], "--out", str(hf)], [*pre[:-2], "--out", str(a_file)], [*pre[:-2], "--out", str(a_file / "x")],
        [*pre[:-2], "--out", "/proc/llama-course-x"], [*pre[:-2], "--out", str(ft)], [*pre[:-2], "--out", str(full)],
        pre + ["--eval-every", "-1"], pre + ["--steps", "0"], pre + ["--batch-size", "0"], pre + ["--context", "1"],
        pre + ["--lr", "nan"], pre + ["--lr", "-1"], pre + ["--warmup", "-1"], pre + ["--warmup", "99999"],
        pre + ["--dim", "0"], pre + ["--heads", "3"], pre + ["--kv-heads", "3"], pre + ["--layers", "100000"],
        pre + ["--tokenizer", "char"], pre + ["--device", "tpu"],
        text + [str(work / "missing.txt")], text + [str(empty)], text + [str(binary)], text + [str(work / "no-text")],
        text + [f"{url}/huge"], text + [f"{url}/missing"], text + [f"{url}/big", "--max-download-mb", "0"],
        text + [str(story), "--download-timeout", "nan"], text[:2] + ["sentencepiece", *text[3:], str(story),
                                                                       "--vocab-size", "99999"],
        resume + [str(no_history)], resume + [str(other_optimizer)], resume + [str(hf)], resume + [str(full)],
        fine + ["--tasks", "foo"], ["finetune", "instruct", "--tasks", ""], ["finetune", "instruct", "--eval", "-1"],
        ["finetune", "instruct", "--eval", "0"], fine + ["--rank", "0"], fine + ["--lora", "--rank", "100000"],
        fine + ["--lora", "--alpha", "nan"], fine + ["--lora", "--alpha", "-1"], fine + ["--lora", "--targets", "nope"],
        fine + ["--steps", "0"], fine + ["--lr", "nan"], fine[:-1] + [str(hf)], fine[:-1] + [str(a_file)],
        fine[:-1] + [str(ft)], fine[:-2] + ["--lora", "--out", str(full)],
        fine + ["--checkpoint", str(work / "missing")],
        fine + ["--checkpoint", str(broken["garbage weights"])], ["params", "llama9-1t"],
        ["student-copies", str(work / "copies"), "--dir", str(work / "missing")],
    ]
    if not torch.cuda.is_available():
        commands.append(["generate", "--device", "cuda"])
    keep = (hf, ft, full, a_file)
    before = snapshot(*keep)
    for argv, (code, stderr) in zip(commands, run_commands(commands, work), strict=True):
        lines = stderr.strip().splitlines()
        if code == 0:
            verdict = "misbehaved: accepted without a word"
        elif "Traceback" in stderr or not lines:
            verdict = f"misbehaved: {stderr.strip()[-160:]}"
        else:
            verdict = "clear"
        record("CLI inputs", " ".join(argv)[:110], verdict)
    if snapshot(*keep) != before:
        record("CLI inputs", "the learner's folders afterwards", "misbehaved: changed a learner's file")


# --- faults: interrupts at every write, full disks, killed saves -----------------------------------------------------


@contextlib.contextmanager
def interrupted_at(module, name: str, nth: int):
    """Make the ``nth`` call of ``module.name`` (a file writer) raise KeyboardInterrupt, as the stop button would."""
    real, calls = getattr(module, name), []

    def writer(*args, **kwargs):
        calls.append(1)
        if len(calls) == nth:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    setattr(module, name, writer)
    try:
        yield
    finally:
        setattr(module, name, real)


@contextlib.contextmanager
def full_disk(limit: int = 2048):
    """Writes past ``limit`` bytes fail with an OSError (EFBIG), as on a full disk."""
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)


def faults(work: Path) -> None:
    from pathlib import Path as P

    import llama_course.lora as lora_module
    import llama_course.training.checkpoint as checkpoint_module

    tokenizer = CharTokenizer(CHARS)
    optimizer_model = tiny_model()
    optimizer = torch.optim.AdamW(optimizer_model.parameters())
    optimizer_model(torch.ones(1, 4, dtype=torch.long), torch.ones(1, 4, dtype=torch.long))[1].backward()
    optimizer.step()

    def checkpoint_kept(nth: int, writer: str = "write_safetensors", module=checkpoint_module) -> None:
        out = save_checkpoint(work / f"ck-{writer}-{nth}", optimizer_model, tokenizer, optimizer, {"step": 1})
        before = snapshot(out)
        with contextlib.suppress(KeyboardInterrupt), interrupted_at(module, writer, nth):
            save_checkpoint(out, tiny_model(1), tokenizer, optimizer, {"step": 2})
        assert snapshot(out) == before and load_checkpoint(out).state["step"] == 1

    for nth, what in ((1, "weights"), (2, "optimizer")):
        survive("faults", f"stop pressed while writing a checkpoint's {what}", lambda n=nth: checkpoint_kept(n))
    survive("faults", "stop pressed while writing trainer.json",  # config.json, tokenizer.json, trainer.json
            lambda: checkpoint_kept(3, "write_text", P))

    def finetune_kept(lora: bool, nth: int, writer: str) -> None:
        model = tiny_model(3)
        if lora:
            apply_lora(model, ("wq",), rank=2)
        classifier = LlamaClassifier(model, ("no", "yes"), 3)
        out = save_finetuned(work / f"ft-{lora}-{writer}-{nth}", classifier, tokenizer, {"n": 1, "base": "x"})
        before = snapshot(out)
        module = P if writer == "write_text" else lora_module if lora else finetune
        with contextlib.suppress(KeyboardInterrupt), interrupted_at(module, writer, nth):
            save_finetuned(out, classifier, tokenizer, {"n": 2, "base": "x"})
        assert snapshot(out) == before
        if not lora:
            assert load_finetuned(out)[2]["n"] == 1

    survive("faults", "stop pressed before a full fine-tune's head",
            lambda: finetune_kept(False, 1, "write_safetensors"))
    survive("faults", "stop pressed before a fine-tune's finetune.json", lambda: finetune_kept(False, 4, "write_text"))
    survive("faults", "stop pressed while writing LoRA adapters", lambda: finetune_kept(True, 1, "write_safetensors"))
    survive("faults", "stop pressed before a LoRA run's finetune.json", lambda: finetune_kept(True, 1, "write_text"))

    def full_disk_kept(save: Callable[[Path], object], name: str) -> None:
        out = work / name
        save(out)
        before = snapshot(out)
        with full_disk():
            try:
                save(out)
            except OSError as e:
                assert str(out) in str(e) and "disk full" in str(e), e
            else:
                raise AssertionError("the save reported no error on a full disk")
        assert snapshot(out) == before
        assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]

    survive("faults", "full disk during a checkpoint save",
            lambda: full_disk_kept(lambda p: save_checkpoint(p, optimizer_model, tokenizer, optimizer), "disk-ck"))
    survive("faults", "full disk during a fine-tune save", lambda: full_disk_kept(
        lambda p: save_finetuned(p, LlamaClassifier(tiny_model(), ("a", "b"), 3), tokenizer, {}), "disk-ft"))
    def save_or_update(folder: Path) -> None:
        if folder.exists():
            update_state(folder, metrics="x" * 5000)
        else:
            save_checkpoint(folder, tiny_model())

    survive("faults", "full disk during update_state", lambda: full_disk_kept(save_or_update, "disk-state"))

    def stale_cleaned() -> None:
        out = save_checkpoint(work / "stale", tiny_model())
        (work / ".stale.abcd1234.tmp").mkdir()
        save_checkpoint(out, tiny_model())
        assert not (work / ".stale.abcd1234.tmp").exists()

    survive("faults", "a killed save's temporary folder", stale_cleaned)

    def between_renames() -> None:
        out = save_checkpoint(work / "renamed", tiny_model())
        os.replace(out, work / ".renamed.old")
        assert load_checkpoint(out).model.config == tiny_model().config
        save_checkpoint(out, tiny_model())
        assert (out / "model.safetensors").is_file() and not (work / ".renamed.old").exists()

    survive("faults", "a save killed between its two renames", between_renames)

    def failed_adapter_load_leaves_model() -> None:
        donor = tiny_model()
        apply_lora(donor, ("wq",), rank=2)
        good = save_adapters(donor, work / "good-adapter.safetensors")
        (work / "cut-adapter.safetensors").write_bytes(good.read_bytes()[:150])
        model = tiny_model()
        with contextlib.suppress(ValueError):
            load_adapters(model, work / "cut-adapter.safetensors")
        assert not lora_layers(model)
        load_adapters(model, good)

    survive("faults", "retry after a failed load_adapters", failed_adapter_load_leaves_model)


# --- crafted files ---------------------------------------------------------------------------------------------------


def crafted(work: Path) -> None:
    run = save_checkpoint(work / "crafted", tiny_model(), CharTokenizer(CHARS), state={"step": 0})
    kinds = ("truncated weights", "garbage weights", "empty weights", "other shape", "n_layers 1e7",
             "max_seq_len 1e8", "tie as string", "norm_eps Infinity", "norm_eps NaN", "unknown field", "config list",
             "config cut", "rope factor string", "state list", "state cut", "tokenizer kind", "tokenizer garbage",
             "nan weights")
    for kind in kinds:
        refuse("crafted files", kind, lambda k=kind: load_checkpoint(damage(run, k)))
    hf = save_hf_checkpoint(tiny_model(), work / "hf-crafted")
    hf_config = json.loads((hf / "config.json").read_text())

    def hf_with(name: str, config: dict | None = None, index: str | None = None) -> Path:
        folder = Path(shutil.copytree(hf, work / f"hf-{name}"))
        if config is not None:
            (folder / "config.json").write_text(json.dumps({**hf_config, **config}))
        if index is not None:
            (folder / "model.safetensors.index.json").write_text(index)
        return folder

    llama3 = {"rope_type": "llama3", "factor": 8.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
    for name, config, index in [
        ("HF num_hidden_layers 1e7", {"num_hidden_layers": 10**7}, None),
        ("HF num_attention_heads 0", {"num_attention_heads": 0}, None),
        ("HF llama3 rope without low_freq_factor", {"rope_scaling": llama3}, None),
        ("HF hidden_size as string", {"hidden_size": "16"}, None),
        ("HF shard index naming ../outside", None, json.dumps({"weight_map": {"x": "../outside.safetensors"}})),
        ("HF shard index not JSON", None, "{nope"),
        ("HF shard index weight_map a list", None, json.dumps({"weight_map": []})),
        ("HF weights of another width", {"hidden_size": 32}, None),
    ]:
        refuse("crafted files", name, lambda n=name, c=config, i=index: load_hf_checkpoint(hf_with(n, c, i)))
    donor = tiny_model()
    apply_lora(donor, ("wq",), rank=2)
    good = save_adapters(donor, work / "adapter.safetensors")
    tensors = {f"{n}.lora_{m}": getattr(layer, f"lora_{m}").detach() for n, layer in lora_layers(donor).items()
               for m in "AB"}
    wq = '["layers.0.attention.wq"]'
    for name, meta in [("adapter rank metadata 4 for rank 2", {"rank": "4", "alpha": "8", "targets": wq}),
                       ("adapter targets garbage", {"rank": "2", "alpha": "8", "targets": "[nope"}),
                       ("adapter rank not a number", {"rank": "two", "alpha": "8", "targets": wq})]:
        path = work / f"{name.replace(' ', '-')}.safetensors"
        write_safetensors(tensors, path, meta)
        refuse("crafted files", name, lambda p=path: load_adapters(tiny_model(), p))
    (work / "cut.safetensors").write_bytes(good.read_bytes()[:100])
    refuse("crafted files", "adapter cut short", lambda: load_adapters(tiny_model(), work / "cut.safetensors"))
    ft = save_finetuned(work / "ft-crafted", tiny_model(), CharTokenizer(CHARS), {"task": "x"})
    (ft / "finetune.json").write_text('{"task": "x"}')
    refuse("crafted files", "finetune.json without 'lora'", lambda: load_finetuned(ft))


# --- URLs ------------------------------------------------------------------------------------------------------------


class Server(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        bodies = {"/big": b"a" * 5000, "/unsized": b"a" * 5000, "/binary": b"\x00\x01" * 50, "/empty": b"",
                  "/latin1": "café".encode("latin-1") * 10, "/ok": b"hello " * 10}
        if self.path == "/missing":
            self.send_error(404)
            return
        self.send_response(200)
        length = {"/huge": 10**12, "/trickle": 100}.get(self.path, len(bodies.get(self.path, b"")))
        if self.path != "/unsized":
            self.send_header("Content-Length", str(length))
        self.end_headers()
        with contextlib.suppress(ConnectionError):
            self.wfile.write(bodies.get(self.path, b""))
            for _ in range(10 if self.path == "/trickle" else 0):
                self.wfile.write(b"a")
                self.wfile.flush()
                time.sleep(0.3)

    def log_message(self, *args) -> None:
        pass


def urls(work: Path, url: str) -> None:
    cache = work / "url-cache"
    for name, call in [
        ("Content-Length of 1 TB", lambda: load_text(f"{url}/huge", cache=cache)),
        ("5000 bytes over a limit of 1000", lambda: load_text(f"{url}/big", cache=cache, max_bytes=1000)),
        ("no Content-Length, over the limit", lambda: load_text(f"{url}/unsized", cache=cache, max_bytes=1000)),
        ("a byte every 0.3 s, deadline 1 s", lambda: load_text(f"{url}/trickle", cache=cache, timeout_s=1)),
        ("HTTP 404", lambda: load_text(f"{url}/missing", cache=cache)),
        ("nobody listening", lambda: load_text("http://127.0.0.1:9/x", cache=cache)),
        ("binary body", lambda: load_text(f"{url}/binary", cache=cache)),
        ("empty body", lambda: load_text(f"{url}/empty", cache=cache)),
        ("latin-1 body read as utf-8", lambda: load_text(f"{url}/latin1", cache=cache)),
        ("sha256 mismatch", lambda: load_text(f"{url}/ok", cache=cache, sha256="0" * 64)),
        ("sha256 not hex", lambda: load_text(f"{url}/ok", cache=cache, sha256="xyz")),
        ("not http(s): ftp://", lambda: load_text("ftp://127.0.0.1/x", cache=cache)),
    ]:
        refuse("URL cases", name, call)


# --- API calls -------------------------------------------------------------------------------------------------------


def api_calls(work: Path) -> None:
    model, tokenizer, char = tiny_model(), course_tokenizer(), CharTokenizer(CHARS)
    calls: list[tuple[str, Callable[[], object]]] = [
        (f"LlamaConfig({field}={value!r})", lambda f=field, v=value: LlamaConfig(**{f: v})) for field, value in [
            ("dim", 0), ("n_heads", 0), ("n_layers", True), ("n_layers", 10**7), ("vocab_size", 2.5),
            ("max_seq_len", 10**8), ("tie_embeddings", "false"), ("norm_eps", float("nan")),
            ("norm_eps", float("inf")), ("norm_eps", -1.0), ("rope_theta", 0.0), ("ffn_dim_multiplier", 1e9),
            ("ffn_hidden", True), ("rope_scaling", {"factor": float("nan")}), ("rope_scaling", {"nope": 1}),
            ("rope_scaling", "llama3")]
    ]
    calls += [
        ("Llama('tiny')", lambda: Llama("tiny")),
        ("model(empty batch)", lambda: model(torch.zeros(0, 4, dtype=torch.long))),
        ("model(float tokens)", lambda: model(torch.zeros(1, 4))),
        ("model(1-d tokens)", lambda: model(torch.zeros(4, dtype=torch.long))),
        ("model(id out of range)", lambda: model(torch.full((1, 4), 99))),
        ("model(too long)", lambda: model(torch.zeros(1, 33, dtype=torch.long))),
        ("generate(max_new_tokens=-5)", lambda: generate(model, [1, 2], -5)),
        ("generate(max_new_tokens=1.5)", lambda: generate(model, [1, 2], 1.5)),
        ("generate(max_new_tokens=True)", lambda: generate(model, [1, 2], True)),
        ("generate(float ids)", lambda: generate(model, [1, 2.7], 2)),
        ("generate(float tensor)", lambda: generate(model, torch.tensor([1.0, 2.0]), 2)),
        ("generate(string ids)", lambda: generate(model, ["a", "b"], 2)),
        ("generate(empty prompt)", lambda: generate(model, [], 2)),
        ("generate(prompt fills context)", lambda: generate(model, [1] * 32, 2)),
        ("Sampling(top_k=True)", lambda: Sampling(top_k=True)),
        ("Sampling(top_k=2.5)", lambda: Sampling(top_k=2.5)),
        ("Sampling(top_p=nan)", lambda: Sampling(top_p=float("nan"))),
        ("Sampling(temperature=nan)", lambda: Sampling(temperature=float("nan"))),
        ("Sampling(temperature='hot')", lambda: Sampling(temperature="hot")),
        ("Sampling(min_p=1)", lambda: Sampling(min_p=1)),
        ("Sampling(repetition_penalty=nan)", lambda: Sampling(repetition_penalty=float("nan"))),
        ("tokenizer.encode(lone surrogate)", lambda: tokenizer.encode("a\ud800b")),
        ("tokenizer.encode_batch([lone surrogate])", lambda: tokenizer.encode_batch(["\udfff"])),
        ("char.encode(lone surrogate)", lambda: char.encode("\ud800")),
        ("tokenizer.encode(None)", lambda: tokenizer.encode(None)),
        ("tokenizer.encode_batch('text')", lambda: tokenizer.encode_batch("text")),
        ("tokenizer.decode([-1])", lambda: tokenizer.decode([-1])),
        ("tokenizer.decode([10**9])", lambda: tokenizer.decode([10**9])),
        ("TrainConfig(eval_every=-1)", lambda: TrainConfig(eval_every=-1)),
        ("TrainConfig(steps=0)", lambda: TrainConfig(steps=0)),
        ("TrainConfig(lr=nan)", lambda: TrainConfig(lr=float("nan"))),
        ("apply_lora(rank=0)", lambda: apply_lora(tiny_model(), ("wq",), rank=0)),
        ("apply_lora(targets=('nope',))", lambda: apply_lora(tiny_model(), ("nope",))),
        ("save_checkpoint(nn.Linear)", lambda: save_checkpoint(work / "x", torch.nn.Linear(2, 2))),
        ("encode_texts(tokenizer, 'a str')", lambda: encode_texts(tokenizer, "a str", 16)),
        ("LlamaClassifier(labels=('a',))", lambda: LlamaClassifier(tiny_model(), ("a",), 3)),
        ("load_adapters(missing file)", lambda: load_adapters(tiny_model(), work / "nope.safetensors")),
        ("load_text(missing file)", lambda: load_text(work / "nope.txt")),
        ("load_checkpoint(missing)", lambda: load_checkpoint(work / "nope")),
    ]
    for name, call in calls:
        refuse("API calls", name, call)


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (16 * 2**30, resource.getrlimit(resource.RLIMIT_AS)[1]))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Server)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        story = work / "story.txt"
        story.write_text("the quick brown fox jumps over the lazy dog. a stitch in time saves nine!\n" * 40)
        for sub in ("cli", "faults", "crafted", "api"):
            (work / sub).mkdir()
        command_line(work / "cli", story, url)
        faults(work / "faults")
        crafted(work / "crafted")
        urls(work, url)
        api_calls(work / "api")
    httpd.shutdown()
    print(f"{'category':14s} {'tried':>6s} {'clear':>6s} {'misbehaved':>11s}")
    for category in ("CLI inputs", "faults", "crafted files", "URL cases", "API calls"):
        rows = results.get(category, [])
        bad = [(name, verdict) for name, verdict in rows if verdict != "clear"]
        print(f"{category:14s} {len(rows):6d} {len(rows) - len(bad):6d} {len(bad):11d}")
    for category, rows in results.items():
        for name, verdict in rows:
            if verdict != "clear":
                print(f"  {category}: {name}: {verdict}")


if __name__ == "__main__":
    main()
