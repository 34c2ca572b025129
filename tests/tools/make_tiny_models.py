#!/usr/bin/env python3
"""Writes tiny random Llama-family models as real Hugging Face folders (config.json,
generation_config.json, safetensors) for the CPU executor tests: one folder per variant
(GQA/MQA, tied, q/k/v bias, q/k norm with explicit head_dim, llama3 rope scaling, Mistral, sharded),
stored as float32, float16 and bfloat16. Usage: make_tiny_models.py OUT_DIR"""
import json
import os
import struct
import sys

import numpy as np

VOCAB = 300
HIDDEN = 64
INTER = 128
MAX_POS = 512

# name -> (config overrides, storage dtype, shards)
VARIANTS = {
    "llama_gqa_f32": ({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                       "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2},
                      "float32", 1),
    "smollm2_tied_bf16": ({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                           "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
                           "tie_word_embeddings": True, "rope_theta": 100000.0},
                          "bfloat16", 1),
    "qwen2_bias_f16": ({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
                        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                        "rope_theta": 1000000.0, "use_sliding_window": False, "sliding_window": None},
                       "float16", 1),
    "qwen3_qknorm_bf16": ({"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
                           "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                           "head_dim": 32, "tie_word_embeddings": True, "attention_bias": False,
                           "rope_theta": 1000000.0},
                          "bfloat16", 1),
    "llama3_rope_f32": ({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                         "rope_theta": 500000.0,
                         "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                          "high_freq_factor": 4.0,
                                          "original_max_position_embeddings": 64},
                         "eos_token_id": [2, 3]},
                        "float32", 1),
    "mistral_sharded_f16": ({"architectures": ["MistralForCausalLM"], "model_type": "mistral",
                             "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
                             "sliding_window": None},
                            "float16", 2),
}

ST_DTYPE = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


def to_storage(a, dtype):
    """Float32 array -> (bytes, safetensors dtype). bfloat16 rounds to nearest even, as torch does."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    if dtype == "float32":
        return a.tobytes(), "F32"
    if dtype == "float16":
        return a.astype(np.float16).tobytes(), "F16"
    bits = a.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return rounded.tobytes(), "BF16"


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, arr in tensors.items():
        data, st = to_storage(arr, dtype)
        header[name] = {"dtype": st, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return offset


def make_config(overrides, dtype):
    c = {"vocab_size": VOCAB, "hidden_size": HIDDEN, "intermediate_size": INTER,
         "max_position_embeddings": MAX_POS, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
         "hidden_act": "silu", "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2,
         "torch_dtype": dtype, "initializer_range": 0.02}
    c.update(overrides)
    return c


def make_weights(c, rng):
    h, inter = c["hidden_size"], c["intermediate_size"]
    heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
    hd = c.get("head_dim", h // heads)
    bias = c["model_type"] == "qwen2" or c.get("attention_bias", False)
    qk_norm = c["model_type"] == "qwen3"

    def lin(out, inp, gain=1.0):
        return rng.normal(0.0, gain / np.sqrt(inp), size=(out, inp)).astype(np.float32)

    def norm(n):
        return (1.0 + rng.normal(0.0, 0.1, size=(n,))).astype(np.float32)

    w = {"model.embed_tokens.weight": rng.normal(0.0, 1.0, size=(c["vocab_size"], h)).astype(np.float32)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm(h)
        w[p + "self_attn.q_proj.weight"] = lin(heads * hd, h, 2.0)
        w[p + "self_attn.k_proj.weight"] = lin(kv * hd, h, 2.0)
        w[p + "self_attn.v_proj.weight"] = lin(kv * hd, h)
        if bias:
            for n, d in (("q", heads * hd), ("k", kv * hd), ("v", kv * hd)):
                w[p + f"self_attn.{n}_proj.bias"] = rng.normal(0.0, 0.2, size=(d,)).astype(np.float32)
        if qk_norm:
            w[p + "self_attn.q_norm.weight"] = norm(hd)
            w[p + "self_attn.k_norm.weight"] = norm(hd)
        w[p + "self_attn.o_proj.weight"] = lin(h, heads * hd, 4.0)
        w[p + "post_attention_layernorm.weight"] = norm(h)
        w[p + "mlp.gate_proj.weight"] = lin(inter, h)
        w[p + "mlp.up_proj.weight"] = lin(inter, h)
        w[p + "mlp.down_proj.weight"] = lin(h, inter, 4.0)
    w["model.norm.weight"] = norm(h)
    if not c["tie_word_embeddings"]:
        w["lm_head.weight"] = lin(c["vocab_size"], h, 3.0)
    return w


def write_model(out, name, overrides, dtype, shards, seed):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    c = make_config(overrides, dtype)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    with open(os.path.join(folder, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": c["bos_token_id"], "eos_token_id": c["eos_token_id"]}, f, indent=2)
    w = make_weights(c, np.random.default_rng(seed))
    if shards == 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), w, dtype)
        return
    names = list(w)
    per = (len(names) + shards - 1) // shards
    weight_map, total = {}, 0
    for s in range(shards):
        fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: w[n] for n in names[s * per:(s + 1) * per]}
        total += write_safetensors(os.path.join(folder, fname), part, dtype)
        weight_map.update({n: fname for n in part})
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_tiny_models.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for seed, (name, (overrides, dtype, shards)) in enumerate(sorted(VARIANTS.items())):
        write_model(out, name, overrides, dtype, shards, 1000 + seed)
    print(f"wrote {len(VARIANTS)} tiny models to {out}")


if __name__ == "__main__":
    main()
