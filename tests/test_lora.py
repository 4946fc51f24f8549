"""LoRA from scratch: the update, merge/unmerge, freezing, adapters on their own, and clear errors."""

import pytest
import torch
from safetensors.torch import save_file

from llama_course.config import LlamaConfig
from llama_course.lora import (
    LoRALinear,
    apply_lora,
    count_trainable,
    linear_names,
    load_adapters,
    lora_layers,
    merge_lora,
    save_adapters,
    unmerge_lora,
)
from llama_course.model import Llama


def small_model(dim=32, seed=0):
    torch.manual_seed(seed)
    return Llama(LlamaConfig(vocab_size=50, dim=dim, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=16)).eval()


def randomize_adapters(model, seed=1):
    """Give B nonzero values (it starts at zero), so merging has something to merge."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in lora_layers(model).values():
            layer.lora_B.copy_(torch.randn(layer.lora_B.shape, generator=g) * 0.1)


TOKENS = torch.randint(0, 50, (2, 10), generator=torch.Generator().manual_seed(0))


def test_a_fresh_adapter_changes_nothing_and_the_update_is_low_rank():
    base = torch.nn.Linear(20, 12, bias=False)
    layer = LoRALinear(base, rank=3, alpha=6)
    x = torch.randn(4, 20)
    torch.testing.assert_close(layer(x), base(x))  # B = 0 at the start
    with torch.no_grad():
        layer.lora_B.normal_()
    expected = x @ (base.weight + 2.0 * layer.lora_B @ layer.lora_A).T  # scaling = alpha / rank = 2
    torch.testing.assert_close(layer(x), expected)
    assert torch.linalg.matrix_rank(layer.delta_weight()) == 3


def test_apply_lora_freezes_everything_but_the_adapters():
    model = small_model()
    wrapped = apply_lora(model, ("wq", "wv"), rank=4)
    assert wrapped == ["layers.0.attention.wq", "layers.0.attention.wv", "layers.1.attention.wq",
                       "layers.1.attention.wv"]
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {f"{w}.lora_{m}" for w in wrapped for m in "AB"}
    n_trainable, total = count_trainable(model)
    # wq: 32 -> 32 (4 heads x 8); wv: 32 -> 16 (2 kv heads x 8); rank 4: r * (in + out) each
    assert n_trainable == 2 * (4 * (32 + 32) + 4 * (32 + 16))
    assert total == small_model().num_params() + n_trainable


def test_merged_output_equals_unmerged_output_and_unmerge_restores_the_weights():
    model = small_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    apply_lora(model, ("wq", "wk", "wv", "wo", "w1", "w2", "w3"), rank=4, alpha=8)
    randomize_adapters(model)
    unmerged = model(TOKENS)
    assert not torch.allclose(unmerged, Llama.forward(small_model(), TOKENS))  # the adapters do something
    merge_lora(model)
    torch.testing.assert_close(model(TOKENS), unmerged, atol=1e-5, rtol=1e-5)
    unmerge_lora(model)
    torch.testing.assert_close(model(TOKENS), unmerged, atol=1e-5, rtol=1e-5)
    for name, layer in lora_layers(model).items():
        torch.testing.assert_close(layer.base.weight, before[f"{name}.weight"])


def test_merge_and_unload_gives_a_plain_model_with_the_same_logits():
    model = small_model()
    apply_lora(model, ("wq", "w2"), rank=2)
    randomize_adapters(model)
    expected = model(TOKENS)
    merge_lora(model, unload=True)
    assert not lora_layers(model)
    plain = small_model()
    plain.load_state_dict(model.state_dict())  # the same names as a model that never had LoRA
    torch.testing.assert_close(plain(TOKENS), expected, atol=1e-5, rtol=1e-5)


def test_only_the_adapters_learn():
    model = small_model()
    apply_lora(model, ("wq", "wv"), rank=4)
    frozen = {n: p.clone() for n, p in model.named_parameters() if not p.requires_grad}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        _, loss = model(TOKENS, TOKENS)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    for name, p in model.named_parameters():
        if name in frozen:
            assert torch.equal(p, frozen[name]), name
    assert all(layer.lora_B.abs().sum() > 0 for layer in lora_layers(model).values())


def test_adapters_save_and_load_on_their_own(tmp_path):
    model = small_model()
    apply_lora(model, ("wq", "wv"), rank=4, alpha=4)
    randomize_adapters(model)
    head = torch.randn(2, 32)
    path = save_adapters(model, tmp_path / "adapter.safetensors", extra={"score.weight": head})
    fresh = small_model()  # the same base weights, no adapters yet
    extra = load_adapters(fresh, path)
    torch.testing.assert_close(extra["score.weight"], head)
    torch.testing.assert_close(fresh(TOKENS), model(TOKENS))
    assert [layer.rank for layer in lora_layers(fresh).values()] == [4] * 4
    assert path.stat().st_size < 0.5 * sum(p.numel() * 4 for p in fresh.parameters())


def test_an_adapter_for_another_shape_is_refused(tmp_path):
    model = small_model(dim=32)
    apply_lora(model, ("wq",), rank=2)
    path = save_adapters(model, tmp_path / "a.safetensors")
    with pytest.raises(ValueError, match="another shape"):
        load_adapters(small_model(dim=64), path)
    other = tmp_path / "not-an-adapter.safetensors"
    save_file({"x": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="not a LoRA adapter"):
        load_adapters(small_model(), other)
    with pytest.raises(FileNotFoundError):
        load_adapters(small_model(), tmp_path / "missing.safetensors")


def test_bad_targets_and_settings_get_clear_errors():
    with pytest.raises(ValueError, match=r"end with \['output', 'w1', 'w2', 'w3', 'wk', 'wo', 'wq', 'wv'\]"):
        apply_lora(small_model(), ("q_proj",))
    with pytest.raises(ValueError, match="rank"):
        apply_lora(small_model(), ("wq",), rank=0)
    with pytest.raises(ValueError, match="alpha"):
        LoRALinear(torch.nn.Linear(4, 4), rank=2, alpha=0)
    model = small_model()
    apply_lora(model, ("wq",))
    with pytest.raises(ValueError, match="already has LoRA"):
        apply_lora(model, ("wv",))
    assert "layers.0.attention.wq" in linear_names(model)


def test_a_head_tied_to_the_embeddings_is_not_adapted():
    torch.manual_seed(0)
    model = Llama(LlamaConfig(vocab_size=50, dim=32, n_layers=1, n_heads=4, max_seq_len=16, tie_embeddings=True))
    with pytest.raises(ValueError, match=r"\['output'\] share their weight with the token embeddings"):
        apply_lora(model, ("wq", "output"))
    assert not lora_layers(model) and all(p.requires_grad for p in model.parameters())  # left as it was
