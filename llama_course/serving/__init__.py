"""Serving a trained LLaMA: quantized weights for fast decoding, and export to GGUF for llama.cpp and Ollama."""
