"""GGUF: the single-file format of llama.cpp and Ollama, written with the maintained ``gguf`` package.

A GGUF file is a header of typed key-value pairs (the architecture's hyper-parameters, the tokenizer's pieces,
scores and token types, the chat template) followed by the tensors, each in its own type: F32, F16, or a
block-quantized type such as Q8_0 (blocks of 32 int8 values with one float16 scale; ggml's format, described
in the ``gguf`` package and in llama.cpp's ``docs``). Our parameter names map one to one onto llama.cpp's
(``attention.wq`` is ``attn_q``...), and our ``wq``/``wk`` rows are already in Meta's pair-wise RoPE layout,
which is the one llama.cpp's ``llama`` architecture uses: no permutation is needed (unlike for Hugging Face).
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import sentencepiece as spm
import torch

from ..config import LlamaConfig
from ..data.tokenizer import CHAT_TOKENS, Tokenizer
from ..files import CourseError, atomic_write
from ..model import Llama

TYPES = {"f32": gguf.GGMLQuantizationType.F32, "f16": gguf.GGMLQuantizationType.F16,
         "q8_0": gguf.GGMLQuantizationType.Q8_0}
FILE_TYPES = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
              "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}

# ours -> llama.cpp's, per layer (gguf.TENSOR_NAMES spells the same names for the "llama" architecture)
LAYER_NAMES = {
    "attention_norm.weight": "attn_norm.weight", "attention.wq.weight": "attn_q.weight",
    "attention.wk.weight": "attn_k.weight", "attention.wv.weight": "attn_v.weight",
    "attention.wo.weight": "attn_output.weight", "ffn_norm.weight": "ffn_norm.weight",
    "feed_forward.w1.weight": "ffn_gate.weight", "feed_forward.w3.weight": "ffn_up.weight",
    "feed_forward.w2.weight": "ffn_down.weight",
}
TOP_NAMES = {"tok_embeddings.weight": "token_embd.weight", "norm.weight": "output_norm.weight",
             "output.weight": "output.weight"}

# The fine-tuning chat format (notebook 07) as a Jinja template, which llama.cpp and Ollama read from the file.
CHAT_TEMPLATE = ("{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}<|user|>"
                 "{{ message['content'] }}<|end|><|assistant|>{% elif message['role'] == 'assistant' %}"
                 "{{ message['content'] }}<|end|>{% endif %}{% endfor %}")


def gguf_name(name: str) -> str:
    """llama.cpp's name for one of our parameters: ``layers.3.attention.wq.weight`` -> ``blk.3.attn_q.weight``."""
    if name in TOP_NAMES:
        return TOP_NAMES[name]
    _, index, rest = name.split(".", 2)
    return f"blk.{index}.{LAYER_NAMES[rest]}"


def _tensor_data(name: str, tensor: torch.Tensor, kind: str) -> tuple[np.ndarray, gguf.GGMLQuantizationType]:
    """The bytes of one tensor in ``kind``; norm gains stay F32 (llama.cpp expects them so), and a matrix
    whose rows are not whole Q8_0 blocks of 32 is stored in F16."""
    array = tensor.detach().float().cpu().numpy()
    qtype = TYPES[kind] if array.ndim == 2 else gguf.GGMLQuantizationType.F32
    block = gguf.GGML_QUANT_SIZES[qtype][0]
    if array.shape[-1] % block:
        qtype = gguf.GGMLQuantizationType.F16
    if qtype == gguf.GGMLQuantizationType.F32:
        return array, qtype
    if qtype == gguf.GGMLQuantizationType.F16:
        return array.astype(np.float16), qtype
    return gguf.quants.quantize(array, qtype), qtype


def _exportable_tokenizer(model: Llama, tokenizer: object) -> Tokenizer:
    """``tokenizer``, checked to be the SentencePiece tokenizer that belongs to ``model`` (GGUF carries it)."""
    if not isinstance(model, Llama):
        raise TypeError(f"export_gguf exports a llama_course Llama, got {type(model).__name__}")
    if not isinstance(tokenizer, Tokenizer):
        raise CourseError(f"GGUF export needs the SentencePiece tokenizer the model was trained with, got "
                          f"{type(tokenizer).__name__} (a character tokenizer has no GGUF form)")
    if model.config.rope_scaling is not None:
        raise CourseError("GGUF export of a model with Llama 3.1 RoPE scaling is not supported by the course")
    if len(tokenizer) != model.config.vocab_size:
        raise CourseError(f"the tokenizer has {len(tokenizer)} ids but the model {model.config.vocab_size}: "
                          "they do not belong together")
    return tokenizer


def _add_tokenizer(writer: gguf.GGUFWriter, tokenizer: Tokenizer) -> None:
    """SentencePiece's pieces, scores and token types, the special ids, and the chat template."""
    sp = spm.SentencePieceProcessor(model_proto=tokenizer._proto)  # the tokenizer's own model, read again
    types = []
    for i in range(sp.get_piece_size()):
        piece = sp.id_to_piece(i)
        if sp.is_unknown(i):
            types.append(gguf.TokenType.UNKNOWN)
        elif sp.is_control(i):
            types.append(gguf.TokenType.CONTROL)
        elif sp.is_byte(i):
            types.append(gguf.TokenType.BYTE)
        elif piece in CHAT_TOKENS:
            types.append(gguf.TokenType.USER_DEFINED)
        else:
            types.append(gguf.TokenType.NORMAL)
    writer.add_tokenizer_model("llama")  # SentencePiece BPE with byte fallback, as LLaMA 1/2
    writer.add_tokenizer_pre("default")
    writer.add_token_list([sp.id_to_piece(i) for i in range(sp.get_piece_size())])
    writer.add_token_scores([sp.get_score(i) for i in range(sp.get_piece_size())])
    writer.add_token_types(types)
    writer.add_bos_token_id(tokenizer.bos_id)
    writer.add_eos_token_id(tokenizer.eos_id)
    writer.add_unk_token_id(tokenizer.unk_id)
    writer.add_pad_token_id(tokenizer.pad_id)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(True)
    writer.add_remove_extra_whitespaces(False)
    if all(tokenizer.piece_to_id(t) != tokenizer.unk_id for t in CHAT_TOKENS):
        writer.add_eot_token_id(tokenizer.piece_to_id("<|end|>"))
        writer.add_chat_template(CHAT_TEMPLATE)


def write_gguf_file(model: Llama, tokenizer: Tokenizer, path: str | Path, kind: str = "f32",
                    name: str = "llama-course") -> None:
    """Write ``model`` and ``tokenizer`` to ``path`` in GGUF (no atomicity: see :func:`export_gguf`)."""
    c = model.config
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_file_type(FILE_TYPES[kind])
    writer.add_context_length(c.max_seq_len)
    writer.add_embedding_length(c.dim)
    writer.add_block_count(c.n_layers)
    writer.add_feed_forward_length(c.hidden_dim)
    writer.add_head_count(c.n_heads)
    writer.add_head_count_kv(c.n_kv_heads)
    writer.add_layer_norm_rms_eps(c.norm_eps)
    writer.add_rope_freq_base(c.rope_theta)
    writer.add_rope_dimension_count(c.head_dim)
    writer.add_vocab_size(c.vocab_size)
    _add_tokenizer(writer, tokenizer)
    for key, tensor in model.state_dict().items():
        if key == "output.weight" and c.tie_embeddings:
            continue  # llama.cpp reads the embeddings as the output matrix when the file has none
        data, qtype = _tensor_data(key, tensor, kind)
        writer.add_tensor(gguf_name(key), data, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def check_gguf_out(path: str | Path) -> Path:
    """Refuse, before any work, a target that is a folder or sits in a missing or unwritable folder."""
    path = Path(path)
    if path.is_dir():
        raise CourseError(f"{path} is a folder: give the name of the .gguf file to write")
    if path.suffix != ".gguf":
        raise CourseError(f"{path}: a GGUF file's name ends in .gguf")
    if not path.parent.is_dir():
        raise CourseError(f"cannot write {path}: the folder {path.parent} does not exist")
    return path


def export_gguf(model: Llama, tokenizer: object, path: str | Path, kind: str = "f32") -> Path:
    """Write the model and its tokenizer to the GGUF file ``path``, atomically; ``kind`` is the type of the
    matrices: "f32", "f16" or "q8_0". A file there is replaced only when the new one is complete."""
    if kind not in TYPES:
        raise CourseError(f"the GGUF type must be one of {sorted(TYPES)}, got {kind!r}")
    path = check_gguf_out(path)
    sentencepiece = _exportable_tokenizer(model, tokenizer)
    return atomic_write(path, lambda tmp: write_gguf_file(model, sentencepiece, tmp, kind))


def read_gguf(path: str | Path) -> tuple[LlamaConfig, dict[str, torch.Tensor], list[str]]:
    """The config, the (dequantized, float32) weights under our names, and the token pieces of a GGUF file
    written by :func:`export_gguf`: what a round trip checks."""
    reader = gguf.GGUFReader(str(path))

    def value(key: str):
        return reader.fields[key].contents()

    arch = value("general.architecture")
    if arch != "llama":
        raise CourseError(f"{path} holds a {arch!r} model, not 'llama'")
    config = LlamaConfig(vocab_size=len(value("tokenizer.ggml.tokens")), dim=value("llama.embedding_length"),
                         n_layers=value("llama.block_count"), n_heads=value("llama.attention.head_count"),
                         n_kv_heads=value("llama.attention.head_count_kv"),
                         ffn_hidden=value("llama.feed_forward_length"),
                         norm_eps=value("llama.attention.layer_norm_rms_epsilon"),
                         rope_theta=value("llama.rope.freq_base"), max_seq_len=value("llama.context_length"))
    top, per_layer = {v: k for k, v in TOP_NAMES.items()}, {v: k for k, v in LAYER_NAMES.items()}
    weights = {}
    for t in reader.tensors:
        if t.name in top:
            key = top[t.name]
        else:
            _, index, rest = t.name.split(".", 2)
            key = f"layers.{index}.{per_layer[rest]}"
        weights[key] = torch.from_numpy(np.array(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32))
    return config, weights, list(value("tokenizer.ggml.tokens"))
