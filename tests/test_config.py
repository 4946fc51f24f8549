import json

import pytest

from llama_course import PRESETS, LlamaConfig, RopeScaling, count_params


def test_dict_and_json_round_trip(tmp_path):
    config = LlamaConfig(vocab_size=300, dim=48, n_layers=2, n_heads=6, n_kv_heads=2, max_seq_len=32,
                         rope_scaling=RopeScaling(factor=4.0, original_max_seq_len=16))
    assert LlamaConfig.from_dict(config.to_dict()) == config
    assert LlamaConfig.from_json(config.to_json()) == config
    path = tmp_path / "config.json"
    config.to_json(path)
    assert LlamaConfig.from_json(path) == config
    assert json.loads(path.read_text())["rope_scaling"]["factor"] == 4.0


def test_kv_heads_default_to_heads():
    assert LlamaConfig(dim=64, n_heads=4, vocab_size=10, n_layers=1).n_kv_heads == 4


@pytest.mark.parametrize("changes, words", [
    (dict(dim=100, n_heads=3), "divisible by n_heads"),
    (dict(n_heads=8, n_kv_heads=3, dim=64), "divisible by n_kv_heads"),
    (dict(n_layers=0), "n_layers must be a positive integer"),
    (dict(vocab_size=-5), "vocab_size must be a positive integer"),
    (dict(dim=12, n_heads=4), "head_dim"),
    (dict(norm_eps=0.0), "norm_eps"),
    (dict(rope_theta=-1.0), "rope_theta"),
    (dict(max_seq_len=2.5), "max_seq_len"),
])
def test_invalid_configs_say_what_is_wrong(changes, words):
    with pytest.raises(ValueError, match=words):
        LlamaConfig(**{**dict(vocab_size=10, dim=64, n_layers=1, n_heads=4), **changes})


def test_unknown_fields_and_presets_are_errors():
    with pytest.raises(ValueError, match="unknown LlamaConfig fields.*hidden_size"):
        LlamaConfig.from_dict({"hidden_size": 10})
    with pytest.raises(ValueError, match="unknown preset 'llama9'"):
        LlamaConfig.preset("llama9")
    with pytest.raises(ValueError, match="low_freq_factor < high_freq_factor"):
        RopeScaling(low_freq_factor=4.0, high_freq_factor=1.0)


@pytest.mark.parametrize("name, hidden", [
    ("llama1-33b", 17920), ("llama1-65b", 22016),
    ("llama2-7b", 11008), ("llama2-13b", 13824), ("llama2-70b", 28672), ("llama3-8b", 14336), ("llama3-70b", 28672),
])
def test_ffn_rule_gives_published_hidden_sizes(name, hidden):
    assert PRESETS[name].hidden_dim == hidden


@pytest.mark.parametrize("name, billions", [
    # Published totals: LLaMA paper table 2 (6.7B, 13.0B, 32.5B, 65.2B); Llama 2 model cards (6.74B, 13.02B,
    # 68.98B); Llama 3 (8.03B, 70.55B)
    ("llama1-7b", 6.738), ("llama1-33b", 32.529), ("llama1-65b", 65.286),
    ("llama2-7b", 6.738), ("llama2-13b", 13.016), ("llama2-70b", 68.977), ("llama3-8b", 8.030), ("llama3-70b", 70.554),
])
def test_parameter_counts_match_published(name, billions):
    assert count_params(PRESETS[name]) / 1e9 == pytest.approx(billions, abs=0.001)


def test_llama3_presets_use_gqa_and_large_theta():
    for name in ("llama3-8b", "llama3-70b"):
        config = PRESETS[name]
        assert config.n_kv_heads == 8 < config.n_heads
        assert config.rope_theta == 500000.0
        assert config.vocab_size == 128256
