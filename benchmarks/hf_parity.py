"""Largest logit difference between our Llama and transformers' LlamaForCausalLM with the same weights.

    python benchmarks/hf_parity.py

For each architecture variant it builds a random Hugging Face model with transformers' own
initialisation, converts it to ours, and prints max |ours - HF| over all logits in float32, and the
same for the model converted back to Hugging Face (0 means the weight conversion loses nothing).
"""

from __future__ import annotations

import torch
import transformers

from llama_course.hf import from_hf, to_hf

VARIANTS = {
    "multi-head attention": dict(num_key_value_heads=8),
    "grouped-query (8 q / 2 kv heads)": dict(num_key_value_heads=2),
    "multi-query (1 kv head)": dict(num_key_value_heads=1),
    "tied embeddings": dict(num_key_value_heads=2, tie_word_embeddings=True),
    "rope theta 500000": dict(num_key_value_heads=2, rope_theta=500000.0),
    "llama 3.1 rope scaling": dict(num_key_value_heads=2, rope_theta=500000.0, rope_scaling={
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 64}),
}


def main(seq_len: int = 256) -> None:
    transformers.logging.set_verbosity_error()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, float32, batch 2 x {seq_len} tokens")
    print(f"{'variant':34s} {'max |logit|':>11s} {'ours vs HF':>11s} {'round trip':>11s}")
    for name, changes in VARIANTS.items():
        torch.manual_seed(0)
        config = transformers.LlamaConfig(vocab_size=1000, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                                          num_attention_heads=8, max_position_embeddings=seq_len, **changes)
        theirs = transformers.LlamaForCausalLM(config).eval()
        ours = from_hf(theirs)
        tokens = torch.randint(0, 1000, (2, seq_len))
        with torch.no_grad():
            reference = theirs(tokens).logits
            forward = (ours(tokens) - reference).abs().max().item()
            back = (to_hf(ours)(tokens).logits - reference).abs().max().item()
        print(f"{name:34s} {reference.abs().max().item():11.3f} {forward:11.1e} {back:11.1e}")


if __name__ == "__main__":
    main()
