#!/usr/bin/env python3
"""Single-thread encode throughput, dynamo-serve vs Hugging Face `tokenizers`, on English prose and
on source code, one document per encode call (not batched). Prints MB/s both ways.

English: the licence texts every Debian machine has (/usr/share/common-licenses), cut into
paragraph groups of ~2 KB. Code: the Python standard library's modules and this repository's C++
sources, one file per document. Both are capped at --mb megabytes."""
import argparse
import glob
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import tokenizers  # noqa: E402  (after the thread settings)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "tokenizers"


def english(limit):
    docs, size = [], 0
    for f in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.islink(f):
            continue
        paras = Path(f).read_text(encoding="utf-8", errors="replace").split("\n\n")
        cur = ""
        for p in paras:
            cur += p + "\n\n"
            if len(cur) > 2000:
                docs.append(cur)
                size += len(cur.encode())
                cur = ""
        if cur:
            docs.append(cur)
    while size < limit:  # the licences are ~250 KB; repeat them to reach the size asked
        docs += docs[:]
        size *= 2
    return trim(docs, limit)


def code(limit):
    files = sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "*.py")))
    files += sorted(glob.glob(str(ROOT / "core" / "**" / "*.cpp"), recursive=True))
    docs = [Path(f).read_text(encoding="utf-8", errors="replace") for f in files]
    return trim(docs, limit)


def trim(docs, limit):
    out, size = [], 0
    for d in docs:
        if size >= limit:
            break
        out.append(d)
        size += len(d.encode())
    return out


def hf_bench(tok, docs, repeats):
    for d in docs:
        tok.encode(d, add_special_tokens=False)
    t0 = time.perf_counter()
    for _ in range(repeats):
        for d in docs:
            tok.encode(d, add_special_tokens=False)
    return sum(len(d.encode()) for d in docs) * repeats / (time.perf_counter() - t0) / 1e6


def ours_bench(binary, model, docs_file, repeats):
    out = subprocess.run([binary, "tokenize", "--model", str(model), "--file", str(docs_file),
                          "--bench", str(repeats)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["mb_per_s"]


def check_same(tok, binary, model, docs_file, docs):
    out = subprocess.run([binary, "tokenize", "--model", str(model), "--file", str(docs_file),
                          "--jsonl", "--no-add-special"], capture_output=True, text=True, check=True)
    ours = [json.loads(l)["token_ids"] for l in out.stdout.split("\n") if l]
    want = [tok.encode(d, add_special_tokens=False).ids for d in docs]
    return ours == want


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "build" / "dynamo-serve"))
    ap.add_argument("--mb", type=float, default=1.0, help="megabytes of each corpus")
    ap.add_argument("--repeats", type=int, default=3, help="passes over the corpus per round")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating HF / ours rounds; the best of each is reported (less noise)")
    ap.add_argument("--tokenizers", default="llama3,qwen3,spm-bpe-32k,gpt2")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_tok_"))
    corpora = {"english": english(int(args.mb * 1e6)), "code": code(int(args.mb * 1e6))}
    files = {}
    for name, docs in corpora.items():
        files[name] = work / f"{name}.jsonl"
        files[name].write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs),
                               encoding="utf-8")
    print(f"tokenizers {tokenizers.__version__}, single thread, one encode per document")
    print(f"{'tokenizer':<14}{'corpus':<9}{'docs':>6}{'MB':>7}{'HF MB/s':>10}{'ours MB/s':>11}"
          f"{'ratio':>7}  same ids")
    for name in args.tokenizers.split(","):
        folder = work / name
        shutil.copytree(DATA / name, folder)
        for gz in folder.glob("*.gz"):
            with gzip.open(gz, "rb") as i, open(gz.with_suffix(""), "wb") as o:
                shutil.copyfileobj(i, o)
        if name == "gpt2":
            from tokenizers import Tokenizer, decoders, models, pre_tokenizers
            tok = Tokenizer(models.BPE.from_file(str(folder / "encoder.json"), str(folder / "vocab.bpe")))
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            tok.decoder = decoders.ByteLevel()
        else:
            tok = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
        for corpus, docs in corpora.items():
            mb = sum(len(d.encode()) for d in docs) / 1e6
            hf = ours = 0.0
            for _ in range(args.rounds):
                hf = max(hf, hf_bench(tok, docs, args.repeats))
                ours = max(ours, ours_bench(args.bin, folder, files[corpus], args.repeats))
            same = check_same(tok, args.bin, folder, files[corpus], docs)
            print(f"{name:<14}{corpus:<9}{len(docs):>6}{mb:>7.2f}{hf:>10.2f}{ours:>11.2f}"
                  f"{ours / hf:>7.2f}  {'yes' if same else 'NO'}", flush=True)
    shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
