#!/usr/bin/env python3
"""Whole-model check of the CUDA executor on a real GGUF (default: SmolLM2-135M-Instruct Q4_1) against
Hugging Face transformers loading the same file (needs the `gguf` package; run on a GPU machine).

transformers dequantises the GGUF to float32 (and un-permutes llama's q/k rows, as our loader does); we
run it in bf16 and in float32. `gpu_bench dump` runs the same file (our loader: dequantise, then bf16)
on random-token prompts of several lengths, plus a chat prompt when transformers can build the GGUF's
tokenizer, alone / batched / with a prefix hit; `gpu_bench dump --device cpu` runs our fp32 CPU executor
on the same prompts (fewer steps), which must be within 1e-3 of transformers' float32. The comparison and the tie rule are hf_compare.py's:
first-step logits within max(2 x transformers-bf16's own error, 1e-2) of float32, and 64 greedy tokens
equal to transformers' bf16 loop up to a tie. Exit status 1 on any failure.

    python3 tests/gpu/hf_compare_gguf.py --bin build/gpu_bench --gguf models/SmolLM2-135M-Instruct.Q4_1.gguf
"""
import argparse
import copy
import os
import sys

import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_compare  # noqa: E402  (beside this file, here and in the carry folder)

PROMPT_LENGTHS = (1, 5, 37, 100, 129, 300)
CPU_BOUND32 = 1e-3  # our fp32 CPU executor vs transformers' float32: only summation order differs
CHAT = "<|im_start|>user\nWhat is the capital of France, and why is it famous?<|im_end|>\n<|im_start|>assistant\n"


def load(gguf_path, device):
    """float32 and bf16 copies of the GGUF's model, as transformers loads it."""
    folder, name = os.path.split(os.path.abspath(gguf_path))
    try:
        model32 = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except TypeError:  # transformers 4.x
        model32 = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, torch_dtype=torch.float32)
    model32 = model32.to(device).eval()
    emb, head = model32.get_input_embeddings().weight, model32.get_output_embeddings().weight
    tied = emb.data_ptr() == head.data_ptr() or torch.equal(emb, head)
    print(f"transformers: {type(model32).__name__}, {model32.config.num_hidden_layers} layers, hidden "
          f"{model32.config.hidden_size}, heads {model32.config.num_attention_heads}/"
          f"{model32.config.num_key_value_heads}, vocab {model32.config.vocab_size}, "
          f"rope_theta {getattr(model32.config, 'rope_theta', None) or getattr(model32.config, 'rope_parameters', None)}, "
          f"lm_head tied to embeddings: {tied}")
    model = copy.deepcopy(model32).to(torch.bfloat16)
    return model, model32, folder, name


def chat_prompt(folder, name):
    """The chat prompt's token ids through transformers' GGUF tokenizer, or None (then it is left out)."""
    try:
        tok = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=name)
        return tok(CHAT, add_special_tokens=False)["input_ids"]
    except Exception as e:  # a tokenizer conversion problem is not what this script checks
        print(f"note: no chat prompt (transformers could not build the GGUF's tokenizer: {e!r})")
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="gpu_bench")
    ap.add_argument("--gguf", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--work", default="/tmp/hf_compare_gguf")
    ap.add_argument("--device", default="cuda:0", help="gpu_bench's device; transformers runs on cuda")
    ap.add_argument("--cpu-steps", type=int, default=16,
                    help="greedy steps for our CPU (fp32 reference) executor's run; -1 leaves it out")
    args = ap.parse_args()
    if not os.path.isfile(args.gguf):
        sys.exit(f"--gguf {args.gguf}: no such file")
    os.makedirs(args.work, exist_ok=True)
    model, model32, folder, name = load(args.gguf, "cuda")
    vocab = model32.config.vocab_size
    seed = int.from_bytes(os.urandom(4), "little")
    g = torch.Generator().manual_seed(seed)
    prompts = [torch.randint(0, vocab, (n,), generator=g).tolist() for n in PROMPT_LENGTHS]
    chat = chat_prompt(folder, name)
    if chat:
        prompts.append(chat)
    prompts_file = os.path.join(args.work, "prompts.txt")
    with open(prompts_file, "w") as f:
        for p in prompts:
            f.write(" ".join(map(str, p)) + "\n")
    runs = {}
    for key, device, steps in ((1, args.device, args.steps), ("CPU", "cpu", args.cpu_steps)):
        if steps < 0:
            continue
        recs = hf_compare.run_dump(args.bin, os.path.abspath(args.gguf), prompts_file, steps,
                                   os.path.join(args.work, f"dump-{device}.jsonl"), device)
        if recs is None:
            return 1
        runs[key] = recs
    # The CPU executor computes in float32 from the same dequantised weights as transformers' float32 model.
    failures, rows = hf_compare.compare_runs(name, model, model32, prompts, runs, args.steps,
                                             {"CPU": CPU_BOUND32}, {"CPU": args.cpu_steps})
    if any(r[4] > 0.05 for r in rows):
        print("note: logits far from transformers' float32; suspect the q/k un-permutation of the GGUF first")
    if chat:
        print(f"chat prompt: {len(chat)} tokens")
    print(f"prompts written to {prompts_file} (random token ids, seed {seed}, lengths {', '.join(map(str, PROMPT_LENGTHS))})")
    hf_compare.print_rows(rows, failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
