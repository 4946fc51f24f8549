"""Training: the one training loop, checkpoints, callbacks to watch a run, and fine-tuning."""

from .checkpoint import course_model, load_checkpoint, save_checkpoint
from .loop import History, StepInfo, TrainConfig, evaluate, lr_at, make_optimizer, train

__all__ = [
    "History", "StepInfo", "TrainConfig", "course_model", "evaluate", "load_checkpoint", "lr_at", "make_optimizer",
    "save_checkpoint", "train",
]
