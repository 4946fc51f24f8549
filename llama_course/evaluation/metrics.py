"""Metrics for generated text, from maintained libraries where one exists: BLEU and chrF from sacrebleu
(Post 2018), ROUGE from Google's rouge-score, and SQuAD-style exact match and F1 for short answers.

They measure overlap with a reference, not whether the text is good language: a fluent answer in other
words scores low, a broken one that shares words scores high.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from ..files import CourseError

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _check(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError("give lists of strings: one hypothesis and one reference per example")
    if len(hypotheses) != len(references) or not hypotheses:
        raise ValueError(f"need as many hypotheses as references, and at least one: got {len(hypotheses)} and "
                         f"{len(references)}")


def _needs(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise CourseError(f"this metric needs {package}: pip install {package} (or the course extra: "
                          'pip install "llama-course[course]")') from None


def bleu(hypotheses: Sequence[str], references: Sequence[str], chinese: bool = False) -> float:
    """Corpus BLEU (0-100) with sacrebleu's defaults; Chinese is split into characters (``tokenize="zh"``)."""
    _check(hypotheses, references)
    sacrebleu = _needs("sacrebleu", "sacrebleu")
    return sacrebleu.corpus_bleu(list(hypotheses), [list(references)], tokenize="zh" if chinese else "13a").score


def chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (0-100): an F-score (beta 2) of character n-grams up to 6, kind to Chinese and to
    near-miss words."""
    _check(hypotheses, references)
    sacrebleu = _needs("sacrebleu", "sacrebleu")
    return sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score


def rouge(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1, ROUGE-2 and ROUGE-L F1 (0-100), with Porter stemming. English references only: the
    package's tokenizer keeps ASCII letters and digits and drops everything else, so Chinese a model writes
    in a hypothesis earns nothing, and a Chinese reference is refused."""
    _check(hypotheses, references)
    if any(_CJK.search(t) for t in references):
        raise CourseError("rouge-score drops Chinese characters: score Chinese with chrf() or bleu(chinese=True)")
    rouge_scorer = _needs("rouge_score.rouge_scorer", "rouge-score")
    kinds = ("rouge1", "rouge2", "rougeL")
    scorer = rouge_scorer.RougeScorer(list(kinds), use_stemmer=True)
    totals: Counter[str] = Counter()
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        for kind, value in scorer.score(reference, hypothesis).items():
            totals[kind] += value.fmeasure
    return {kind: 100 * totals[kind] / len(hypotheses) for kind in kinds}


def normalise_answer(text: str) -> list[str]:
    """SQuAD's normalisation, as tokens: lower case, no punctuation, no articles, words split on spaces;
    Chinese, which has no spaces, split into characters."""
    text = "".join(c for c in text.lower() if c not in string.punctuation and c not in "，。！？、：；“”")
    text = _ARTICLES.sub(" ", text)
    return [t for word in text.split() for t in (list(word) if _CJK.search(word) else [word])]


def qa_exact_match(prediction: str, reference: str) -> float:
    """1.0 when the normalised answers are equal, else 0.0."""
    return float(normalise_answer(prediction) == normalise_answer(reference))


def qa_f1(prediction: str, reference: str) -> float:
    """The F1 of the normalised answers' tokens (a bag of words): partial credit for a partly right answer."""
    predicted, wanted = normalise_answer(prediction), normalise_answer(reference)
    if not predicted or not wanted:
        return float(predicted == wanted)
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def qa_scores(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean exact match and F1 (0-100) over a set of answers."""
    _check(predictions, references)
    n = len(predictions)
    return {"exact_match": 100 * sum(map(qa_exact_match, predictions, references)) / n,
            "f1": 100 * sum(map(qa_f1, predictions, references)) / n}
