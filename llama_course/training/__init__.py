"""Training: LLaMA's recipe, the one training loop (pretraining and fine-tuning), checkpoints, callbacks to watch
a run, classification and instruction tuning, and saved fine-tunes."""

from .checkpoint import course_model, load_checkpoint, save_checkpoint
from .loop import History, StepInfo, evaluate, train
from .recipe import TrainConfig, lr_at, make_optimizer

__all__ = [
    "History", "StepInfo", "TrainConfig", "course_model", "evaluate", "load_checkpoint", "lr_at", "make_optimizer",
    "save_checkpoint", "train",
]
