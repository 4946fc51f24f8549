"""Training and fine-tuning progress bars: a saved notebook shows each bar as it ended, not as it started."""

import nbformat
import pytest
from nbclient import NotebookClient

from llama_course.progress import progress_bar

RUN = """\
import torch
from llama_course.training import TrainConfig, train
from llama_course.training.loop import example_loss

model = torch.nn.Linear(2, 1)
def loss_of(net, rows):
    return net(torch.ones(len(rows), 2)).pow(2).mean(), len(rows)

config = TrainConfig(steps=3, warmup_steps=0, batch_size=2)
history = train(model, example_loss(4, config, loss_of), None, config, desc="fine-tuning")
"""


def bar_texts(notebook) -> list[str]:
    outputs = notebook.cells[0].outputs
    return [o.data["text/plain"] for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]


@pytest.mark.slow  # a subprocess or a kernel: seconds
def test_a_saved_notebook_shows_the_finished_bar():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(RUN)])
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    texts = bar_texts(notebook)
    assert len(texts) == 1  # one bar, updated in place (not a second copy)
    assert texts[0].startswith("fine-tuning: 100%") and "3/3" in texts[0], texts[0]


def test_outside_a_notebook_it_is_the_terminal_bar(capsys):
    for _ in progress_bar(range(3), desc="steps"):
        pass
    assert "steps: 100%" in capsys.readouterr().err
