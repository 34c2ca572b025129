#!/usr/bin/env python3
"""Whole-model check of the CUDA executor against Hugging Face transformers (run on a GPU machine).

For each variant it builds a random-weight model in transformers (bf16, on the GPU), saves it as a
safetensors folder, runs `gpu_bench dump` on that folder (greedy, alone / batched / with a prefix
hit), and compares with a greedy loop in transformers: first-step logits (relative error) and the
64 greedy tokens. A bf16 model is only determined up to its rounding noise, so the greedy runs may
part at a step where both have followed the same tokens so far only if, over our 32 largest logits
there (`gpu_bench dump` writes them for every step), our largest distance from transformers'
float32 logits for the same prefix is at most TIE_DEV times transformers-bf16's own largest distance
from them (or TIE_ULPS bf16 steps of the top logit): both runs are then equally close to the exact
answer, and which of two near-equal tokens wins is rounding. transformers' token must be among those
logits. The first-step logits are
also compared with the same model run in float32: ours must be within max(2 x transformers-bf16's
own error, 1e-2) of it. Exit status 1 on any failure. With --tp 1,2,4 the same checks run for our
tensor-parallel executor on GPUs 0..tp-1 (sizes above the GPU count or that do not divide the
variant's heads are skipped with a note).

    python3 tests/gpu/hf_compare.py --bin build/gpu_bench [--steps 64] [--work /tmp/hfc] [--tp 1,2,4]
"""
import argparse
import copy
import json
import os
import subprocess
import sys

import torch
import transformers

TIE_ULPS = 2
TIE_DEV = 3.0


def bf16_ulp(x):
    import math
    return 2.0 ** (math.floor(math.log2(max(abs(x), 1e-30))) - 7)


def variants():
    T = transformers
    common = dict(vocab_size=2000, max_position_embeddings=4096, initializer_range=0.08, rms_norm_eps=1e-5)
    return {
        "llama-gqa4": T.LlamaConfig(hidden_size=512, intermediate_size=1024, num_hidden_layers=4,
                                    num_attention_heads=8, num_key_value_heads=2, rope_theta=10000.0,
                                    **common),
        "llama3-rope-g8-tied": T.LlamaConfig(hidden_size=1024, intermediate_size=2048, num_hidden_layers=3,
                                             num_attention_heads=8, num_key_value_heads=1, head_dim=128,
                                             rope_theta=500000.0, tie_word_embeddings=True,
                                             rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                                           "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                           "original_max_position_embeddings": 64},
                                             **common),
        "qwen2-bias-g1": T.Qwen2Config(hidden_size=512, intermediate_size=1024, num_hidden_layers=3,
                                       num_attention_heads=8, num_key_value_heads=8, rope_theta=1000000.0,
                                       tie_word_embeddings=False, **common),
        "qwen3-qknorm": T.Qwen3Config(hidden_size=512, intermediate_size=1024, num_hidden_layers=3,
                                      num_attention_heads=8, num_key_value_heads=2, head_dim=128,
                                      rope_theta=1000000.0, tie_word_embeddings=False, **common),
        "smollm2-135m-shapes": T.LlamaConfig(hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                                             num_attention_heads=9, num_key_value_heads=3, vocab_size=49152,
                                             max_position_embeddings=8192, rope_theta=100000.0,
                                             tie_word_embeddings=True, initializer_range=0.04,
                                             rms_norm_eps=1e-5),
    }


def classic_config(path, cfg):
    """transformers 5 may write rope settings as rope_parameters; add the classic keys our loader reads."""
    cj = os.path.join(path, "config.json")
    with open(cj) as f:
        d = json.load(f)
    rp = d.get("rope_parameters") or {}
    if "rope_theta" not in d:
        d["rope_theta"] = rp.get("rope_theta", getattr(cfg, "rope_theta", 10000.0))
    if rp.get("rope_type", "default") not in ("default", None) and not d.get("rope_scaling"):
        d["rope_scaling"] = {k: v for k, v in rp.items() if k != "rope_theta"}
    d.setdefault("torch_dtype", "bfloat16")
    with open(cj, "w") as f:
        json.dump(d, f, indent=2)


@torch.no_grad()
def hf_greedy(model, prompt, steps):
    dev = next(model.parameters()).device
    ids = torch.tensor([prompt], device=dev)
    out = model(input_ids=ids, use_cache=True)
    past = out.past_key_values
    logits0 = out.logits[0, -1].float()
    toks, gaps, rows = [], [], []
    logits = logits0
    for _ in range(steps + 1):
        top2 = torch.topk(logits, 2)
        gap = float(top2.values[0] - top2.values[1])
        gaps.append((gap, bf16_ulp(float(top2.values[0]))))
        rows.append(logits)
        t = int(torch.argmax(logits))
        toks.append(t)
        out = model(input_ids=torch.tensor([[t]], device=dev), past_key_values=past, use_cache=True)
        past = out.past_key_values
        logits = out.logits[0, -1].float()
    return logits0.cpu(), toks, gaps, rows


def tie_at(step, rec, prompt, ref_toks, hf_rows, model32):
    """(tie?, description) for runs that part at `step` (the tie rule in the module's docstring)."""
    top = rec.get("top", [])
    if step >= len(top) or step >= len(rec["tokens"]):
        return False, "no logits of ours at that step"
    ids = torch.tensor([t for t, _ in top[step]])
    ours = torch.tensor([v for _, v in top[step]])
    if ref_toks[step] not in ids.tolist():
        return False, f"transformers' token is not among our {len(ids)} largest logits"
    dev32 = next(model32.parameters()).device
    exact = model32(input_ids=torch.tensor([prompt + ref_toks[:step]], device=dev32)).logits[0, -1].float().cpu()
    ours_dev = float((ours - exact[ids]).abs().max())
    hf_dev = float((hf_rows[step].cpu()[ids] - exact[ids]).abs().max())
    tie = ours_dev <= max(TIE_DEV * hf_dev, TIE_ULPS * bf16_ulp(float(ours[0])))
    return tie, f"largest distance from fp32 there: ours {ours_dev:.3f}, HF bf16 {hf_dev:.3f}"


def run_dump(bin_path, model_path, prompts_file, steps, out, device="cuda:0"):
    """Runs `gpu_bench dump`; returns its records (one per prompt and mode), or None after printing why not."""
    r = subprocess.run([bin_path, "dump", "--model", model_path, "--prompts", prompts_file,
                        "--steps", str(steps), "--out", out, "--device", device], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"gpu_bench dump --model {model_path} --device {device} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return None
    return [json.loads(line) for line in open(out)]


@torch.no_grad()
def compare_runs(name, model, model32, prompts, runs, steps, bound32=None, run_steps=None):
    """Compares our dumps (runs: {tp or label: records}) with transformers' bf16 greedy loop (model) and its
    float32 first-step logits (model32); bound32 ({key: bound}) tightens the float32 bar for a run (e.g. an
    fp32 executor), run_steps ({key: n}) names a run dumped with fewer steps. Returns (failures, table rows)."""
    bound32, run_steps = bound32 or {}, run_steps or {}
    failures, rows, ratios = 0, [], []
    dev32 = next(model32.parameters()).device
    for i, p in enumerate(prompts):
        ref_logits, ref_toks, gaps, hf_rows = hf_greedy(model, p, steps)
        exact = model32(input_ids=torch.tensor([p], device=dev32)).logits[0, -1].float().cpu()
        hf_err = float((ref_logits - exact).norm() / exact.norm())
        for tp, rec in ((tp, o) for tp, ours in runs.items() for o in ours if o["prompt"] == i):
            mode = ["alone", "batched", "prefix-hit"][rec["mode"]] + (
                "" if tp == 1 else f" TP{tp}" if isinstance(tp, int) else f" {tp}")
            lg = torch.tensor(rec["logits"])
            if lg.shape != exact.shape:
                print(f"{name}: prompt {i} {mode}: {lg.numel()} logits, transformers has {exact.numel()}")
                failures += 1
                continue
            err = float((lg - ref_logits).norm() / ref_logits.norm())
            err32 = float((lg - exact).norm() / exact.norm())
            if rec.get("top"):  # the tie rule's statistic at the first step, where it need not hold
                ids = torch.tensor([t for t, _ in rec["top"][0]])
                ratios.append(float((lg[ids] - exact[ids]).abs().max() / (ref_logits[ids] - exact[ids]).abs().max()))
            toks = rec["tokens"]
            want = min(len(ref_toks), run_steps.get(tp, steps) + 1)
            div = next((k for k in range(want) if k >= len(toks) or toks[k] != ref_toks[k]), None)
            tie, why = tie_at(div, rec, p, ref_toks, hf_rows, model32) if div is not None else (False, "")
            ok = err32 <= min(max(2 * hf_err, 1e-2), bound32.get(tp, 1.0)) and (div is None or tie)
            failures += not ok
            rows.append((name, len(p), mode, err, err32, hf_err, "all %d equal" % want if div is None
                         else f"differ at step {div} (HF top-2 gap {gaps[div][0]:.4f}; {why}{', tie' if tie else ''})",
                         "ok" if ok else "FAIL"))
    if ratios:
        ratios.sort()
        print(f"{name}: first step, our largest distance from fp32 over our top logits / transformers-bf16's: "
              f"{ratios[0]:.2f}..{ratios[-1]:.2f}, median {ratios[len(ratios) // 2]:.2f} (tie bar {TIE_DEV})")
    return failures, rows


def print_rows(rows, failures):
    print("\n| variant | prompt len | mode | logits vs HF bf16 | ours vs fp32 | HF bf16 vs fp32 | greedy tokens vs HF bf16 | result |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d | %s | %.2e | %.2e | %.2e | %s | %s |" % r)
    print(f"\ntransformers {transformers.__version__}, torch {torch.__version__}: {failures} failure(s)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--work", default="/tmp/hf_compare")
    ap.add_argument("--only", default="")
    ap.add_argument("--tp", default="1", help="comma-separated TP sizes to check, e.g. 1,2,4")
    args = ap.parse_args()
    tps = [int(t) for t in args.tp.split(",")]
    torch.manual_seed(int.from_bytes(os.urandom(4), "little"))
    failures = 0
    rows = []
    for name, cfg in variants().items():
        if args.only and args.only not in name:
            continue
        path = os.path.join(args.work, name)
        os.makedirs(path, exist_ok=True)
        try:
            model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
        except TypeError:  # transformers 4.x
            model = transformers.AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.bfloat16)
        model = model.cuda().eval()
        with torch.no_grad():  # norms near 1 but not exactly, so a mixed-up norm weight shows
            for n, p in model.named_parameters():
                if "norm" in n:
                    p.copy_(1 + 0.1 * torch.randn_like(p))
                elif n.endswith(".bias"):
                    p.copy_(0.1 * torch.randn_like(p))
        model.save_pretrained(path, safe_serialization=True)
        classic_config(path, cfg)
        g = torch.Generator().manual_seed(1)
        prompts = [torch.randint(0, cfg.vocab_size, (n,), generator=g).tolist() for n in (5, 37, 100, 129)]
        with open(os.path.join(path, "prompts.txt"), "w") as f:
            for p in prompts:
                f.write(" ".join(map(str, p)) + "\n")
        runs = {}
        for tp in tps:
            kv = cfg.num_key_value_heads
            if tp > torch.cuda.device_count():
                print(f"{name}: TP{tp} skipped ({torch.cuda.device_count()} GPUs)")
                continue
            if cfg.num_attention_heads % tp or (kv % tp and tp % kv) or cfg.intermediate_size % tp:
                print(f"{name}: TP{tp} skipped (heads {cfg.num_attention_heads}/{kv} do not shard {tp} ways)")
                continue
            dump = os.path.join(path, f"dump-tp{tp}.jsonl")
            device = "cuda:" + ",".join(str(i) for i in range(tp))
            recs = run_dump(args.bin, path, os.path.join(path, "prompts.txt"), args.steps, dump, device)
            if recs is None:
                print(f"{name}: gpu_bench dump --device {device} failed")
                failures += 1
                continue
            runs[tp] = recs
        model32 = copy.deepcopy(model).float()
        f, r = compare_runs(name, model, model32, prompts, runs, args.steps)
        failures += f
        rows += r
        del model, model32
        torch.cuda.empty_cache()
    print_rows(rows, failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
