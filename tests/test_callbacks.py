"""Callbacks watch a run: samples and attention snapshots at chosen steps, a loss chart."""

import numpy as np
import pytest
import torch

from llama_course.config import LlamaConfig
from llama_course.data.batches import TokenDataset
from llama_course.data.tokenizer import CharTokenizer
from llama_course.model import Llama
from llama_course.training.loop import History, train
from llama_course.training.recipe import TrainConfig
from llama_course.viz import loss_curves, running_mean
from llama_course.viz.callbacks import AttentionSnapshots, LossPlot, Samples


def test_callbacks_act_on_their_steps():
    tokenizer = CharTokenizer.from_text("abcdefgh ")
    torch.manual_seed(0)
    model = Llama(LlamaConfig(vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=4, max_seq_len=32))
    data = TokenDataset(np.array(tokenizer.encode("abc defgh " * 100, bos=True)), context=16)
    samples = Samples(tokenizer, "abc", every=[1, 4], max_new_tokens=5)
    snapshots = AttentionSnapshots(tokenizer.encode("abc de", bos=True), every=2)
    plot = LossPlot(every=1)
    train(model, data, data, TrainConfig(steps=4, batch_size=2, warmup_steps=0, eval_every=2),
          callbacks=[samples, snapshots, plot], progress=False)
    assert [step for step, _ in samples.samples] == [1, 4]
    assert all(text.startswith("abc") for _, text in samples.samples)
    assert sorted(snapshots.snapshots) == [2, 4]
    maps = snapshots.snapshots[4]
    assert maps.shape == (2, 4, 7, 7)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 4, 7))
    assert torch.all(maps.triu(1) == 0)  # causal
    assert plot.handle is None  # no notebook here: the chart stays quiet
    with pytest.raises(ValueError, match="positive"):
        Samples(tokenizer, "a", every=0)


def test_running_mean_and_loss_curves():
    np.testing.assert_allclose(running_mean([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])
    history = History(step=[1, 2, 3], loss=[5.0, 4.0, 3.0], lr=[1, 1, 1], val_step=[3], val_loss=[3.5])
    fig = loss_curves(history, total_steps=10, vocab_size=100)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert "validation loss" in labels and "uniform guess, ln 100" in labels
    assert ax.get_xlim() == (0, 10)
