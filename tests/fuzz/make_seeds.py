#!/usr/bin/env python3
"""Writes the seed corpora of the model-file fuzzers (tests/fuzz/corpus/{safetensors,gguf}/): small valid
files that reach deep into the parsers, plus a few near-misses. Deterministic; rerun after changing it."""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf.quants import quantize

ROOT = Path(__file__).resolve().parent / "corpus"


def safetensors_bytes(tensors: dict, metadata=None) -> bytes:
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def write_safetensors_seeds(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    f32 = rng.standard_normal((4, 8)).astype(np.float32)
    f16 = rng.standard_normal((8,)).astype(np.float16)
    bf16 = (rng.standard_normal((2, 2, 2)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    seeds = {
        "three_dtypes": safetensors_bytes({"a.weight": ("F32", [4, 8], f32.tobytes()),
                                           "b.bias": ("F16", [8], f16.tobytes()),
                                           "c": ("BF16", [2, 2, 2], bf16.tobytes())},
                                          metadata={"format": "pt"}),
        "scalar_and_empty": safetensors_bytes({"s": ("F32", [], b"\0\0\x80\x3f"), "e": ("F16", [0, 3], b"")}),
        "empty_header": safetensors_bytes({}),
        "wrong_size": safetensors_bytes({"x": ("F32", [3], b"\0" * 8)}),
        "bad_dtype": safetensors_bytes({"x": ("I64", [1], b"\0" * 8)}),
        "truncated": safetensors_bytes({"a": ("F32", [4, 8], f32.tobytes())})[:-7],
    }
    for name, data in seeds.items():
        (out / name).write_bytes(data)


def write_gguf(path: Path, arch: str, qtype, layers=1, bias=False, extra_kv=True, tie=True):
    hidden, heads, kv_heads, head_dim, inter, vocab = 32, 2, 1, 16, 64, 32
    w = gguf.GGUFWriter(str(path), arch)
    w.add_context_length(64)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(inter)
    w.add_block_count(layers)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    if extra_kv:
        w.add_tokenizer_model("gpt2")
        w.add_token_list([f"t{i}" for i in range(vocab)])
        w.add_token_scores([float(i) for i in range(vocab)])
        w.add_token_types([1] * vocab)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_array("general.tags", ["a", "b"])
        w.add_bool("general.flag", True)
        w.add_float64("general.f64", 0.5)
        w.add_int8("general.i8", -3)
        w.add_uint16("general.u16", 7)
    rng = np.random.default_rng(1)

    def tensor(name, shape, qt=None):
        a = rng.standard_normal(shape).astype(np.float32)
        qt = qtype if qt is None else qt
        if qt == gguf.GGMLQuantizationType.F32:
            w.add_tensor(name, a)
        elif qt == gguf.GGMLQuantizationType.F16:
            w.add_tensor(name, a.astype(np.float16))
        else:
            w.add_tensor(name, quantize(a, qt), raw_dtype=qt)

    norm = gguf.GGMLQuantizationType.F32
    tensor("token_embd.weight", (vocab, hidden))
    for l in range(layers):
        tensor(f"blk.{l}.attn_norm.weight", (hidden,), norm)
        tensor(f"blk.{l}.attn_q.weight", (heads * head_dim, hidden))
        tensor(f"blk.{l}.attn_k.weight", (kv_heads * head_dim, hidden))
        tensor(f"blk.{l}.attn_v.weight", (kv_heads * head_dim, hidden))
        if bias:
            tensor(f"blk.{l}.attn_q.bias", (heads * head_dim,), norm)
            tensor(f"blk.{l}.attn_k.bias", (kv_heads * head_dim,), norm)
            tensor(f"blk.{l}.attn_v.bias", (kv_heads * head_dim,), norm)
        if arch == "qwen3":
            tensor(f"blk.{l}.attn_q_norm.weight", (head_dim,), norm)
            tensor(f"blk.{l}.attn_k_norm.weight", (head_dim,), norm)
        tensor(f"blk.{l}.attn_output.weight", (hidden, heads * head_dim))
        tensor(f"blk.{l}.ffn_norm.weight", (hidden,), norm)
        tensor(f"blk.{l}.ffn_gate.weight", (inter, hidden))
        tensor(f"blk.{l}.ffn_up.weight", (inter, hidden))
        tensor(f"blk.{l}.ffn_down.weight", (hidden, inter))
    tensor("output_norm.weight", (hidden,), norm)
    if not tie:
        tensor("output.weight", (vocab, hidden))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_gguf_seeds(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    Q = gguf.GGMLQuantizationType
    write_gguf(out / "llama_q4_1", "llama", Q.Q4_1)
    write_gguf(out / "llama_q8_0_untied", "llama", Q.Q8_0, tie=False)
    write_gguf(out / "qwen2_q4_0_bias", "qwen2", Q.Q4_0, bias=True, extra_kv=False)
    write_gguf(out / "qwen3_f16", "qwen3", Q.F16, extra_kv=False)
    full = (out / "llama_q4_1").read_bytes()
    (out / "truncated").write_bytes(full[: len(full) // 2])
    (out / "header_only").write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 0))


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    write_safetensors_seeds(root / "safetensors")
    write_gguf_seeds(root / "gguf")
