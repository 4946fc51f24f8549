"""`llama-course pretrain` on the embedded stories and on a learner's own text file."""

import math

import pytest
import torch

from llama_course.cli import main
from llama_course.data.tokenizer import CharTokenizer, Tokenizer
from llama_course.training.checkpoint import load_checkpoint


def load_corpus_texts():
    from llama_course.data.corpus import load_corpus

    return [story.text for story in load_corpus(n_stories=30).val]


SMALL = ["--dim", "32", "--layers", "2", "--heads", "4", "--context", "32", "--batch-size", "4", "--eval-every", "5"]


def test_pretrain_on_the_course_corpus(tmp_path, capsys):
    assert main(["pretrain", "--stories", "30", "--steps", "10", "--out", str(tmp_path / "run"), *SMALL]) == 0
    out = capsys.readouterr().out
    assert "validation loss" in out and "perplexity" in out and "sample: Once upon a time" in out
    saved = load_checkpoint(tmp_path / "run")
    assert isinstance(saved.tokenizer, Tokenizer) and len(saved.tokenizer) == 4096
    assert saved.state["step"] == 10 and saved.state["history"]["val_step"] == [5, 10]
    assert saved.state["about"]["command"].startswith("llama-course pretrain --stories 30")
    assert saved.model.config.dim == 32 and saved.model.config.n_kv_heads == 4
    metrics = saved.state["metrics"]["all"]  # measured on every validation token at the end
    assert metrics["val_tokens"] == sum(len(saved.tokenizer.encode(s)) + 2 for s in load_corpus_texts())
    assert metrics["val_perplexity"] == pytest.approx(math.exp(metrics["val_loss"]))

    # more steps from the checkpoint: resumed, not restarted
    assert main(["pretrain", "--stories", "30", "--steps", "14", "--resume", "--out", str(tmp_path / "run"), *SMALL,
                 "--weights-only"]) == 0
    saved = load_checkpoint(tmp_path / "run")
    assert saved.state["step"] == 14 and saved.state["history"]["step"] == list(range(1, 15))
    assert saved.optimizer_state() is None and not (tmp_path / "run" / "optimizer.safetensors").exists()


@pytest.mark.parametrize("tokenizer, kind", [("char", CharTokenizer), ("sentencepiece", Tokenizer)])
def test_pretrain_on_your_own_text(tmp_path, capsys, tokenizer, kind):
    text = tmp_path / "notes.txt"
    text.write_text("The quick brown fox jumps over the lazy dog. A stitch in time saves nine.\n" * 60)
    assert main(["pretrain", "--text", str(text), "--tokenizer", tokenizer, "--vocab-size", "320", "--steps", "6",
                 "--out", str(tmp_path / "mine"), *SMALL]) == 0
    assert "validation loss" in capsys.readouterr().out
    saved = load_checkpoint(tmp_path / "mine")
    assert isinstance(saved.tokenizer, kind)
    assert saved.model.config.vocab_size == len(saved.tokenizer)
    assert str(text) in saved.state["about"]["data"]


def test_pretrain_explains_bad_requests(tmp_path):
    tiny_text = tmp_path / "tiny.txt"
    tiny_text.write_text("too short")
    with pytest.raises(SystemExit, match="more text"):
        main(["pretrain", "--text", str(tiny_text), "--tokenizer", "char", "--out", str(tmp_path / "x"), *SMALL])
    with pytest.raises(SystemExit, match="vocab"):
        main(["pretrain", "--text", str(tiny_text), "--vocab-size", "5000", "--out", str(tmp_path / "x"), *SMALL])
    with pytest.raises(SystemExit, match="n_heads|heads"):
        main(["pretrain", "--stories", "30", "--heads", "5", "--out", str(tmp_path / "x"), *SMALL[:4]])
    with pytest.raises(SystemExit, match="missing.txt"):
        main(["pretrain", "--text", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "x"), *SMALL])


def test_generate_streams_from_a_checkpoint(tmp_path, capsys):
    main(["pretrain", "--stories", "30", "--steps", "3", "--out", str(tmp_path / "run"), *SMALL])
    capsys.readouterr()
    assert main(["generate", "Once upon", "--checkpoint", str(tmp_path / "run"), "--max-new-tokens", "12",
                 "--temperature", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Once upon") and len(out) > len("Once upon\n")
    with pytest.raises(SystemExit, match="top_p"):
        main(["generate", "--checkpoint", str(tmp_path / "run"), "--top-p", "1.5"])
    with pytest.raises(SystemExit, match="no checkpoint"):
        main(["generate", "--checkpoint", str(tmp_path / "nowhere")])


def test_generate_uses_the_course_model_by_default(capsys):
    assert main(["generate", "Once upon a time", "--max-new-tokens", "30", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Once upon a time") and len(out.split()) > 8


def test_finetune_classify_with_lora_saves_only_the_adapters(tmp_path, capsys):
    from llama_course.training.checkpoint import course_model
    from llama_course.training.classify import LlamaClassifier, encode_texts
    from llama_course.training.finetune import load_finetuned

    out = tmp_path / "clf"
    assert main(["finetune", "classify", "--lora", "--stories", "40", "--steps", "3", "--batch-size", "2",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "before: accuracy" in printed and "after 3 steps" in printed and "the adapters only" in printed
    assert sorted(p.name for p in out.iterdir()) == ["adapter.safetensors", "finetune.json"]
    classifier, tokenizer, info = load_finetuned(out)
    assert isinstance(classifier, LlamaClassifier) and classifier.labels == ("sad", "happy")
    assert info["lora"] and info["base"] == "course-model"
    assert info["training"]["trainable"] < info["training"]["total"] / 10
    tokens = encode_texts(tokenizer, ["Once upon a time, there was a happy girl."], 256)
    plain = LlamaClassifier(course_model().model, ("sad", "happy"), tokenizer.pad_id)
    plain.score.load_state_dict(classifier.score.state_dict())
    assert not torch.allclose(classifier(tokens), plain(tokens))  # same head: the adapters make the difference


def test_finetune_instruct_full_saves_a_checkpoint_generate_can_use(tmp_path, capsys):
    from llama_course.training.checkpoint import load_checkpoint
    from llama_course.training.finetune import load_finetuned

    out = tmp_path / "chat"
    assert main(["finetune", "instruct", "--stories", "40", "--steps", "2", "--batch-size", "2", "--eval", "4",
                 "--tasks", "qa_zh", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "before: qa_zh 0.0%, all 0.0%" in printed
    model, _, info = load_finetuned(out)
    assert info["task"] == "instruct" and info["tasks"] == ["qa_zh"] and not info["lora"]
    assert load_checkpoint(out).state["finetune"]["after"] == info["after"]
    assert main(["generate", "--checkpoint", str(out), "--max-new-tokens", "3", "--seed", "0"]) == 0


def test_finetune_never_writes_over_other_work(tmp_path):
    precious = tmp_path / "my-run"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="not part of a full fine-tuning run"):
        main(["finetune", "classify", "--out", str(precious)])
    assert (precious / "notes.txt").read_text() == "mine"


def test_torchrun_picks_gloo_for_device_cpu_even_with_a_gpu(monkeypatch):
    import torch.distributed as dist

    from llama_course.files import CourseError
    from llama_course.training import pretrain

    backends = []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(dist, "init_process_group", lambda backend: backends.append(backend))
    monkeypatch.setattr(dist, "get_rank", lambda: 1)
    assert pretrain._init_distributed("cpu") == (1, torch.device("cpu")) and backends == ["gloo"]
    with pytest.raises(CourseError, match="process 1 has no GPU of its own"):
        pretrain._init_distributed(None)
    with pytest.raises(CourseError, match="must be cpu or cuda"):
        pretrain._init_distributed("mps")
