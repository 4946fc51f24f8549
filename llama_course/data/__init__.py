"""The data side: the story corpus, text sources, tokenizers (teaching BPE and SentencePiece) and batches."""

from .batches import TokenDataset, story_datasets, text_datasets
from .bpe import BytePairTokenizer
from .corpus import Story, load_corpus
from .sources import load_text
from .tokenizer import CHAT_TOKENS, CharTokenizer, Tokenizer, course_tokenizer

__all__ = [
    "CHAT_TOKENS", "BytePairTokenizer", "CharTokenizer", "Story", "TokenDataset", "Tokenizer", "course_tokenizer",
    "load_corpus", "load_text", "story_datasets", "text_datasets",
]
