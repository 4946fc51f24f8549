"""The training loop: schedule, optimizer groups, learning, exact resume, interrupts, accumulation, torchrun."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from llama_course.config import LlamaConfig
from llama_course.data.batches import TokenDataset
from llama_course.model import Llama
from llama_course.training.checkpoint import load_checkpoint
from llama_course.training.loop import evaluate, train
from llama_course.training.recipe import TrainConfig, lr_at, make_optimizer


def small_model(seed=0):
    torch.manual_seed(seed)
    return Llama(LlamaConfig(vocab_size=32, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=32))


def pattern_data(n=4000, seed=0):
    """A stream with structure to learn: a repeating phrase with random words in between."""
    rng = np.random.default_rng(seed)
    chunks = [np.concatenate([[1, 5, 6, 7, 8], rng.integers(9, 32, size=3), [2]]) for _ in range(n // 9)]
    return TokenDataset(np.concatenate(chunks), context=16)


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_schedule_warms_up_then_decays_to_the_floor():
    config = TrainConfig(steps=1000, warmup_steps=100, lr=1e-3, min_lr_ratio=0.1)
    lrs = [lr_at(s, config) for s in range(1000)]
    assert lrs[0] == pytest.approx(1e-5) and lrs[99] == pytest.approx(1e-3)
    assert all(a < b for a, b in zip(lrs[:99], lrs[1:100], strict=True))
    assert all(a >= b for a, b in zip(lrs[100:-1], lrs[101:], strict=True))
    assert lrs[550] == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5))  # halfway through the cosine
    assert lr_at(1000, config) == pytest.approx(1e-4)


def test_weight_decay_only_on_matrices():
    model = small_model()
    decay, no_decay = make_optimizer(model, TrainConfig()).param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))
    assert decay["betas"] == (0.9, 0.95)


def test_training_lowers_the_validation_loss():
    model, data = small_model(), pattern_data()
    before = evaluate(model, data, max_windows=32)
    assert before == pytest.approx(math.log(32), abs=0.3)  # untrained: about uniform over 32 ids
    history = train(model, data, data, TrainConfig(steps=60, batch_size=8, warmup_steps=6, eval_every=30,
                                                   eval_windows=32), progress=False)
    assert history.val_step == [30, 60]
    assert history.val_loss[-1] < before - 1.0
    assert history.val_perplexity == pytest.approx(math.exp(history.val_loss[-1]))
    assert history.tokens == 60 * 8 * 16
    assert len(history.loss) == len(history.lr) == 60


def test_stopping_and_resuming_gives_the_same_run(tmp_path):
    config = TrainConfig(steps=8, batch_size=4, warmup_steps=2, eval_every=3, eval_windows=8)
    data = pattern_data()
    straight = small_model()
    straight_history = train(straight, data, data, config, progress=False)

    def stop_at_step_5(info):
        if info.step == 5:
            raise KeyboardInterrupt  # the learner presses Jupyter's stop button

    interrupted = small_model()
    history = train(interrupted, data, data, config, callbacks=[stop_at_step_5], checkpoint=tmp_path / "run",
                    progress=False)
    assert history.interrupted and len(history.step) == 5
    assert load_checkpoint(tmp_path / "run").state["step"] == 3  # the last checkpoint is intact

    resumed = small_model(seed=1)  # a fresh kernel: different random weights, replaced by the checkpoint
    resumed_history = train(resumed, data, data, config, checkpoint=tmp_path / "run", resume=True, progress=False)
    for name, value in weights(straight).items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    assert resumed_history.loss == straight_history.loss
    assert resumed_history.val_loss == straight_history.val_loss
    assert load_checkpoint(tmp_path / "run").state["step"] == 8


def test_gradient_accumulation_equals_one_big_batch(monkeypatch):
    """Two micro-batches of 4 give the gradient (and the loss) of their 8 windows at once."""
    import llama_course.training.loop as train_module

    seen = []

    def recording_optimizer(model, config):
        optimizer = make_optimizer(model, config)
        step = optimizer.step
        optimizer.step = lambda: (seen.append([p.grad.clone() for p in model.parameters()]), step())
        return optimizer

    monkeypatch.setattr(train_module, "make_optimizer", recording_optimizer)
    data = pattern_data()
    config = TrainConfig(steps=1, batch_size=4, grad_accum=2, warmup_steps=0, grad_clip=1e9)
    history = train(small_model(), data, None, config, progress=False)
    big = small_model()
    xs, ys = zip(*(data.sample(4, seed=[0, 0, micro]) for micro in range(2)), strict=True)
    _, loss = big(torch.cat(xs), torch.cat(ys))
    loss.backward()
    assert history.loss[0] == pytest.approx(loss.item(), rel=1e-6)
    for accumulated, p in zip(seen[0], big.parameters(), strict=True):
        torch.testing.assert_close(accumulated, p.grad, rtol=1e-5, atol=1e-7)


def test_bf16_autocast_trains_on_cpu():
    model, data = small_model(), pattern_data()
    history = train(model, data, data, TrainConfig(steps=20, batch_size=8, warmup_steps=2, eval_every=0,
                                                   precision="bf16"), progress=False)
    assert model.tok_embeddings.weight.dtype == torch.float32  # the weights stay fp32; only the maths is bf16
    assert history.val_loss[-1] < math.log(32) - 0.5


def test_bad_config_gets_clear_errors():
    with pytest.raises(ValueError, match="warmup_steps"):
        TrainConfig(steps=10, warmup_steps=20)
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="fp8")


def test_resuming_a_different_model_is_refused(tmp_path):
    data = pattern_data()
    train(small_model(), data, data, TrainConfig(steps=2, batch_size=2, warmup_steps=0), checkpoint=tmp_path / "r",
          progress=False)
    torch.manual_seed(0)
    other = Llama(LlamaConfig(vocab_size=32, dim=64, n_layers=2, n_heads=4, max_seq_len=32))
    with pytest.raises(ValueError, match="different model config"):
        train(other, data, data, TrainConfig(steps=4, batch_size=2, warmup_steps=0), checkpoint=tmp_path / "r",
              resume=True, progress=False)


def pretrain(out, *options, processes=1):
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"]
    command = launcher if processes > 1 else [sys.executable]
    args = ["-m", "llama_course", "pretrain", "--stories", "40", "--dim", "32", "--layers", "2", "--context", "32",
            "--steps", "4", "--eval-every", "2", "--device", "cpu", "--out", str(out), *options]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command + args, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_torchrun_with_two_processes_matches_one_process_accumulating(tmp_path):
    """DDP averages the gradients of 2 processes' batches: the same step as one process with 2 micro-batches."""
    out = pretrain(tmp_path / "ddp", "--batch-size", "2", processes=2)
    assert out.count("validation loss") == 1  # only rank 0 reports
    pretrain(tmp_path / "single", "--batch-size", "2", "--grad-accum", "2")
    ddp, single = load_checkpoint(tmp_path / "ddp"), load_checkpoint(tmp_path / "single")
    assert ddp.state["history"]["tokens"] == single.state["history"]["tokens"] == 4 * 2 * 2 * 32
    for name, value in single.model.state_dict().items():
        torch.testing.assert_close(ddp.model.state_dict()[name], value, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ddp.state["history"]["loss"], single.state["history"]["loss"], rtol=1e-5)
