#!/usr/bin/env python3
"""An independent NumPy forward pass of Llama-family models (Llama 2/3/3.1, Mistral, Qwen2, Qwen3,
SmolLM2), written from the architectures as Hugging Face transformers defines them, for checking the
C++ executors. Reads Hugging Face folders (safetensors, single or sharded) with the `safetensors`
package, or GGUF files with the `gguf` package (dequantised, q/k un-permuted as transformers' GGUF
loader does). No KV cache: every call recomputes the whole causal sequence.

    numpy_reference.py MODEL --prompt-ids 1,2,3 [--max-tokens N] [--dtype float64|float32]
prints {"token_ids": [greedy continuation], "logits_max": ...} as JSON."""
import argparse
import json
import math
import os
import struct

import numpy as np


# ---------------------------------------------------------------- loading: safetensors folders

def _read_bf16(path, name):
    """safetensors' numpy API has no bfloat16: read the raw bits and widen them to float32."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        info = json.loads(f.read(n))[name]
        start, end = info["data_offsets"]
        f.seek(8 + n + start)
        bits = np.frombuffer(f.read(end - start), dtype=np.uint16)
    return (bits.astype(np.uint32) << 16).view(np.float32).reshape(info["shape"])


def _load_safetensors_file(path, out):
    from safetensors import safe_open
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    with safe_open(path, framework="numpy") as st:
        for name in st.keys():
            if header[name]["dtype"] == "BF16":
                out[name] = _read_bf16(path, name)
            else:
                out[name] = st.get_tensor(name).astype(np.float32)


def load_hf_folder(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    weights = {}
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    for name in files:
        _load_safetensors_file(os.path.join(folder, name), weights)
    arch = cfg["architectures"][0]
    heads = cfg["num_attention_heads"]
    c = {
        "arch": arch,
        "vocab": cfg["vocab_size"], "hidden": cfg["hidden_size"], "layers": cfg["num_hidden_layers"],
        "heads": heads, "kv_heads": cfg.get("num_key_value_heads", heads),
        "head_dim": cfg.get("head_dim") or cfg["hidden_size"] // heads,
        "eps": cfg.get("rms_norm_eps", 1e-6), "theta": cfg.get("rope_theta", 10000.0),
        "rope_scaling": cfg.get("rope_scaling"),
        "partial_rotary_factor": cfg.get("partial_rotary_factor", 1.0),
        "tied": cfg.get("tie_word_embeddings", False),
        "qk_norm": arch == "Qwen3ForCausalLM",
    }
    return c, weights


# ---------------------------------------------------------------- loading: GGUF

GGUF_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
GGUF_LAYER = {
    "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
}


def _reverse_permute(w, n_head):
    """Undo llama.cpp convert's permute (transformers' gguf reverse_permute_weights)."""
    dim = w.shape[0] // n_head // 2
    return w.reshape(n_head, dim, 2, *w.shape[1:]).swapaxes(2, 1).reshape(w.shape)


def load_gguf(path):
    import gguf
    from gguf.quants import dequantize
    r = gguf.GGUFReader(path)

    def field(key, default=None):
        f = r.fields.get(key)
        if f is None:
            return default
        v = f.parts[f.data[0]]
        if f.types[0] == gguf.GGUFValueType.STRING:
            return bytes(v).decode()
        return v[0].item()

    arch = field("general.architecture")
    heads = field(f"{arch}.attention.head_count")
    hidden = field(f"{arch}.embedding_length")
    c = {
        "arch": arch, "hidden": hidden, "layers": field(f"{arch}.block_count"), "heads": heads,
        "kv_heads": field(f"{arch}.attention.head_count_kv", heads),
        "head_dim": field(f"{arch}.attention.key_length", hidden // heads),
        "eps": field(f"{arch}.attention.layer_norm_rms_epsilon", 1e-5),
        "theta": field(f"{arch}.rope.freq_base", 10000.0), "rope_scaling": None,
        "partial_rotary_factor": 1.0, "qk_norm": arch == "qwen3",
    }
    weights = {}
    for t in r.tensors:
        name = GGUF_NAMES.get(t.name)
        if name is None and t.name.startswith("blk."):
            _, layer, kind, suffix = t.name.split(".", 3)
            if kind in GGUF_LAYER:
                name = f"model.layers.{layer}.{GGUF_LAYER[kind]}.{suffix}"
        if name is None:
            continue
        shape = tuple(int(d) for d in reversed(t.shape))  # GGML lists the fastest dimension first
        w = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
        if arch == "llama" and ("q_proj" in name or "k_proj" in name):
            w = _reverse_permute(w, heads if "q_proj" in name else c["kv_heads"])
        weights[name] = w
    c["vocab"] = weights["model.embed_tokens.weight"].shape[0]
    c["tied"] = "lm_head.weight" not in weights
    return c, weights


def load_model(path):
    return load_gguf(path) if str(path).endswith(".gguf") else load_hf_folder(path)


# ---------------------------------------------------------------- the forward pass

def rope_inv_freq(c):
    """transformers' rope init: default, linear, llama3 (computed in float32 as torch does)."""
    dim = int(c["head_dim"] * c["partial_rotary_factor"])
    base = np.float32(c["theta"])
    inv = (np.float32(1.0) / base ** (np.arange(0, dim, 2, dtype=np.float32) / np.float32(dim))).astype(np.float32)
    s = c["rope_scaling"]
    if not s:
        return inv
    kind = s.get("rope_type", s.get("type"))
    if kind == "linear":
        return inv / np.float32(s["factor"])
    if kind == "llama3":
        factor, low, high = s["factor"], s["low_freq_factor"], s["high_freq_factor"]
        old = s["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / inv
        out = np.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * out / factor + smooth * out
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        return np.where(medium, smoothed, out).astype(np.float32)
    raise ValueError(f"rope scaling {kind!r} not supported by the reference")


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def apply_rope(x, cos, sin):
    """x: [n, heads, head_dim]; rotate_half on the first rotary dims (cos/sin: [n, rotary])."""
    rd = cos.shape[-1]
    r, rest = x[..., :rd], x[..., rd:]
    half = rd // 2
    rotated = np.concatenate([-r[..., half:], r[..., :half]], axis=-1)
    r = r * cos[:, None, :] + rotated * sin[:, None, :]
    return np.concatenate([r, rest], axis=-1)


class Reference:
    def __init__(self, path, dtype=np.float64):
        self.c, raw = load_model(path)
        self.dtype = dtype
        self.w = {k: v.astype(dtype) for k, v in raw.items()}
        self.inv_freq = rope_inv_freq(self.c).astype(np.float64)

    def logits(self, tokens):
        """Logits at every position of `tokens` ([len(tokens), vocab])."""
        c, w, dt = self.c, self.w, self.dtype
        n, hd = len(tokens), c["head_dim"]
        nh, kvh = c["heads"], c["kv_heads"]
        x = w["model.embed_tokens.weight"][np.asarray(tokens)]
        angles = np.arange(n, dtype=np.float64)[:, None] * self.inv_freq[None, :]
        emb = np.concatenate([angles, angles], axis=-1)
        cos, sin = np.cos(emb).astype(dt), np.sin(emb).astype(dt)
        mask = np.triu(np.full((n, n), -np.inf, dtype=dt), k=1)
        for i in range(c["layers"]):
            p = f"model.layers.{i}."
            h = rms_norm(x, w[p + "input_layernorm.weight"], c["eps"])
            q = h @ w[p + "self_attn.q_proj.weight"].T
            k = h @ w[p + "self_attn.k_proj.weight"].T
            v = h @ w[p + "self_attn.v_proj.weight"].T
            if p + "self_attn.q_proj.bias" in w:
                q, k, v = (q + w[p + "self_attn.q_proj.bias"], k + w[p + "self_attn.k_proj.bias"],
                           v + w[p + "self_attn.v_proj.bias"])
            q, k, v = q.reshape(n, nh, hd), k.reshape(n, kvh, hd), v.reshape(n, kvh, hd)
            if c["qk_norm"]:
                q = rms_norm(q, w[p + "self_attn.q_norm.weight"], c["eps"])
                k = rms_norm(k, w[p + "self_attn.k_norm.weight"], c["eps"])
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            k, v = np.repeat(k, nh // kvh, axis=1), np.repeat(v, nh // kvh, axis=1)
            scores = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(hd) + mask
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            attn = np.einsum("hqk,khd->qhd", scores, v).reshape(n, nh * hd)
            x = x + attn @ w[p + "self_attn.o_proj.weight"].T
            h = rms_norm(x, w[p + "post_attention_layernorm.weight"], c["eps"])
            gate = h @ w[p + "mlp.gate_proj.weight"].T
            up = h @ w[p + "mlp.up_proj.weight"].T
            x = x + (gate / (1.0 + np.exp(-gate)) * up) @ w[p + "mlp.down_proj.weight"].T
        x = rms_norm(x, w["model.norm.weight"], c["eps"])
        head = w["model.embed_tokens.weight"] if c["tied"] else w["lm_head.weight"]
        return x @ head.T

    def greedy(self, prompt, max_tokens):
        """Greedy continuation, and the logits each token was chosen from ([max_tokens, vocab])."""
        tokens, rows = list(prompt), []
        for _ in range(max_tokens):
            last = self.logits(tokens)[-1]
            rows.append(last)
            tokens.append(int(np.argmax(last)))
        return tokens[len(prompt):], np.stack(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--prompt-ids", required=True)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    a = ap.parse_args()
    ref = Reference(a.model, np.float64 if a.dtype == "float64" else np.float32)
    prompt = [int(t) for t in a.prompt_ids.split(",")]
    tokens, rows = ref.greedy(prompt, a.max_tokens)
    print(json.dumps({"token_ids": tokens, "first_logits": rows[0][:8].tolist()}))


if __name__ == "__main__":
    main()
