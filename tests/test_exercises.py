"""Each check passes the reference answer and fails wrong answers with a message that helps."""

import pytest
import torch
import torch.nn.functional as F

from llama_course import count_params
from llama_course.classroom import exercises
from llama_course.classroom.exercises import ExerciseError


def not_written(*args):
    raise NotImplementedError


def weight_memory_gb(n_params, dtype):
    sizes = {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1, "int4": 0.5}
    if dtype not in sizes:
        raise ValueError(dtype)
    return n_params * sizes[dtype] / 1e9


def test_checks_pass_on_the_reference(capsys):
    exercises.check_rms_norm(exercises.rms_norm_reference)
    exercises.check_swiglu(exercises.swiglu_reference)
    exercises.check_param_count(count_params)
    exercises.check_weight_memory(weight_memory_gb)
    assert capsys.readouterr().out.count("✓") == 4


@pytest.mark.parametrize("check", [exercises.check_rms_norm, exercises.check_swiglu, exercises.check_param_count,
                                   exercises.check_weight_memory])
def test_checks_fail_on_the_student_stub(check):
    with pytest.raises(ExerciseError, match="not written yet"):
        check(not_written)


def test_wrong_rms_norm_reports_first_mismatch():
    def layer_norm_instead(x, weight, eps):
        return F.layer_norm(x, x.shape[-1:], eps=eps) * weight

    with pytest.raises(ExerciseError, match=r"differs from the reference .* first at index \(0, 0\)"):
        exercises.check_rms_norm(layer_norm_instead)


def test_wrong_shape_is_named():
    with pytest.raises(ExerciseError, match=r"returned shape \(3,\); expected \(3, 8\)"):
        exercises.check_rms_norm(lambda x, w, eps: x.pow(2).mean(-1))


def test_swiglu_with_gate_and_up_swapped_fails():
    with pytest.raises(ExerciseError, match="differs from the reference"):
        exercises.check_swiglu(lambda x, w1, w2, w3: F.linear(F.silu(F.linear(x, w3)) * F.linear(x, w1), w2))


def test_param_count_off_by_the_final_norm():
    with pytest.raises(ExerciseError, match=r"off by -128"):
        exercises.check_param_count(lambda c: count_params(c) - c.dim)


def test_non_tensor_and_non_callable_answers():
    with pytest.raises(ExerciseError, match="should return a torch.Tensor, got list"):
        exercises.check_rms_norm(lambda x, w, eps: x.tolist())
    with pytest.raises(ExerciseError, match="expected a function"):
        exercises.check_swiglu(torch.zeros(3))


def test_weight_memory_must_reject_unknown_dtypes():
    lenient = {"float32": 4, "bfloat16": 2, "float16": 2, "int8": 1, "int4": 0.5}
    with pytest.raises(ExerciseError, match="expected a ValueError for an unknown dtype"):
        exercises.check_weight_memory(lambda n, dtype: n * lenient.get(dtype, 4) / 1e9)


def test_an_error_inside_the_learners_code_becomes_a_clear_message():
    def forgot_keepdim(x, weight, eps):
        return x * torch.rsqrt(x.pow(2).mean(-1) + eps) * weight

    with pytest.raises(ExerciseError, match=r"rms_norm\(tensor\(3, 8\), tensor\(8,\), 1e-05\) raised RuntimeError"):
        exercises.check_rms_norm(forgot_keepdim)


def test_bpe_checks():
    from llama_course.data.bpe import merge, pair_counts

    exercises.check_pair_counts(pair_counts)
    exercises.check_merge(merge)
    with pytest.raises(ExerciseError, match="not written yet"):
        exercises.check_merge(not_written)
    with pytest.raises(ExerciseError, match=r"count_pairs\(\[1, 1, 1\]\) is wrong for pair \(1, 1\)"):
        exercises.check_pair_counts(lambda ids: {p: 1 for p in zip(ids, ids[1:], strict=False)})

    def overlapping(ids, pair, new_id):  # merges "aaa" as a-a twice
        out = list(ids)
        for i in range(len(out) - 2, -1, -1):
            if (out[i], out[i + 1]) == pair:
                out[i : i + 2] = [new_id]
        return out

    wrong_merge = r"merge_pair\(\[1, 1, 1\], \(1, 1\), 99\) gave \[1, 99\]; expected \[99, 1\]"
    with pytest.raises(ExerciseError, match=wrong_merge):
        exercises.check_merge(overlapping)


def test_attention_checks():
    from llama_course.attention import attention

    exercises.check_softmax(lambda x: torch.softmax(x, -1))
    exercises.check_attention(lambda q, k, v, mask: attention(q, k, v, mask)[0])
    with pytest.raises(ExerciseError, match="got nan"):  # the naive softmax overflows on large inputs
        exercises.check_softmax(lambda x: x.exp() / x.exp().sum(-1, keepdim=True))

    def unscaled(q, k, v, mask):
        return torch.softmax((q @ k.transpose(-2, -1)).masked_fill(~mask, float("-inf")), -1) @ v

    with pytest.raises(ExerciseError, match="differs from the reference"):
        exercises.check_attention(unscaled)


def test_rope_and_multi_head_checks():
    from llama_course.rope import apply_rope

    exercises.check_rope(apply_rope)
    with pytest.raises(ExerciseError, match="differs from the reference"):  # rotating the wrong way
        exercises.check_rope(lambda x, cos, sin: apply_rope(x, cos, -sin))

    def mha(x, wq, wk, wv, wo, n_heads, causal=True):
        b, t, d = x.shape
        q, k, v = (F.linear(x, w).view(b, t, n_heads, d // n_heads).transpose(1, 2) for w in (wq, wk, wv))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return F.linear(out.transpose(1, 2).reshape(b, t, d), wo)

    exercises.check_multi_head_attention(mha)
    with pytest.raises(ExerciseError, match="differs from the reference"):
        exercises.check_multi_head_attention(lambda *args: mha(*args, causal=False))


def test_pretraining_checks():
    def loss(logits, targets):
        return -logits.log_softmax(-1).gather(-1, targets[..., None]).mean()

    def make_batch(stream, starts, context):
        x = torch.stack([stream[s : s + context] for s in starts])
        return x, torch.stack([stream[s + 1 : s + 1 + context] for s in starts])

    def lr_schedule(step, max_lr, warmup, total, ratio):
        import math

        if step < warmup:
            return max_lr * (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return max_lr * (ratio + (1 - ratio) * 0.5 * (1 + math.cos(math.pi * progress)))

    exercises.check_next_token_loss(loss)
    exercises.check_make_batch(make_batch)
    exercises.check_lr_schedule(lr_schedule)
    for check in (exercises.check_next_token_loss, exercises.check_make_batch, exercises.check_lr_schedule):
        with pytest.raises(ExerciseError, match="not written yet"):
            check(not_written)

    with pytest.raises(ExerciseError, match="differs"):  # summed, not averaged
        exercises.check_next_token_loss(lambda lg, t: -lg.log_softmax(-1).gather(-1, t[..., None]).sum())
    with pytest.raises(ExerciseError, match="targets row 0"):  # targets not shifted
        exercises.check_make_batch(lambda s, st, c: (make_batch(s, st, c)[0], make_batch(s, st, c)[0]))
    with pytest.raises(ExerciseError, match="step=0"):  # warmup that starts at zero
        exercises.check_lr_schedule(lambda s, m, w, t, r: m * s / w if s < w else lr_schedule(s, m, w, t, r))
    with pytest.raises(ExerciseError, match="expected"):  # decays to zero instead of the floor
        exercises.check_lr_schedule(lambda s, m, w, t, r: lr_schedule(s, m, w, t, 0.0))


def test_generation_checks():
    from llama_course.generate import generate

    def greedy(model, ids, n):
        ids = list(ids)
        for _ in range(n):
            ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
        return ids[-n:]

    def top_p(probs, p):
        sorted_probs, order = probs.sort(descending=True)
        keep = sorted_probs.cumsum(0) - sorted_probs < p
        kept = torch.zeros_like(probs).scatter(0, order, sorted_probs * keep)
        return kept / kept.sum()

    exercises.check_greedy_decode(greedy)
    exercises.check_top_p(top_p)
    exercises.check_kv_cache_bytes(lambda c, n, b: 2 * c.n_layers * c.n_kv_heads * c.head_dim * n * b)
    with pytest.raises(ExerciseError, match="expected"):  # sampling instead of greedy
        exercises.check_greedy_decode(lambda m, ids, n: generate(m, ids, n, temperature=1.0, seed=0))
    with pytest.raises(ExerciseError, match="differs"):  # keeps the token that crosses p out
        exercises.check_top_p(lambda probs, p: top_p(probs, p - 0.05) if p < 1 else probs)
    with pytest.raises(ExerciseError, match="kv_cache_bytes\\(tiny"):  # n_heads instead of n_kv_heads
        exercises.check_kv_cache_bytes(lambda c, n, b: 2 * c.n_layers * c.n_heads * c.head_dim * n * b)


def test_beyond_the_laptop_checks(capsys):
    from llama_course.hf import halves_to_pairs, pairs_to_halves

    def permute_for_hf(w, n_heads):
        rows = w.view(n_heads, -1, 2, w.size(-1))  # (head, pair, 2, in)
        return rows.transpose(1, 2).reshape(w.shape)

    def gpu_hours(n_params, n_tokens, peak_flops, utilisation):
        return 6 * n_params * n_tokens / (peak_flops * utilisation) / 3600

    def memory(n_params, n_gpus, sharding):
        whole, split = {"none": (16, 0), "optimizer": (4, 12), "gradients": (2, 14), "full": (0, 16)}[sharding]
        return n_params * (whole + split / n_gpus) / 1e9

    exercises.check_rope_permutation(permute_for_hf)
    exercises.check_training_gpu_hours(gpu_hours)
    with pytest.raises(ExerciseError, match="unknown sharding"):  # a KeyError is not the ValueError asked for
        exercises.check_training_memory_per_gpu(memory)

    def memory_checked(n_params, n_gpus, sharding):
        if sharding not in ("none", "optimizer", "gradients", "full"):
            raise ValueError(sharding)
        return memory(n_params, n_gpus, sharding)

    exercises.check_training_memory_per_gpu(memory_checked)
    assert capsys.readouterr().out.count("✓") == 3

    for check in (exercises.check_rope_permutation, exercises.check_training_gpu_hours,
                  exercises.check_training_memory_per_gpu):
        with pytest.raises(ExerciseError, match="not written yet"):
            check(not_written)
    with pytest.raises(ExerciseError, match="unchanged"):
        exercises.check_rope_permutation(lambda w, n: w)
    with pytest.raises(ExerciseError, match="inverse permutation"):
        exercises.check_rope_permutation(halves_to_pairs)
    with pytest.raises(ExerciseError, match="each head"):
        exercises.check_rope_permutation(lambda w, n: pairs_to_halves(w, 1))
    with pytest.raises(ExerciseError, match="GPU-seconds"):
        exercises.check_training_gpu_hours(lambda n, d, p, u: 6 * n * d / (p * u))
    with pytest.raises(ExerciseError, match="forward pass only"):
        exercises.check_training_gpu_hours(lambda n, d, p, u: 2 * n * d / (p * u) / 3600)
    with pytest.raises(ExerciseError, match="utilisation"):
        exercises.check_training_gpu_hours(lambda n, d, p, u: 6 * n * d / p / 3600)
    with pytest.raises(ExerciseError, match="'none'.*all 16 bytes"):  # divides even without sharding
        exercises.check_training_memory_per_gpu(lambda n, g, s: 16 * n / g / 1e9)
    with pytest.raises(ExerciseError, match="'optimizer'.*1/8 of the other 12"):  # never divides
        exercises.check_training_memory_per_gpu(lambda n, g, s: memory_checked(n, 1, s))


def test_finetuning_checks(capsys):
    from llama_course.lora import apply_lora, count_trainable
    from llama_course.model import Llama

    def chat_targets(prompt, answer):
        ids = list(prompt) + list(answer)
        return ids[:-1], [-100] * (len(prompt) - 1) + list(answer)

    def lora_params(config, targets, rank):  # counted from a real model, so it is right by construction
        with torch.device("meta"):
            model = Llama(config)
        apply_lora(model, tuple(targets), rank=rank)
        return count_trainable(model)[0]

    exercises.check_chat_targets(chat_targets)
    exercises.check_lora_forward(exercises.lora_forward_reference)
    exercises.check_lora_params(lora_params)
    assert capsys.readouterr().out.count("✓") == 3

    with pytest.raises(ExerciseError, match=r"targets\[\d+\] is \d+; expected -100 \(a prompt position"):
        exercises.check_chat_targets(lambda p, a: (list(p + a)[:-1], list(p + a)[1:]))  # nothing masked
    with pytest.raises(ExerciseError, match=r"inputs has 4 ids; expected 3 \(one per position but the last\)"):
        exercises.check_chat_targets(lambda p, a: (p + a, p + a))
    with pytest.raises(ExerciseError, match="differs from the reference"):  # forgot the alpha / rank scale
        exercises.check_lora_forward(lambda x, w, a, b, alpha: x @ w.T + x @ a.T @ b.T)
    with pytest.raises(ExerciseError, match=r"targets=\['wq', 'wv'\], rank=8\) gave 16384; expected 14,336"):
        exercises.check_lora_params(lambda c, t, r: c.n_layers * len(t) * r * 2 * c.dim)  # ignores GQA's smaller wv
    with pytest.raises(ExerciseError, match="not written yet"):
        exercises.check_lora_params(not_written)
