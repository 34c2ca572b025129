#!/usr/bin/env python3
"""Hugging Face transformers on the benchmark's shapes, for the side-by-side in docs/PERFORMANCE.md:
random bf16 weights from a config.json, generate() with a static cache (no torch.compile), greedy.
Decode ms/step = (time of prompt + 1 + N new tokens - time of prompt + 1 new token) / N.

    python3 tests/gpu/hf_bench.py --config configs/models/llama-3.1-8b/config.json
"""
import argparse
import json
import time

import torch
import transformers


def timed(fn, reps=3):
    ts = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--contexts", default="1024")
    ap.add_argument("--new", type=int, default=16)
    ap.add_argument("--prefill", type=int, default=4096)
    args = ap.parse_args()
    cfg = transformers.AutoConfig.for_model(**{k: v for k, v in json.load(open(args.config)).items()
                                               if k not in ("architectures",)})
    with torch.device("cuda"):
        model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16).eval()
    # disable_compile: transformers 5 would otherwise torch.compile the static-cache decode on the fly.
    gen = dict(do_sample=False, cache_implementation="static", eos_token_id=None, pad_token_id=0,
               disable_compile=True)
    print("| batch | context | HF static-cache decode ms/step | tokens/s |\n|---|---|---|---|")
    with torch.no_grad():
        for ctx in map(int, args.contexts.split(",")):
            for b in map(int, args.batches.split(",")):
                ids = torch.randint(0, cfg.vocab_size, (b, ctx - 1), device="cuda")
                try:
                    one = timed(lambda: model.generate(ids, max_new_tokens=1, min_new_tokens=1, **gen), 2)
                    many = timed(lambda: model.generate(ids, max_new_tokens=1 + args.new,
                                                        min_new_tokens=1 + args.new, **gen), 2)
                except torch.OutOfMemoryError:
                    print(f"| {b} | {ctx} | out of memory | |")
                    torch.cuda.empty_cache()
                    continue
                ms = (many - one) / args.new * 1e3
                print(f"| {b} | {ctx} | {ms:.2f} | {b / ms * 1e3:.0f} |", flush=True)
        ids = torch.randint(0, cfg.vocab_size, (1, args.prefill), device="cuda")
        t = timed(lambda: model(ids, logits_to_keep=1), 3)
        print(f"\nHF prefill {args.prefill} tokens (one forward, sdpa): {t * 1e3:.1f} ms, "
              f"{args.prefill / t:.0f} tok/s; transformers {transformers.__version__}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
