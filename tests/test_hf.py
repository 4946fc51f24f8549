"""Parity with Hugging Face transformers' Llama: the evidence that our model *is* LLaMA."""

import json

import pytest
import torch
import transformers  # a test dependency (the dev extra): parity is the point, so it is never skipped

from llama_course import Llama, LlamaConfig, RopeScaling
from llama_course.hf import config_from_hf, config_to_hf, from_hf, load_hf_checkpoint, save_hf_checkpoint, to_hf

ATOL = 1e-5

CASES = {
    "multi-head": dict(num_key_value_heads=4),
    "gqa-tied": dict(num_key_value_heads=2, tie_word_embeddings=True),
    "mqa-theta": dict(num_key_value_heads=1, rope_theta=500000.0),
    "llama3-scaling": dict(num_key_value_heads=2, rope_theta=500000.0, rope_scaling={
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 16}),
}


def random_hf_llama(seed=0, **changes):
    """A small random LlamaForCausalLM, weights scaled up so the logits are far from zero."""
    torch.manual_seed(seed)
    kwargs = dict(vocab_size=151, hidden_size=64, intermediate_size=176, num_hidden_layers=3, num_attention_heads=4,
                  max_position_embeddings=64, rms_norm_eps=1e-5, initializer_range=0.08)
    config = transformers.LlamaConfig(**{**kwargs, **changes})
    return transformers.LlamaForCausalLM(config).eval()


def tokens(batch=2, seq=64, seed=1):
    return torch.randint(0, 151, (batch, seq), generator=torch.Generator().manual_seed(seed))


def assert_same_logits(ours, theirs, x):
    with torch.no_grad():
        a, b = ours(x), theirs(x).logits
    assert b.abs().max() > 1.0, "logits this small would make the comparison meaningless"
    torch.testing.assert_close(a, b, atol=ATOL, rtol=0)


@pytest.mark.parametrize("case", CASES)
def test_hf_model_converted_to_ours_gives_same_logits(case):
    theirs = random_hf_llama(**CASES[case])
    ours = from_hf(theirs)
    assert ours.num_params() == sum(p.numel() for p in theirs.parameters())
    assert_same_logits(ours, theirs, tokens())


@pytest.mark.parametrize("case", CASES)
def test_our_model_converted_to_hf_gives_same_logits(case):
    config = config_from_hf(random_hf_llama(**CASES[case]).config)
    torch.manual_seed(2)
    ours = Llama(config).eval()
    ours.reset_parameters(std=0.08)
    assert_same_logits(ours, to_hf(ours), tokens())


@pytest.mark.parametrize("case", CASES)
def test_save_pretrained_folder_loads_into_ours(case, tmp_path):
    theirs = random_hf_llama(**CASES[case])
    theirs.save_pretrained(tmp_path)
    ours = load_hf_checkpoint(tmp_path)
    assert_same_logits(ours, theirs, tokens())
    assert (ours.output.weight is ours.tok_embeddings.weight) == ours.config.tie_embeddings


def test_sharded_checkpoint_loads(tmp_path):
    theirs = random_hf_llama()
    theirs.save_pretrained(tmp_path, max_shard_size="100KB")
    assert (tmp_path / "model.safetensors.index.json").exists()
    assert_same_logits(load_hf_checkpoint(tmp_path), theirs, tokens())


@pytest.mark.parametrize("case", CASES)
def test_our_checkpoint_folder_loads_in_transformers(case, tmp_path):
    ours = from_hf(random_hf_llama(**CASES[case]))
    save_hf_checkpoint(ours, tmp_path)
    assert not list(tmp_path.glob(".*tmp")), "no temporary files left behind"
    theirs = transformers.LlamaForCausalLM.from_pretrained(tmp_path).eval()
    assert_same_logits(ours, theirs, tokens())


def test_loss_matches_hf_labels():
    theirs = random_hf_llama()
    ours = from_hf(theirs)
    x = tokens()
    targets = torch.cat([x[:, 1:], torch.full((2, 1), -100)], dim=1)  # HF shifts labels inside
    with torch.no_grad():
        _, loss = ours(x, targets)
        torch.testing.assert_close(loss, theirs(x, labels=x).loss, atol=ATOL, rtol=0)


def test_bfloat16_checkpoint_keeps_its_dtype(tmp_path):
    random_hf_llama().to(torch.bfloat16).save_pretrained(tmp_path)
    assert load_hf_checkpoint(tmp_path).tok_embeddings.weight.dtype == torch.bfloat16
    assert load_hf_checkpoint(tmp_path, dtype=torch.float32).norm.weight.dtype == torch.float32


def test_config_round_trip():
    config = LlamaConfig(vocab_size=300, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_hidden=100,
                         rope_theta=500000.0, rope_scaling=RopeScaling(factor=8.0, original_max_seq_len=32),
                         max_seq_len=128, tie_embeddings=True, norm_eps=1e-6)
    assert config_from_hf(config_to_hf(config)) == config
    assert config_from_hf(transformers.LlamaConfig(**{
        k: v for k, v in config_to_hf(config).items() if k not in ("architectures", "model_type")
    })) == config


def test_bad_checkpoints_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_hf_checkpoint(tmp_path)
    random_hf_llama().save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no complete safetensors"):
        load_hf_checkpoint(tmp_path)
    hf_config = json.loads((tmp_path / "config.json").read_text())
    with pytest.raises(ValueError, match="model_type 'gpt2'"):
        config_from_hf({**hf_config, "model_type": "gpt2"})
    with pytest.raises(ValueError, match="no biases"):
        config_from_hf({**hf_config, "attention_bias": True})
    legacy = {k: v for k, v in hf_config.items() if k != "rope_parameters"}  # transformers 4.x layout
    for rope in ({"rope_scaling": {"type": "yarn", "factor": 2.0}}, {"rope_parameters": {"rope_type": "yarn"}}):
        with pytest.raises(ValueError, match="RoPE type 'yarn'"):
            config_from_hf({**legacy, **rope})
