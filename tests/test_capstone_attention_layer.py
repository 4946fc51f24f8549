"""check_attention_layer (notebook 03's capstone): it passes the package's layout, says "not written yet" for the
stub, names the usual mistake when the learner's output equals it, and explains a layer whose parameters differ."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from llama_course.attention import Attention
from llama_course.classroom import exercises
from llama_course.classroom.exercises import ExerciseError
from llama_course.config import LlamaConfig
from llama_course.rope import apply_rope


def rotate_half_rope(x, cos, sin):
    """RoPE as Hugging Face's Llama writes it: pairs (i, i + d/2), rotate_half."""
    cos, sin = torch.cat((cos, cos), dim=-1), torch.cat((sin, sin), dim=-1)
    first, second = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-second, first), dim=-1) * sin


def layer_class(pairing="interleave", rope=True, rotate_values=False, causal=True, scale="head_dim", out=True,
                split="transpose", join="transpose", rope_fn=apply_rope):
    """A learner's attention layer, right by default, with one switch per usual mistake."""

    class MyAttention(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.n_heads, self.n_kv_heads, self.head_dim = config.n_heads, config.n_kv_heads, config.head_dim
            self.wq = nn.Linear(config.dim, config.n_heads * config.head_dim, bias=False)
            self.wk = nn.Linear(config.dim, config.n_kv_heads * config.head_dim, bias=False)
            self.wv = nn.Linear(config.dim, config.n_kv_heads * config.head_dim, bias=False)
            self.wo = nn.Linear(config.n_heads * config.head_dim, config.dim, bias=False)

        def forward(self, x, cos, sin):
            batch, seq, dim = x.shape
            if split == "transpose":
                q = self.wq(x).view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
                k = self.wk(x).view(batch, seq, self.n_kv_heads, self.head_dim).transpose(1, 2)
                v = self.wv(x).view(batch, seq, self.n_kv_heads, self.head_dim).transpose(1, 2)
            else:  # straight to (batch, heads, seq, head_dim)
                q = self.wq(x).view(batch, self.n_heads, seq, self.head_dim)
                k = self.wk(x).view(batch, self.n_kv_heads, seq, self.head_dim)
                v = self.wv(x).view(batch, self.n_kv_heads, seq, self.head_dim)
            if rope:
                q, k = rope_fn(q, cos, sin), rope_fn(k, cos, sin)
            if rotate_values:
                v = rope_fn(v, cos, sin)
            n_rep = self.n_heads // self.n_kv_heads
            if pairing == "interleave":
                k, v = k.repeat_interleave(n_rep, dim=1), v.repeat_interleave(n_rep, dim=1)
            else:
                k, v = k.repeat(1, n_rep, 1, 1), v.repeat(1, n_rep, 1, 1)
            s = {"head_dim": 1 / math.sqrt(self.head_dim), "none": 1.0, "dim": 1 / math.sqrt(dim)}[scale]
            heads = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=s)
            joined = (heads.transpose(1, 2) if join == "transpose" else heads).reshape(batch, seq, -1)
            return self.wo(joined) if out else joined

    return MyAttention


def test_the_package_layout_passes_and_the_global_random_state_is_untouched(capsys):
    torch.manual_seed(3)
    before = torch.get_rng_state()
    exercises.check_attention_layer(layer_class())
    exercises.check_attention_layer(Attention)  # the package's own layer, of course
    assert torch.equal(torch.get_rng_state(), before)
    out = capsys.readouterr().out
    assert out.count("✓") == 2 and "multi-query" in out and "grouped-query" in out


def test_enable_gqa_passes_too():
    class Fused(layer_class()):
        def forward(self, x, cos, sin):
            batch, seq, _ = x.shape
            q = apply_rope(self.wq(x).view(batch, seq, self.n_heads, -1).transpose(1, 2), cos, sin)
            k = apply_rope(self.wk(x).view(batch, seq, self.n_kv_heads, -1).transpose(1, 2), cos, sin)
            v = self.wv(x).view(batch, seq, self.n_kv_heads, -1).transpose(1, 2)
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            return self.wo(out.transpose(1, 2).reshape(batch, seq, -1))

    exercises.check_attention_layer(Fused)


def test_the_stub_is_not_written_yet():
    class Stub(layer_class()):
        def forward(self, x, cos, sin):
            raise NotImplementedError  # your code here

    with pytest.raises(ExerciseError, match=r"Stub.forward on a multi-head \(4 heads\) layer is not written yet"):
        exercises.check_attention_layer(Stub)


@pytest.mark.parametrize("mistake, message", [
    (dict(pairing="repeat"), r"grouped-query \(8 heads, 2 kv heads\).*h // 4.*k\.repeat\(1, 4, 1, 1\).*h % 2"),
    (dict(rope=False), "without RoPE"),
    (dict(rotate_values=True), "v rotated too"),
    (dict(causal=False), "without the causal mask"),
    (dict(scale="none"), "without the scale"),
    (dict(scale="dim"), r"divided by sqrt\(dim\)"),
    (dict(out=False), "before the output projection"),
    (dict(split="view"), r"multi-head \(4 heads\).*viewed the projections straight to \(batch, heads, seq, "
                         r"head_dim\).*then \.transpose\(1, 2\)"),
    (dict(join="reshape"), r"reshaped the heads' output .* straight to \(batch, seq, dim\).*transpose back first"),
    (dict(rope_fn=rotate_half_rope), r"rotated pairs \(i, i \+ d_h/2\) as Hugging Face's rotate_half does.*"
                                      r"neighbouring pairs \(2i, 2i\+1\): use apply_rope"),
])
def test_each_usual_mistake_is_named(mistake, message):
    with pytest.raises(ExerciseError, match=message):
        exercises.check_attention_layer(layer_class(**mistake))


def test_two_mistakes_at_once_get_the_first_mismatch():
    with pytest.raises(ExerciseError, match=r"on a multi-head \(4 heads\) layer: .*differs from the reference at"):
        exercises.check_attention_layer(layer_class(rope=False, causal=False))


def test_other_parameter_names_or_shapes_are_explained():
    class Fused(nn.Module):  # one wqkv matrix: a fine design, but the package's state dict does not load into it
        def __init__(self, config):
            super().__init__()
            self.wqkv = nn.Linear(config.dim, 3 * config.dim, bias=False)
            self.wo = nn.Linear(config.dim, config.dim, bias=True)

    with pytest.raises(ExerciseError, match=r"missing wq\.weight.*unexpected wqkv\.weight.*unexpected wo\.bias"):
        exercises.check_attention_layer(Fused)

    class AllHeads(layer_class()):  # keys and values for every query head: GQA forgotten in __init__
        def __init__(self, config):
            super().__init__(config.replace(n_kv_heads=config.n_heads))

    with pytest.raises(ExerciseError, match=r"wk\.weight has shape \(64, 64\), expected \(16, 64\)"):
        exercises.check_attention_layer(AllHeads)


def test_not_a_module_and_a_crash_are_reported():
    with pytest.raises(ExerciseError, match="should build a torch.nn.Module, got dict"):
        exercises.check_attention_layer(lambda config: {})

    class Crashes(layer_class()):
        def forward(self, x, cos, sin):
            return x.view(-1, 3, 5)

    with pytest.raises(ExerciseError, match=r"Crashes.forward on a multi-head \(4 heads\) layer\(tensor\(2, 8, 32\)"
                                            r".*raised RuntimeError") as crash:
        exercises.check_attention_layer(Crashes)
    assert "enable_gqa" not in str(crash.value)  # a multi-head layer: nothing to share out


def test_a_crash_from_unshared_kv_heads_says_which_case_and_what_to_do():
    class NoSharing(layer_class()):  # step 3 forgotten: 8 query heads against 2 key heads
        def forward(self, x, cos, sin):
            batch, seq, _ = x.shape
            q = apply_rope(self.wq(x).view(batch, seq, self.n_heads, -1).transpose(1, 2), cos, sin)
            k = apply_rope(self.wk(x).view(batch, seq, self.n_kv_heads, -1).transpose(1, 2), cos, sin)
            v = self.wv(x).view(batch, seq, self.n_kv_heads, -1).transpose(1, 2)
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # without enable_gqa=True
            return self.wo(out.transpose(1, 2).reshape(batch, seq, -1))

    with pytest.raises(ExerciseError, match=r"NoSharing.forward on a grouped-query \(8 heads, 2 kv heads\) layer"
                                            r".*raised RuntimeError.*; keys and values have n_kv_heads heads: give "
                                            r"each to its group \(step 3\), or pass enable_gqa=True") as crash:
        exercises.check_attention_layer(NoSharing)
    assert isinstance(crash.value.__cause__, RuntimeError)  # the learner's traceback stays attached


def test_the_cases_cover_a_seq_shorter_than_the_tables_and_llama3_theta():
    from llama_course.classroom.exercises.attention import LAYER_CASES

    configs = [c for _, c, _, _ in LAYER_CASES]
    assert {c.n_kv_heads == c.n_heads for c in configs} == {True, False}
    assert any(c.n_kv_heads == 1 for c in configs) and any(c.rope_theta == 500000.0 for c in configs)
    assert any(seq < c.max_seq_len for _, c, _, seq in LAYER_CASES)
    assert isinstance(configs[0], LlamaConfig)
