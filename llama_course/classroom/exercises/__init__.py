"""Checks for the notebooks' exercises: the learner's function against the reference on random inputs.

Each ``check_*`` prints one line when the function is right, and raises :class:`ExerciseError`
with the first thing that is wrong (a shape, a dtype, the first mismatching value) when it is not.
"""

from .alignment import check_dpo_loss, check_interpolated_angles, dpo_loss_reference
from .attention import (
    check_attention,
    check_attention_layer,
    check_causal_attention,
    check_multi_head_attention,
    check_rope,
    check_softmax,
)
from .base import ExerciseError, compare
from .beyond import (
    SHARDING_BYTES,
    check_rope_permutation,
    check_training_gpu_hours,
    check_training_memory_per_gpu,
    training_gpu_hours_reference,
    training_memory_per_gpu_gb_reference,
)
from .block import (
    check_block,
    check_llama,
    check_param_count,
    check_rms_norm,
    check_swiglu,
    rms_norm_reference,
    swiglu_reference,
)
from .evaluation import check_choice_logprob, check_chrf
from .finetuning import check_chat_targets, check_lora_forward, check_lora_params, lora_forward_reference
from .generation import check_cached_greedy_decode, check_greedy_decode, check_kv_cache_bytes, check_top_p
from .pretraining import check_lr_schedule, check_make_batch, check_next_token_loss
from .tokenization import check_encode_chunk, check_merge, check_pair_counts
from .welcome import check_weight_memory

__all__ = [
    "ExerciseError",
    "compare",
    "SHARDING_BYTES",
    "check_attention",
    "check_attention_layer",
    "check_block",
    "check_cached_greedy_decode",
    "check_causal_attention",
    "check_choice_logprob",
    "check_chrf",
    "check_chat_targets",
    "check_dpo_loss",
    "check_encode_chunk",
    "check_greedy_decode",
    "check_interpolated_angles",
    "check_kv_cache_bytes",
    "check_llama",
    "check_lora_forward",
    "check_lora_params",
    "check_lr_schedule",
    "check_make_batch",
    "check_merge",
    "check_multi_head_attention",
    "check_next_token_loss",
    "check_pair_counts",
    "check_param_count",
    "check_rms_norm",
    "check_rope",
    "check_rope_permutation",
    "check_softmax",
    "check_swiglu",
    "check_top_p",
    "check_training_gpu_hours",
    "check_training_memory_per_gpu",
    "check_weight_memory",
    "dpo_loss_reference",
    "lora_forward_reference",
    "rms_norm_reference",
    "swiglu_reference",
    "training_gpu_hours_reference",
    "training_memory_per_gpu_gb_reference",
]
