"""Evaluating a language model: log-likelihood scoring, few-shot prompts, a built-in benchmark, text metrics,
and the arithmetic of choosing a model size."""
