"""LlamaConfig: every hyper-parameter that fixes the shape of a LLaMA model, plus presets."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard, overload

# Upper limits far above any published LLaMA: they stop a crafted or mistyped config from allocating gigabytes
# (the RoPE tables grow with max_seq_len) or building modules for hours before anything else can go wrong.
LIMITS = {"vocab_size": 2**24, "dim": 2**16, "n_layers": 2**10, "n_heads": 2**10, "n_kv_heads": 2**10,
          "ffn_hidden": 2**20, "multiple_of": 2**16, "max_seq_len": 2**20, "original_max_seq_len": 2**20}


def is_whole(value: object) -> TypeGuard[int]:
    """An int and not a bool (Python counts ``True`` as the int 1; a setting given ``True`` is a mistake)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_real(value: object) -> TypeGuard[int | float]:
    """A finite int or float, and not a bool: NaN passes no comparison, so it would slip through range checks."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_int(name: str, value: object) -> None:
    """A whole number in [1, LIMITS[name]] (``True`` is not a number here)."""
    if not is_whole(value) or not 1 <= value <= LIMITS[name]:
        raise ValueError(f"{name} must be a positive integer (at most {LIMITS[name]:,}), got {value!r}")


def _check_positive(name: str, value: object) -> None:
    """A finite number > 0 (JSON's ``Infinity`` and ``NaN`` and strings are refused)."""
    if not is_real(value) or not value > 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True)
class RopeScaling:
    """LLaMA-3.1 style RoPE scaling: slow down the low frequencies to stretch the context.

    Wavelengths longer than ``original_max_seq_len / low_freq_factor`` are divided by ``factor``,
    shorter than ``original_max_seq_len / high_freq_factor`` are kept, and the band in between is
    blended smoothly (Meta's Llama 3.1 reference code; ``rope_type="llama3"`` in transformers).
    """

    factor: float = 8.0
    low_freq_factor: float = 1.0
    high_freq_factor: float = 4.0
    original_max_seq_len: int = 8192

    def __post_init__(self) -> None:
        for name in ("factor", "low_freq_factor", "high_freq_factor"):
            _check_positive(f"rope_scaling.{name}", getattr(self, name))
        _check_int("original_max_seq_len", self.original_max_seq_len)
        if self.factor < 1:
            raise ValueError(f"rope_scaling.factor must be >= 1, got {self.factor}")
        if not 0 < self.low_freq_factor < self.high_freq_factor:
            raise ValueError(
                "rope_scaling needs 0 < low_freq_factor < high_freq_factor, got "
                f"{self.low_freq_factor} and {self.high_freq_factor}"
            )


class _DefaultsToNHeads:
    """The ``n_kv_heads`` field: given as an int or None, always read back as an int.

    None means one key/value head per query head (plain multi-head attention), so reading gives ``n_heads``. The
    field's default is this descriptor (the dataclasses documentation's "descriptor-typed fields"): the generated
    ``__init__`` stores the given value through ``__set__`` and every read goes through ``__get__``, which lets a
    type checker know that ``config.n_kv_heads`` is an int although ``LlamaConfig(n_kv_heads=None)`` is allowed.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.stored = f"_{name}"

    @overload
    def __get__(self, config: None, owner: type) -> None: ...  # on the class: the field's default

    @overload
    def __get__(self, config: LlamaConfig, owner: type) -> int: ...

    def __get__(self, config: LlamaConfig | None, owner: type) -> int | None:
        if config is None:
            return None
        given: int | None = vars(config)[self.stored]
        return config.n_heads if given is None else given

    def __set__(self, config: LlamaConfig, value: int | None) -> None:
        object.__setattr__(config, self.stored, value)  # the instance is frozen: only __init__ gets here


@dataclass(frozen=True)
class LlamaConfig:
    """The hyper-parameters of a LLaMA model; validated on creation, convertible to JSON.

    ``ffn_hidden`` may be given directly; otherwise it follows Meta's rule: two thirds of
    ``4 * dim``, times ``ffn_dim_multiplier`` if set, rounded up to a multiple of ``multiple_of``.
    """

    vocab_size: int = 32000
    dim: int = 4096
    n_layers: int = 32
    n_heads: int = 32
    n_kv_heads: _DefaultsToNHeads = _DefaultsToNHeads()  # an int or None (as many as n_heads); read as an int
    ffn_hidden: int | None = None
    multiple_of: int = 256
    ffn_dim_multiplier: float | None = None
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    rope_scaling: RopeScaling | None = None
    max_seq_len: int = 4096
    tie_embeddings: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.rope_scaling, dict):
            object.__setattr__(self, "rope_scaling", RopeScaling(**self.rope_scaling))
        for name in ("vocab_size", "dim", "n_layers", "n_heads", "n_kv_heads", "multiple_of", "max_seq_len"):
            _check_int(name, getattr(self, name))
        if self.dim % self.n_heads:
            raise ValueError(f"dim ({self.dim}) must be divisible by n_heads ({self.n_heads})")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(
                f"n_heads ({self.n_heads}) must be divisible by n_kv_heads ({self.n_kv_heads}): "
                "each key/value head serves a whole group of query heads"
            )
        if self.head_dim % 2:
            raise ValueError(f"head_dim = dim / n_heads must be even for RoPE, got {self.head_dim}")
        if self.ffn_hidden is not None:
            _check_int("ffn_hidden", self.ffn_hidden)
        if self.ffn_dim_multiplier is not None:
            _check_positive("ffn_dim_multiplier", self.ffn_dim_multiplier)
        if self.hidden_dim > LIMITS["ffn_hidden"]:
            raise ValueError(f"the feed-forward width {self.hidden_dim:,} is over the limit of {LIMITS['ffn_hidden']:,}"
                             " (ffn_dim_multiplier too large?)")
        _check_positive("norm_eps", self.norm_eps)
        _check_positive("rope_theta", self.rope_theta)
        if not isinstance(self.tie_embeddings, bool):
            raise TypeError(f"tie_embeddings must be true or false, got {self.tie_embeddings!r}")
        if self.rope_scaling is not None and not isinstance(self.rope_scaling, RopeScaling):
            raise TypeError(f"rope_scaling must be a RopeScaling, a dict or None, got {self.rope_scaling!r}")

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.dim // self.n_heads

    @property
    def hidden_dim(self) -> int:
        """Width of the SwiGLU feed-forward layer (Meta's 8d/3 rule unless ``ffn_hidden`` is set)."""
        if self.ffn_hidden is not None:
            return self.ffn_hidden
        hidden = int(2 * (4 * self.dim) / 3)
        if self.ffn_dim_multiplier is not None:
            hidden = int(self.ffn_dim_multiplier * hidden)
        return self.multiple_of * -(-hidden // self.multiple_of)

    def replace(self, **changes: Any) -> LlamaConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of JSON-friendly values."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LlamaConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error, not silently dropped."""
        if not isinstance(data, dict):
            raise TypeError(f"expected a dict of config fields, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown LlamaConfig fields {unknown}; expected some of {sorted(known)}")
        return cls(**data)

    def to_json(self, path: str | Path | None = None) -> str:
        """The config as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> LlamaConfig:
        """Read a config from JSON text or from a ``.json`` file."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    @classmethod
    def preset(cls, name: str) -> LlamaConfig:
        """A named configuration: ``tiny`` (the course model) or a published LLaMA shape."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        return PRESETS[name]


# Published shapes from Meta's model cards and params.json files (Touvron et al. 2023a/b; Llama 3
# model card, 2024). Used for arithmetic only: building them needs tens of GB.
PRESETS: dict[str, LlamaConfig] = {
    "tiny": LlamaConfig(
        vocab_size=4096, dim=128, n_layers=4, n_heads=4, n_kv_heads=2,
        multiple_of=32, max_seq_len=256,
    ),
    "llama1-7b": LlamaConfig(vocab_size=32000, dim=4096, n_layers=32, n_heads=32, norm_eps=1e-6, max_seq_len=2048),
    "llama1-13b": LlamaConfig(vocab_size=32000, dim=5120, n_layers=40, n_heads=40, norm_eps=1e-6, max_seq_len=2048),
    "llama1-33b": LlamaConfig(vocab_size=32000, dim=6656, n_layers=60, n_heads=52, norm_eps=1e-6, max_seq_len=2048),
    "llama1-65b": LlamaConfig(vocab_size=32000, dim=8192, n_layers=80, n_heads=64, norm_eps=1e-6, max_seq_len=2048),
    "llama2-7b": LlamaConfig(vocab_size=32000, dim=4096, n_layers=32, n_heads=32, max_seq_len=4096),
    "llama2-13b": LlamaConfig(vocab_size=32000, dim=5120, n_layers=40, n_heads=40, max_seq_len=4096),
    "llama2-70b": LlamaConfig(
        vocab_size=32000, dim=8192, n_layers=80, n_heads=64, n_kv_heads=8,
        ffn_dim_multiplier=1.3, multiple_of=4096, max_seq_len=4096,
    ),
    "llama3-8b": LlamaConfig(
        vocab_size=128256, dim=4096, n_layers=32, n_heads=32, n_kv_heads=8,
        ffn_dim_multiplier=1.3, multiple_of=1024, rope_theta=500000.0, max_seq_len=8192,
    ),
    "llama3-70b": LlamaConfig(
        vocab_size=128256, dim=8192, n_layers=80, n_heads=64, n_kv_heads=8,
        ffn_dim_multiplier=1.3, multiple_of=4096, rope_theta=500000.0, max_seq_len=8192,
    ),
    "llama3.1-8b": LlamaConfig(
        vocab_size=128256, dim=4096, n_layers=32, n_heads=32, n_kv_heads=8,
        ffn_dim_multiplier=1.3, multiple_of=1024, rope_theta=500000.0, max_seq_len=131072,
        rope_scaling=RopeScaling(factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_seq_len=8192),
    ),
}
