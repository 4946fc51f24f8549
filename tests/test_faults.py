"""Hostile input and faults (issue #13): nothing a learner made is lost, bad input is refused before any
training is paid for, and every refusal is one clear line that names the file or option.

Command-line cases run the real command in a subprocess (``python -m llama_course``); a raw traceback there
fails the test. Everything uses tiny models, so the file runs in well under a minute on one thread.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from llama_course.config import LlamaConfig
from llama_course.data.sources import load_text
from llama_course.data.tokenizer import CharTokenizer, course_tokenizer
from llama_course.files import CourseError, write_safetensors
from llama_course.generate import Sampling, generate
from llama_course.hf import load_hf_checkpoint, save_hf_checkpoint
from llama_course.lora import apply_lora, load_adapters, lora_layers, save_adapters
from llama_course.model import Llama
from llama_course.training.checkpoint import load_checkpoint, save_checkpoint
from llama_course.training.finetune import check_finetune_out, load_finetuned, save_finetuned
from llama_course.training.loop import train
from llama_course.training.recipe import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
CHARS = "abcdefghijklmnopqrstuvwxyz .,!?'\n-AT"  # 36 characters: with the 4 special ids, 40 ids
TINY = ["--dim", "16", "--layers", "1", "--heads", "2", "--context", "16", "--batch-size", "2", "--eval-every", "1"]


def tiny_model(seed: int = 0, **changes) -> Llama:
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=40, dim=16, n_layers=1, n_heads=2, multiple_of=16, max_seq_len=32)
    return Llama(config.replace(**changes))


def tiny_checkpoint(folder: Path) -> Path:
    return save_checkpoint(folder, tiny_model(), CharTokenizer(CHARS))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes: to show that nothing was changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def cli(*args: str, tmp_path: Path, limit_file_bytes: int | None = None) -> subprocess.CompletedProcess:
    """Run ``llama-course ARGS`` as a learner would, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "LLAMA_COURSE_CACHE": str(tmp_path / "c")}

    def limit_files() -> None:  # a full disk: writes past this size fail with an OSError (POSIX only)
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_bytes, limit_file_bytes))

    return subprocess.run([sys.executable, "-m", "llama_course", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120, preexec_fn=limit_files if limit_file_bytes else None)


# Several commands in one fresh process, each through the entry point the console script calls: a process start
# costs seconds, a command that is refused at once costs milliseconds. Any exception but SystemExit escapes and
# fails the test with its traceback, exactly as it would reach the learner.
MANY = """
import contextlib, io, json, sys
from llama_course.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:  # what the interpreter prints on the way out
            code = e.code if isinstance(e.code, int) else 1
            print("" if isinstance(e.code, int) else e.code, file=sys.stderr)
    results.append({"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
print(json.dumps(results))
"""


def cli_many(commands: list[list[str]], tmp_path: Path) -> list[subprocess.CompletedProcess]:
    """Run each command (the arguments to ``llama-course``) in one fresh process; a result for each."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "LLAMA_COURSE_CACHE": str(tmp_path / "c")}
    done = subprocess.run([sys.executable, "-c", MANY, json.dumps(commands)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return [subprocess.CompletedProcess(argv, **r) for argv, r in zip(commands, json.loads(done.stdout), strict=True)]


def refused(result: subprocess.CompletedProcess, *words: str) -> str:
    """Assert the command failed with one clear line (no traceback) containing ``words``; return that line."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    for word in words:
        assert word in line, line
    return line


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("text") / "story.txt"
    path.write_text("the quick brown fox jumps over the lazy dog. a stitch in time saves nine!\n" * 40)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory, story) -> tuple[Path, str]:
    """A resumable pretraining run made by the command, with --resume on an empty folder (item 5)."""
    folder = tmp_path_factory.mktemp("runs")
    result = cli("pretrain", "--resume", "--text", str(story), "--tokenizer", "char", "--steps", "2",
                 "--out", str(folder / "run"), *TINY, tmp_path=folder)
    assert result.returncode == 0, result.stderr
    return folder / "run", result.stdout


def copy_of(run_folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run_folder, tmp_path / "run"))


# --- 1. data loss: a save only replaces what the course wrote --------------------------------------------------------


def hf_folder(folder: Path) -> Path:
    """A Hugging Face style folder with the learner's own notes in it."""
    save_hf_checkpoint(tiny_model(), folder)
    (folder / "tokenizer.json").write_text('{"model": "theirs"}')
    (folder / "NOTES.md").write_text("my notes")
    return folder


@pytest.mark.slow  # a subprocess or a kernel: seconds
def test_no_command_replaces_a_folder_it_did_not_write(tmp_path, story):
    """Items 1 and 2: a Hugging Face folder with notes, a fine-tune folder with notes and an old adapter, a full
    fine-tune for a LoRA run, a file, a folder that cannot be written: each refused before any training."""
    hf = hf_folder(tmp_path / "hf")
    notes = tmp_path / "ft"
    notes.mkdir()
    (notes / "finetune.json").write_text('{"lora": true}')
    (notes / "adapter.safetensors").write_bytes(b"an old adapter")
    (notes / "notes.md").write_text("mine")
    full = save_finetuned(tmp_path / "full", tiny_model(), CharTokenizer(CHARS), {"task": "instruct"})
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    before = {folder: snapshot(folder) for folder in (hf, notes, full)}
    pretrain = ["pretrain", "--text", str(story), "--tokenizer", "char", "--steps", "2", *TINY, "--out"]
    cases = [
        (pretrain + [str(hf)], (str(hf), "NOTES.md", "nothing was changed")),
        (["finetune", "classify", "--lora", "--out", str(notes)], ("notes.md",)),
        (["finetune", "instruct", "--lora", "--out", str(full)], ("LoRA", "model.safetensors")),
        (pretrain + [str(a_file)], ("is a file",)),
        (pretrain + [str(a_file / "run")], ("cannot write",)),
        (pretrain + ["/proc/llama-course-run"], ("cannot write", "/proc")),
    ]
    for result, (_, words) in zip(cli_many([argv for argv, _ in cases], tmp_path), cases, strict=True):
        refused(result, *words)
        assert "data:" not in result.stdout and "before:" not in result.stdout  # nothing was trained
    assert {folder: snapshot(folder) for folder in before} == before and a_file.read_text() == "not a folder"


def test_the_library_refuses_too_before_the_first_step(tmp_path):
    folder = hf_folder(tmp_path / "hf")
    with pytest.raises(CourseError, match="NOTES.md"):
        save_checkpoint(folder, tiny_model())
    (folder / "NOTES.md").unlink()  # only names a course checkpoint could hold, but not a course checkpoint
    with pytest.raises(CourseError, match="no trainer.json"):
        save_checkpoint(folder, tiny_model())
    steps = []
    with pytest.raises(CourseError, match="no trainer.json"):
        train(tiny_model(), None, None, TrainConfig(steps=2, warmup_steps=0), [steps.append], checkpoint=folder)
    assert steps == []
    lora_model = tiny_model()
    apply_lora(lora_model, ("wq",), rank=2)
    lora = save_finetuned(tmp_path / "lora", lora_model, None, {"task": "instruct", "base": "somewhere"})
    with pytest.raises(CourseError, match="not part of a full fine-tuning run"):
        check_finetune_out(lora, lora=False)
    check_finetune_out(lora, lora=True)  # the same kind again: allowed


# --- 3. fine-tune saves are atomic; killed saves are cleaned up ------------------------------------------------------


def test_a_crash_while_saving_a_fine_tune_keeps_the_earlier_one(tmp_path, monkeypatch):
    from llama_course.training import finetune
    from llama_course.training.classify import LlamaClassifier

    tokenizer = CharTokenizer(CHARS)
    out = save_finetuned(tmp_path / "clf", LlamaClassifier(tiny_model(1), ("no", "yes"), 3), tokenizer, {"n": 1})
    before = snapshot(out)

    def killed(tensors, path, metadata=None):
        if Path(path).name == "head.safetensors":
            raise KeyboardInterrupt  # as if the learner pressed stop just before the head was written
        write_safetensors(tensors, path, metadata)

    monkeypatch.setattr(finetune, "write_safetensors", killed)
    with pytest.raises(KeyboardInterrupt):
        save_finetuned(out, LlamaClassifier(tiny_model(2), ("no", "yes"), 3), tokenizer, {"n": 2})
    assert snapshot(out) == before and load_finetuned(out)[2]["n"] == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing left beside it


def test_temporary_folders_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    tiny_checkpoint(tmp_path / "run")
    stale = tmp_path / ".run.k1ll3d_x.tmp"  # what a save killed by SIGKILL leaves
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"half")
    keep = tmp_path / ".run.notes.tmp"  # not of the pattern mkdtemp makes: not ours, left alone
    keep.mkdir()
    tiny_checkpoint(tmp_path / "run")
    assert not stale.exists() and keep.exists()


# --- 4. crafted and hand-edited configs and weight files -------------------------------------------------------------


@pytest.mark.parametrize("field, value, words", [
    ("n_layers", 10**7, "n_layers must be a positive integer"),
    ("max_seq_len", 10**8, "max_seq_len"),
    ("tie_embeddings", "false", "tie_embeddings must be true or false"),
    ("norm_eps", float("inf"), "norm_eps must be a finite number"),
    ("dim", 32, "does not fit its config"),
])
def test_crafted_configs_are_refused_before_anything_is_allocated(tmp_path, field, value, words):
    folder = tiny_checkpoint(tmp_path / "run")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, field: value}))  # json writes inf as Infinity
    began = time.perf_counter()
    with pytest.raises(CourseError, match=words) as error:
        load_checkpoint(folder)
    assert str(folder) in str(error.value) and time.perf_counter() - began < 2


@pytest.mark.parametrize("change, words", [
    ({"num_hidden_layers": 10**7}, "n_layers"),
    ({"num_attention_heads": 0}, "n_heads"),
    ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 8192}}, "low_freq_factor"),
])
def test_crafted_hugging_face_configs_are_refused_by_name(tmp_path, change, words):
    folder = hf_folder(tmp_path / "hf")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(CourseError, match=words) as error:
        load_hf_checkpoint(folder)
    assert "config.json" in str(error.value)


# --- 5. --resume keeps the saved tokenizer ---------------------------------------------------------------------------


@pytest.mark.slow  # a subprocess or a kernel: seconds
def test_resume_reuses_the_saved_tokenizer_whatever_the_text(run, tmp_path):
    folder, first_output = run
    assert "no checkpoint" in first_output and "fresh run" in first_output
    chars = load_checkpoint(folder).tokenizer.chars
    other = tmp_path / "other.txt"
    other.write_text("ZZZ 0123456789 completely different characters ###\n" * 40)
    result = cli("pretrain", "--resume", "--text", str(other), "--tokenizer", "char", "--steps", "3",
                 "--out", str(copy_of(folder, tmp_path)), *TINY, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "using the tokenizer saved" in result.stdout
    saved = load_checkpoint(tmp_path / "run")
    assert saved.tokenizer.chars == chars and saved.state["step"] == 3


# --- 6. no raw tracebacks from the command ---------------------------------------------------------------------------


def damage(kind: str, folder: Path) -> None:
    """Break a copy of a run the way a learner's file gets broken."""
    weights = folder / "model.safetensors"
    if kind == "truncated":
        weights.write_bytes(weights.read_bytes()[:300])
    elif kind == "garbage":
        weights.write_bytes(b"\x00garbage" * 50)
    elif kind == "other shape":
        save_checkpoint(folder, tiny_model(dim=32, n_heads=2))
        (folder / "config.json").write_text(json.dumps(tiny_model().config.to_dict()))
    elif kind == "nan":
        model = load_checkpoint(folder).model
        with torch.no_grad():
            model.norm.weight[0] = float("nan")
        write_safetensors({k: v.contiguous() for k, v in model.state_dict().items()}, weights)
    elif kind == "bad json":
        (folder / "config.json").write_text('{\n "dim": 16,\n "n_layers": 1,\n "oops: \n')
    elif kind == "state list":
        (folder / "trainer.json").write_text("[]")


@pytest.mark.slow  # a subprocess or a kernel: seconds
def test_broken_checkpoints_and_bad_options_are_one_line(run, tmp_path):
    """Item 6 and 7: each damaged copy of a run through `generate`, and option values that mean nothing."""
    damaged = {"truncated": "model.safetensors", "garbage": "model.safetensors", "other shape": "does not fit",
               "nan": "NaN", "bad json": "config.json", "state list": "trainer.json"}
    cases = []
    for kind, word in damaged.items():
        folder = Path(shutil.copytree(run[0], tmp_path / kind))
        damage(kind, folder)
        cases.append((["generate", "--checkpoint", str(folder), "--max-new-tokens", "3"], (str(folder), word)))
    cases += [
        (["generate", "--device", "tpu"], ("--device tpu", "expected cpu")),
        (["generate", "--temperature", "nan"], ("--temperature", "expected")),
        (["generate", "--max-new-tokens", "-5"], ("--max-new-tokens", "expected")),
        (["pretrain", "--eval-every", "-1"], ("--eval-every", "expected")),
        (["finetune", "instruct", "--tasks", "foo"], ("--tasks", "expected")),
        (["finetune", "instruct", "--eval", "-1"], ("--eval", "expected")),
    ]
    if not torch.cuda.is_available():
        cases.append((["generate", "--device", "cuda"], ("--device cuda", "not available")))
    for result, (_, words) in zip(cli_many([argv for argv, _ in cases], tmp_path), cases, strict=True):
        refused(result, *words)


@pytest.mark.slow  # a subprocess or a kernel: seconds
def test_resume_reports_broken_training_state_in_one_line(run, tmp_path, story):
    no_history, other_optimizer = (Path(shutil.copytree(run[0], tmp_path / name)) for name in ("a", "b"))
    state = json.loads((no_history / "trainer.json").read_text())
    (no_history / "trainer.json").write_text(json.dumps({k: v for k, v in state.items() if k != "history"}))
    write_safetensors({"0.exp_avg": torch.zeros(3, 3), "0.exp_avg_sq": torch.zeros(3, 3)},
                      other_optimizer / "optimizer.safetensors")
    resume = ["pretrain", "--resume", "--text", str(story), "--tokenizer", "char", "--steps", "3", *TINY, "--out"]
    first, second = cli_many([resume + [str(no_history)], resume + [str(other_optimizer)]], tmp_path)
    refused(first, "trainer.json", "history")
    refused(second, "optimizer.safetensors", "another shape")


@pytest.mark.slow  # a subprocess or a kernel: seconds
def test_a_full_disk_is_one_line_and_keeps_the_last_checkpoint(run, tmp_path, story):
    folder = copy_of(run[0], tmp_path)
    before = snapshot(folder)
    result = cli("pretrain", "--resume", "--text", str(story), "--tokenizer", "char", "--steps", "3",
                 "--out", str(folder), *TINY, tmp_path=tmp_path, limit_file_bytes=4096)
    refused(result, "could not save", str(folder), "disk full")
    assert snapshot(folder) == before and load_checkpoint(folder).state["step"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --- 8. downloads have a total deadline and a size limit -------------------------------------------------------------


class Server(http.server.BaseHTTPRequestHandler):
    """/huge claims a terabyte, /big sends 5000 bytes with a length, /unsized 5000 without, /trickle a byte
    every 0.3 s (ten at most, so it always stops by itself)."""

    def do_GET(self) -> None:
        claimed = {"/huge": 10**12, "/big": 5000, "/trickle": 100}.get(self.path)
        self.send_response(200)
        if claimed:
            self.send_header("Content-Length", str(claimed))
        self.end_headers()
        if self.path in ("/big", "/unsized"):
            self.wfile.write(b"a" * 5000)
        for _ in range(10 if self.path == "/trickle" else 0):
            try:
                self.wfile.write(b"a")
                self.wfile.flush()
            except ConnectionError:  # the client gave up, as it should
                return
            time.sleep(0.3)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Server)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.slow  # a subprocess or a kernel: seconds
def test_downloads_are_refused_past_the_size_limit(server, tmp_path):
    refused(cli("pretrain", "--text", f"{server}/huge", "--out", str(tmp_path / "x"), tmp_path=tmp_path),
            "1,000,000,000,000 bytes", "--max-download-mb")
    for path in ("/big", "/unsized"):
        with pytest.raises(CourseError, match="download limit of 1,000 bytes"):
            load_text(f"{server}{path}", cache=tmp_path, max_bytes=1000)
    assert load_text(f"{server}/big", cache=tmp_path) == "a" * 5000  # within the default limit


def test_a_trickling_server_meets_the_total_deadline(server, tmp_path):
    began = time.perf_counter()
    with pytest.raises(ConnectionError, match="longer than its limit"):
        load_text(f"{server}/trickle", cache=tmp_path, timeout_s=1)
    assert time.perf_counter() - began < 2.5


# --- 7. values that used to be accepted without a word ---------------------------------------------------------------


def test_library_calls_refuse_what_they_cannot_mean():
    model = tiny_model()
    with pytest.raises(ValueError, match="eval_every"):
        TrainConfig(eval_every=-1)
    for bad in (-5, 1.5, True):
        with pytest.raises(ValueError, match="max_new_tokens"):
            generate(model, [1, 5, 6], bad)
    with pytest.raises(TypeError, match="whole numbers"):
        generate(model, [1, 5.7, 6], 2)
    with pytest.raises(TypeError, match="integers"):
        generate(model, torch.tensor([1.0, 5.0]), 2)
    with pytest.raises(ValueError, match="top_k"):
        Sampling(top_k=True)
    with pytest.raises(ValueError, match="temperature"):
        Sampling(temperature=float("nan"))
    with pytest.raises(ValueError, match="empty"):
        model(torch.zeros(0, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="lone surrogate"):
        course_tokenizer().encode("a\ud800b")
    with pytest.raises(ValueError, match="lone surrogate"):
        CharTokenizer(CHARS).encode("\udfff")


# --- 9. adapters checked whole before the model is touched; shard paths stay in their folder -------------------------


def test_a_bad_adapter_file_leaves_the_model_as_it_was(tmp_path):
    donor = tiny_model()
    apply_lora(donor, ("wq", "wv"), rank=2)
    good = save_adapters(donor, tmp_path / "good.safetensors")
    layers = lora_layers(donor)
    tensors = {f"{n}.lora_{m}": getattr(layer, f"lora_{m}").detach() for n, layer in layers.items() for m in "AB"}
    write_safetensors(tensors, tmp_path / "bad.safetensors",
                      {"rank": "4", "alpha": "16", "targets": json.dumps(sorted(layers))})  # rank 2 really
    model = tiny_model()
    with pytest.raises(CourseError, match="rank"):
        load_adapters(model, tmp_path / "bad.safetensors")
    assert not lora_layers(model)
    (tmp_path / "cut.safetensors").write_bytes(good.read_bytes()[:200])
    with pytest.raises(CourseError, match="cut.safetensors"):
        load_adapters(model, tmp_path / "cut.safetensors")
    load_adapters(model, good)  # the retry works: no "already has LoRA layers"
    assert sorted(lora_layers(model)) == sorted(layers)


def test_a_shard_index_may_not_leave_its_folder(tmp_path):
    folder = hf_folder(tmp_path / "hf")
    outside = tmp_path / "outside.safetensors"
    shutil.copy(folder / "model.safetensors", outside)
    index = {"metadata": {}, "weight_map": {"model.embed_tokens.weight": "../outside.safetensors"}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(CourseError, match="outside its folder"):
        load_hf_checkpoint(folder)
