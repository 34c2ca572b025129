#!/usr/bin/env python3
"""An independent float64 numpy forward pass of a llama GGUF (gguf-python's dequantisation, q/k rows
un-permuted the way transformers' GGUF loader does), against `gpu_bench dump`'s first-step logits; no torch.
Shapes are SmolLM2-135M's (the default model). Slow (~10 s a prompt): pick prompts by index.

    .venv/bin/python scripts/gguf_numpy_reference.py MODEL.gguf prompts.txt dump.jsonl 0,1,2
"""
import json
import sys

import gguf
import numpy as np
from gguf.quants import dequantize

if len(sys.argv) != 5:
    sys.exit(__doc__)
r = gguf.GGUFReader(sys.argv[1])
W = {}
for t in r.tensors:
    a = dequantize(t.data, t.tensor_type).astype(np.float32)
    W[t.name] = a.reshape([int(x) for x in reversed(list(t.shape))]) if len(t.shape) > 1 else a.reshape(-1)
H, L, NH, NKV, HD, theta, eps = 576, 30, 9, 3, 64, 100000.0, 1e-5  # SmolLM2-135M
assert W["token_embd.weight"].shape[1] == H and f"blk.{L - 1}.attn_q.weight" in W, "not SmolLM2-135M's shapes"
def rp(w, n):  # transformers' _reverse_permute_weights
    return w.reshape(n, w.shape[0] // n // 2, 2, *w.shape[1:]).swapaxes(2, 1).reshape(w.shape)
def rms(x, g): return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g
def rope(x, pos):  # x: (T, heads, HD), rotate_half convention
    inv = 1.0 / theta ** (np.arange(0, HD, 2) / HD)
    f = np.outer(pos, inv); c = np.cos(np.concatenate([f, f], -1))[:, None]; s = np.sin(np.concatenate([f, f], -1))[:, None]
    x1, x2 = x[..., :HD // 2], x[..., HD // 2:]
    return x * c + np.concatenate([-x2, x1], -1) * s
def forward(ids):
    T = len(ids); x = W["token_embd.weight"][ids].astype(np.float64)
    pos = np.arange(T)
    for l in range(L):
        p = f"blk.{l}."
        h = rms(x, W[p + "attn_norm.weight"])
        q = (h @ rp(W[p + "attn_q.weight"], NH).T).reshape(T, NH, HD)
        k = (h @ rp(W[p + "attn_k.weight"], NKV).T).reshape(T, NKV, HD)
        v = (h @ W[p + "attn_v.weight"].T).reshape(T, NKV, HD)
        q, k = rope(q, pos), rope(k, pos)
        o = np.zeros((T, NH, HD))
        for hh in range(NH):
            kv = hh // (NH // NKV)
            sc = q[:, hh] @ k[:, kv].T / np.sqrt(HD)
            sc = sc + np.triu(np.full((T, T), -np.inf), 1)
            pr = np.exp(sc - sc.max(-1, keepdims=True)); pr /= pr.sum(-1, keepdims=True)
            o[:, hh] = pr @ v[:, kv]
        x = x + o.reshape(T, H) @ W[p + "attn_output.weight"].T
        h = rms(x, W[p + "ffn_norm.weight"])
        g = h @ W[p + "ffn_gate.weight"].T; u = h @ W[p + "ffn_up.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * u) @ W[p + "ffn_down.weight"].T
    x = rms(x, W["output_norm.weight"])
    head = W.get("output.weight", W["token_embd.weight"])
    return x[-1] @ head.T
prompts = [list(map(int, l.split())) for l in open(sys.argv[2])]
recs = [json.loads(l) for l in open(sys.argv[3])]
print("output.weight in gguf:", "output.weight" in W)
worst = 0.0
for i in map(int, sys.argv[4].split(",")):
    ref = forward(prompts[i])
    for rec in recs:
        if rec["prompt"] != i: continue
        lg = np.array(rec["logits"])
        worst = max(worst, float(np.linalg.norm(lg - ref) / np.linalg.norm(ref)))
        print(f"prompt {i} len {len(prompts[i])} mode {rec['mode']}: rel err {np.linalg.norm(lg-ref)/np.linalg.norm(ref):.2e}, argmax ref {int(ref.argmax())} ours {rec['tokens'][0]}")
print(f"largest relative error {worst:.2e}")
sys.exit(0 if worst < 1e-3 else 1)  # 1e-3: an fp32 executor; a bf16 one lands near 1e-2
