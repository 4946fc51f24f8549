"""Conversion to and from Hugging Face ``transformers`` Llama: configs, weights and checkpoint folders.

Two differences need care. Names: ours follow Meta's reference code (``attention.wq``), Hugging
Face's its own (``self_attn.q_proj``). RoPE layout: we rotate adjacent pairs ``(x[2i], x[2i+1])`` as
the paper and Meta's code do; Hugging Face rotates ``(x[i], x[i + d/2])``, and its conversion script
permutes the rows of ``wq`` and ``wk`` so both give the same logits. We apply the same permutation.
Reading and writing checkpoint folders needs only ``safetensors``; ``transformers`` is needed only
to build a ``LlamaForCausalLM``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch

from .config import LlamaConfig, RopeScaling, is_whole
from .files import CourseError, atomic_write, read_json, read_safetensors, safetensors_shapes, write_safetensors
from .model import Llama, weight_shapes

if TYPE_CHECKING:
    from transformers import LlamaForCausalLM

# (our name, Hugging Face name), per layer and for the whole model
_LAYER_NAMES = [
    ("attention.wq.weight", "self_attn.q_proj.weight"),
    ("attention.wk.weight", "self_attn.k_proj.weight"),
    ("attention.wv.weight", "self_attn.v_proj.weight"),
    ("attention.wo.weight", "self_attn.o_proj.weight"),
    ("feed_forward.w1.weight", "mlp.gate_proj.weight"),
    ("feed_forward.w2.weight", "mlp.down_proj.weight"),
    ("feed_forward.w3.weight", "mlp.up_proj.weight"),
    ("attention_norm.weight", "input_layernorm.weight"),
    ("ffn_norm.weight", "post_attention_layernorm.weight"),
]
_MODEL_NAMES = [
    ("tok_embeddings.weight", "model.embed_tokens.weight"),
    ("norm.weight", "model.norm.weight"),
    ("output.weight", "lm_head.weight"),
]


def _name_pairs(config: LlamaConfig) -> list[tuple[str, str]]:
    pairs = [
        (f"layers.{i}.{ours}", f"model.layers.{i}.{theirs}")
        for i in range(config.n_layers)
        for ours, theirs in _LAYER_NAMES
    ]
    return pairs + _MODEL_NAMES


def pairs_to_halves(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Reorder each head's rows from interleaved pairs (0,1),(2,3).. to halves (0,d/2),(1,d/2+1).."""
    out_features, in_features = w.shape
    head_dim = out_features // n_heads
    return w.view(n_heads, head_dim // 2, 2, in_features).transpose(1, 2).reshape(out_features, in_features)


def halves_to_pairs(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Inverse of :func:`pairs_to_halves`."""
    out_features, in_features = w.shape
    head_dim = out_features // n_heads
    return w.view(n_heads, 2, head_dim // 2, in_features).transpose(1, 2).reshape(out_features, in_features)


def _rope_rows(name: str, w: torch.Tensor, config: LlamaConfig,
               reorder: Callable[[torch.Tensor, int], torch.Tensor]) -> torch.Tensor:
    """``w`` (our parameter ``name``) with its rows reordered between the RoPE layouts if it is a ``wq`` (per
    query head) or a ``wk`` (per key-value head); any other weight as it is."""
    if name.endswith("wq.weight"):
        w = reorder(w, config.n_heads)
    elif name.endswith("wk.weight"):
        w = reorder(w, config.n_kv_heads)
    return w.contiguous()


def state_dict_to_hf(state: dict[str, torch.Tensor], config: LlamaConfig) -> dict[str, torch.Tensor]:
    """Our weights under Hugging Face names, with ``wq``/``wk`` rows permuted to its RoPE layout."""
    return {theirs: _rope_rows(ours, state[ours], config, pairs_to_halves) for ours, theirs in _name_pairs(config)}


def state_dict_from_hf(state: dict[str, torch.Tensor], config: LlamaConfig) -> dict[str, torch.Tensor]:
    """Hugging Face Llama weights under our names and RoPE layout; a missing tensor is a clear error."""
    tied_head_omitted = "lm_head.weight" not in state and "model.embed_tokens.weight" in state
    if config.tie_embeddings and tied_head_omitted:  # tied checkpoints may store the matrix once
        state = {**state, "lm_head.weight": state["model.embed_tokens.weight"]}
    missing = [theirs for _, theirs in _name_pairs(config) if theirs not in state]
    if missing:
        raise ValueError(f"the checkpoint lacks {len(missing)} Llama weights, for example {missing[:3]}")
    return {ours: _rope_rows(ours, state[theirs], config, halves_to_pairs) for ours, theirs in _name_pairs(config)}


def config_to_hf(config: LlamaConfig) -> dict[str, Any]:
    """A Hugging Face ``config.json`` dict for this config (the legacy ``rope_theta`` and
    ``rope_scaling`` keys, which transformers 4.x and 5.x both read)."""
    scaling = config.rope_scaling
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": config.vocab_size,
        "hidden_size": config.dim,
        "intermediate_size": config.hidden_dim,
        "num_hidden_layers": config.n_layers,
        "num_attention_heads": config.n_heads,
        "num_key_value_heads": config.n_kv_heads,
        "head_dim": config.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": config.max_seq_len,
        "rms_norm_eps": config.norm_eps,
        "rope_theta": config.rope_theta,
        "rope_scaling": None if scaling is None else {
            "rope_type": "llama3",
            "factor": scaling.factor,
            "low_freq_factor": scaling.low_freq_factor,
            "high_freq_factor": scaling.high_freq_factor,
            "original_max_position_embeddings": scaling.original_max_seq_len,
        },
        "tie_word_embeddings": config.tie_embeddings,
        "attention_bias": False,
        "mlp_bias": False,
    }


def _need(fields: dict[str, Any], key: str, where: str = "the config") -> Any:
    if key not in fields:
        raise CourseError(f"{where} lacks {key!r}, which a Llama config needs")
    return fields[key]


def _as_float(value: Any) -> Any:
    """An int as a float (JSON writes 500000.0 as 500000); anything else as it is, for the config to judge."""
    return float(value) if is_whole(value) else value


def config_from_hf(hf: dict[str, Any] | Any) -> LlamaConfig:
    """Our config from a Hugging Face Llama config (a ``config.json`` dict or a ``LlamaConfig``)."""
    hf = hf if isinstance(hf, dict) else hf.to_dict()
    if hf.get("model_type", "llama") != "llama":
        raise ValueError(f"expected a Llama checkpoint (model_type 'llama'), got model_type {hf['model_type']!r}")
    for key in ("attention_bias", "mlp_bias"):
        if hf.get(key):
            raise ValueError(f"{key}=True is not LLaMA: the course model has no biases")
    if hf.get("hidden_act", "silu") != "silu":
        raise ValueError(f"expected hidden_act 'silu' (SwiGLU), got {hf['hidden_act']!r}")
    rope = dict(hf.get("rope_parameters") or hf.get("rope_scaling") or {})  # 5.x: rope_parameters
    rope_type = rope.get("rope_type", rope.get("type", "default"))
    if rope_type not in ("default", "llama3"):
        raise ValueError(f"RoPE type {rope_type!r} is not supported; expected 'default' or 'llama3'")
    scaling = None
    if rope_type == "llama3":
        scaling = RopeScaling(
            **{ours: _need(rope, theirs, "the llama3 rope_scaling") for ours, theirs in (
                ("factor", "factor"), ("low_freq_factor", "low_freq_factor"),
                ("high_freq_factor", "high_freq_factor"), ("original_max_seq_len", "original_max_position_embeddings"))}
        )
    n_heads = _need(hf, "num_attention_heads")
    config = LlamaConfig(
        vocab_size=_need(hf, "vocab_size"),
        dim=_need(hf, "hidden_size"),
        n_layers=_need(hf, "num_hidden_layers"),
        n_heads=n_heads,
        n_kv_heads=hf.get("num_key_value_heads") or n_heads,
        ffn_hidden=_need(hf, "intermediate_size"),
        norm_eps=hf.get("rms_norm_eps", 1e-6),
        rope_theta=_as_float(rope.get("rope_theta", hf.get("rope_theta", 10000.0))),
        rope_scaling=scaling,
        max_seq_len=hf.get("max_position_embeddings", 2048),
        tie_embeddings=hf.get("tie_word_embeddings", False),
    )
    if hf.get("head_dim") not in (None, config.head_dim):
        raise ValueError(f"head_dim {hf['head_dim']} != hidden_size / num_attention_heads; not supported")
    return config


def to_hf(model: Llama) -> LlamaForCausalLM:
    """A ``transformers.LlamaForCausalLM`` with this model's weights (same logits)."""
    try:
        import transformers
    except ImportError as e:
        raise ImportError("to_hf needs Hugging Face transformers: pip install 'llama-course[dev]'") from e
    hf_config = config_to_hf(model.config)
    hf_config.pop("architectures"), hf_config.pop("model_type")
    hf_model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**hf_config))
    weight = model.tok_embeddings.weight
    # PreTrainedModel.to is wrapped with functools.wraps, which mypy cannot bind as a method (it asks for self)
    hf_model.to(device=weight.device, dtype=weight.dtype)  # type: ignore[call-arg]
    hf_model.load_state_dict(state_dict_to_hf(model.state_dict(), model.config), strict=True)
    return hf_model.eval()


def from_hf(hf_model: LlamaForCausalLM) -> Llama:
    """Our ``Llama`` with the weights of a ``transformers.LlamaForCausalLM``."""
    config = config_from_hf(hf_model.config)
    weight = cast(torch.nn.Embedding, hf_model.get_input_embeddings()).weight  # typed as any Module
    model = Llama(config).to(device=weight.device, dtype=weight.dtype)
    model.load_state_dict(state_dict_from_hf(hf_model.state_dict(), config), strict=True)
    return model.eval()


def load_hf_checkpoint(
    path: str | Path, device: torch.device | str = "cpu", dtype: torch.dtype | None = None
) -> Llama:
    """Load a Hugging Face Llama folder (``config.json`` + ``*.safetensors``, sharded or not).

    ``dtype`` defaults to the checkpoint's own. No pickle is ever unpickled.
    """
    folder = Path(path)
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{folder} is not a Hugging Face checkpoint folder: no config.json in it")
    fields = read_json(config_file, "Hugging Face config")
    if not isinstance(fields, dict):
        raise CourseError(f"{config_file} should hold a JSON object of config fields, got {type(fields).__name__}")
    try:
        config = config_from_hf(fields)
    except (TypeError, ValueError) as e:
        raise CourseError(f"{config_file}: {e}") from None
    shards = _shard_names(folder)
    if not all((folder / s).is_file() for s in shards):
        raise FileNotFoundError(
            f"{folder} has no complete safetensors weights (looked for {shards}); "
            "pickled .bin checkpoints are not loaded, for safety: re-save them as safetensors"
        )
    _check_hf_shapes(folder, shards, config)
    hf_state: dict[str, torch.Tensor] = {}
    for shard in shards:
        hf_state.update(read_safetensors(folder / shard, device=str(device)))
    state = state_dict_from_hf(hf_state, config)
    dtype = dtype or state["tok_embeddings.weight"].dtype
    with torch.device("meta"):
        model = Llama(config)  # no memory and no random init for weights about to be replaced
    model.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=True, assign=True)
    if config.tie_embeddings:
        model.output.weight = model.tok_embeddings.weight  # assign=True gave each name its own tensor
    model.init_rope(device)
    return model.eval()


def _shard_names(folder: Path) -> list[str]:
    """The weight files of the folder: those its index names (plain file names in the folder only), or one."""
    index = folder / "model.safetensors.index.json"
    if not index.is_file():
        return ["model.safetensors"]
    weight_map = read_json(index, "safetensors index")
    weight_map = weight_map.get("weight_map") if isinstance(weight_map, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise CourseError(f"{index} should have a 'weight_map' from tensor names to file names")
    shards = sorted(set(weight_map.values()))
    outside = [s for s in shards if Path(s).name != s or s.startswith(".")]
    if outside:
        raise CourseError(f"{index} names weight files outside its folder ({outside[0]!r}): refused")
    return shards


def _check_hf_shapes(folder: Path, shards: list[str], config: LlamaConfig) -> None:
    """The shapes in the shards' headers against those ``config`` implies, before any tensor is read."""
    found: dict[str, tuple[int, ...]] = {}
    for shard in shards:
        found.update(safetensors_shapes(folder / shard))
    ours = weight_shapes(config)
    for name, theirs in _name_pairs(config):
        if name in ours and theirs in found and found[theirs] != ours[name]:
            raise CourseError(f"the weights in {folder} do not fit its config.json: {theirs} is {found[theirs]} "
                              f"in the file but {ours[name]} in the config")


def save_hf_checkpoint(model: Llama, path: str | Path) -> Path:
    """Write ``config.json`` + ``model.safetensors`` that ``LlamaForCausalLM.from_pretrained`` reads.

    Each file is written to a temporary name and then moved into place, so an interrupted save
    never leaves a half-written file behind.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    config = config_to_hf(model.config)
    config["torch_dtype"] = str(model.tok_embeddings.weight.dtype).removeprefix("torch.")
    state = {k: v.detach().cpu() for k, v in state_dict_to_hf(model.state_dict(), model.config).items()}
    if model.config.tie_embeddings:
        del state["lm_head.weight"]  # one tensor stored once, as transformers does
    atomic_write(folder / "model.safetensors", lambda tmp: write_safetensors(state, tmp, metadata={"format": "pt"}))
    atomic_write(folder / "config.json", lambda tmp: Path(tmp).write_text(json.dumps(config, indent=2) + "\n"))
    return folder
