"""Tokenizers for the model: SentencePiece BPE configured as LLaMA configures it, and a character baseline.

Both use the same special ids (0 ``<unk>``, 1 ``<s>``, 2 ``</s>``, 3 ``<pad>``). SentencePiece with byte
fallback is lossless, ``decode(encode(text)) == text``; the character tokenizer loses characters it never saw.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm

from ..files import atomic_write, read_tagged_json, write_tagged_json
from ..paths import course_path
from .ids import validate_ids

# The course's tokenizer, trained on the embedded corpus by `llama-course tokenizer` (see the README).
COURSE_TOKENIZER = course_path("assets", "tokenizer.model")

# The chat format used in fine-tuning: "<|user|>question<|end|><|assistant|>answer<|end|>".
CHAT_TOKENS = ("<|user|>", "<|assistant|>", "<|end|>")
SPECIAL_PIECES = ("<unk>", "<s>", "</s>", "<pad>")  # ids 0, 1, 2, 3
UNK_ID, BOS_ID, EOS_ID, PAD_ID = range(4)


def _check_text(text: object) -> str:
    """``text`` itself, if it is a str that UTF-8 can spell (a lone surrogate such as "\\ud800" cannot)."""
    if not isinstance(text, str):
        raise TypeError(f"expected a str, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"the text has a lone surrogate {text[e.start]!r} at index {e.start}, which is not a "
                         "character: decode the text with errors='replace' or remove it") from None
    return text


def _check_texts(texts: Iterable[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("expected a list of str (use encode for a single text)")
    return [_check_text(t) for t in texts]


class Tokenizer:
    """A SentencePiece model: BPE over characters, digits split, unknown characters spelled as UTF-8 bytes.

    Like LLaMA's, it puts one space in front of the text before encoding, so a first word is spelled like
    any other ("▁Once"), and takes exactly that space off again when decoding. Text round-trips exactly,
    spaces, tabs and newlines included, with one exception inherited from SentencePiece (and LLaMA's
    tokenizer): the character U+2581 "▁", its marker for a space, decodes as a space.
    """

    def __init__(self, model_proto: bytes) -> None:
        self._proto = bytes(model_proto)
        self._sp = spm.SentencePieceProcessor()
        try:
            self._sp.LoadFromSerializedProto(self._proto)
        except (RuntimeError, OSError) as e:
            raise ValueError("not a SentencePiece model") from e

    @classmethod
    def train(
        cls,
        text_or_texts: str | Iterable[str],
        path: str | Path,
        vocab_size: int = 4096,
        character_coverage: float = 0.9995,
        verbose: bool = False,
    ) -> Tokenizer:
        """Train a BPE model on the text, write it to ``path`` (a ``.model`` file) and return it.

        SentencePiece learns from lines, so the text is split at newlines; a newline in later text is then
        unknown and falls back to its byte, ``<0x0A>``, exactly as in LLaMA. ``character_coverage`` is the
        share of characters that get their own piece (the rarest others fall back to bytes); Chinese needs it
        close to 1. Training is deterministic: the same text gives the same model bytes.
        """
        texts = [text_or_texts] if isinstance(text_or_texts, str) else text_or_texts
        lines = [line for text in texts for line in _check_text(text).split("\n") if line]
        if not lines:
            raise ValueError("cannot train a tokenizer on empty text")
        longest = max(len(line.encode("utf-8")) for line in lines)
        model = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(lines),
                model_writer=model,
                model_type="bpe",
                vocab_size=vocab_size,
                character_coverage=character_coverage,
                byte_fallback=True,
                split_digits=True,
                normalization_rule_name="identity",
                remove_extra_whitespaces=False,
                add_dummy_prefix=True,
                allow_whitespace_only_pieces=True,
                max_sentence_length=max(4192, longest),  # longer lines would be skipped
                unk_id=UNK_ID,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                pad_id=PAD_ID,
                user_defined_symbols=list(CHAT_TOKENS),
                num_threads=2,
                minloglevel=0 if verbose else 2,
            )
        except RuntimeError as e:  # e.g. "Vocabulary size too high (5000). Please set it to a value <= 668."
            reason = str(e).rsplit("] ", 1)[-1]
            raise ValueError(f"SentencePiece could not train with vocab_size={vocab_size}: {reason}") from None
        tokenizer = cls(model.getvalue())
        tokenizer.save(path)
        return tokenizer

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """Read a ``.model`` file (ours, or any SentencePiece model such as LLaMA's ``tokenizer.model``)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no tokenizer model at {path}")
        try:
            return cls(path.read_bytes())
        except ValueError as e:
            raise ValueError(f"{path} is {e}") from e.__cause__

    def save(self, path: str | Path) -> Path:
        """Write the model to ``path``, atomically."""
        return atomic_write(path, lambda tmp: Path(tmp).write_bytes(self._proto))

    def __len__(self) -> int:
        return self._sp.get_piece_size()

    def __repr__(self) -> str:
        return f"Tokenizer(vocab_size={len(self)})"

    @property
    def unk_id(self) -> int:
        return self._sp.unk_id()

    @property
    def bos_id(self) -> int:
        return self._sp.bos_id()

    @property
    def eos_id(self) -> int:
        return self._sp.eos_id()

    @property
    def pad_id(self) -> int:
        """The padding id, or -1 if the model has none (LLaMA's own tokenizer has none)."""
        return self._sp.pad_id()

    @property
    def special_ids(self) -> dict[str, int]:
        """The special pieces this model has (unk, bos, eos, pad and the chat tokens) and their ids."""
        ids = {self._sp.id_to_piece(i): i for i in (self.unk_id, self.bos_id, self.eos_id, self.pad_id) if i >= 0}
        ids.update({t: self._sp.piece_to_id(t) for t in CHAT_TOKENS if self._sp.piece_to_id(t) != self.unk_id})
        return ids

    def id_to_piece(self, token_id: int) -> str:
        """The piece for an id: ``"▁the"`` (▁ marks a space), ``"<0x0A>"`` (a byte), ``"<s>"``..."""
        return self._sp.id_to_piece(validate_ids([token_id], len(self))[0])

    def piece_to_id(self, piece: str) -> int:
        """The id of a piece; ``unk_id`` for a string that is not a piece."""
        return self._sp.piece_to_id(_check_text(piece))

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        """Text to ids, optionally with ``<s>`` before and ``</s>`` after."""
        return self._sp.encode(_check_text(text), add_bos=bos, add_eos=eos)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to text; ``<s>``, ``</s>`` and ``<pad>`` are dropped, ``<unk>`` (never made by encode) shows as " ⁇ "."""
        return self._sp.decode(validate_ids(ids, len(self)))

    def encode_batch(self, texts: Iterable[str], bos: bool = False, eos: bool = False) -> list[list[int]]:
        """:meth:`encode` for many texts at once (SentencePiece spreads them over threads)."""
        return self._sp.encode(_check_texts(texts), add_bos=bos, add_eos=eos)

    def decode_batch(self, batch: Iterable[Iterable[int]]) -> list[str]:
        """:meth:`decode` for each sequence of ids."""
        return [self.decode(ids) for ids in batch]


class CharTokenizer:
    """The simplest tokenizer: one id per character seen in training, after the four special ids.

    A character it never saw becomes ``<unk>`` and decodes as U+FFFD "�": that text is lost, which is
    the problem byte-level tokenizers solve.
    """

    unk_id, bos_id, eos_id, pad_id = UNK_ID, BOS_ID, EOS_ID, PAD_ID

    def __init__(self, chars: Iterable[str]) -> None:
        self._chars = list(chars)
        if not all(isinstance(c, str) and len(c) == 1 for c in self._chars):
            raise ValueError("CharTokenizer needs single characters")
        if len(set(self._chars)) != len(self._chars):
            raise ValueError("CharTokenizer characters must be unique")
        self._ids = {c: i for i, c in enumerate(self._chars, start=len(SPECIAL_PIECES))}
        self._surface = ["\ufffd", "", "", "", *self._chars]  # what each id decodes to

    @classmethod
    def from_text(cls, text_or_texts: str | Iterable[str]) -> CharTokenizer:
        """A tokenizer whose vocabulary is the sorted set of characters in the text."""
        texts = [text_or_texts] if isinstance(text_or_texts, str) else text_or_texts
        chars = sorted({c for text in texts for c in _check_text(text)})
        if not chars:
            raise ValueError("cannot build a CharTokenizer from empty text")
        return cls(chars)

    @property
    def chars(self) -> list[str]:
        """The characters in id order (the first has id 4)."""
        return list(self._chars)

    def __len__(self) -> int:
        return len(SPECIAL_PIECES) + len(self._chars)

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={len(self)})"

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        """One id per character (``<unk>`` for unseen ones), optionally with ``<s>`` before and ``</s>`` after."""
        ids = [self._ids.get(c, UNK_ID) for c in _check_text(text)]
        return [BOS_ID] * bos + ids + [EOS_ID] * eos

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to text; ``<s>``, ``</s>`` and ``<pad>`` are dropped, ``<unk>`` shows as "�"."""
        return "".join(self._surface[i] for i in validate_ids(ids, len(self)))

    def encode_batch(self, texts: Iterable[str], bos: bool = False, eos: bool = False) -> list[list[int]]:
        return [self.encode(t, bos, eos) for t in _check_texts(texts)]

    def decode_batch(self, batch: Iterable[Iterable[int]]) -> list[str]:
        return [self.decode(ids) for ids in batch]

    def save(self, path: str | Path) -> Path:
        """Write the characters to a JSON file, atomically."""
        return write_tagged_json(path, "llama_course.char", {"chars": self._chars})

    @classmethod
    def load(cls, path: str | Path) -> CharTokenizer:
        """Read a tokenizer written by :meth:`save`."""
        data = read_tagged_json(path, "llama_course.char", "CharTokenizer")
        if not isinstance(data.get("chars"), list):
            raise ValueError(f"{path}: 'chars' must be a list of characters")
        return cls(data["chars"])


def course_tokenizer() -> Tokenizer:
    """The tokenizer shipped in ``assets/``: SentencePiece BPE, 4096 pieces, English and Chinese stories."""
    if not COURSE_TOKENIZER.is_file():
        raise FileNotFoundError(
            f"the course tokenizer is missing (looked for {COURSE_TOKENIZER}); "
            "make it again with: llama-course tokenizer"
        )
    return Tokenizer.load(COURSE_TOKENIZER)
