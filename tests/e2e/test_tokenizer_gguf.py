"""Vocabulary-only GGUF files, written here with the `gguf` package from the fixture tokenizers,
must tokenize exactly like their sources: llama.cpp's vectors for llama3 ("llama-bpe"), qwen2
("qwen2") and llama2 ("llama", SentencePiece scores), and GPT-2 ("gpt2")."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from test_tokenizer_differential import BIN, DATA, materialize

gguf = pytest.importorskip("gguf")


def read_spm_pieces(model_file):
    """(piece, score, type) from a SentencePiece tokenizer.model (protobuf field 1 of ModelProto)."""
    data = Path(model_file).read_bytes()

    def varint(buf, i):
        shift = value = 0
        while True:
            b = buf[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value, i

    import struct
    pieces, i = [], 0
    while i < len(data):
        key, i = varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 2:
            n, i = varint(data, i)
            body, i = data[i:i + n], i + n
            if field == 1:
                piece, score, kind, j = "", 0.0, 1, 0
                while j < len(body):
                    k, j = varint(body, j)
                    if k >> 3 == 1:
                        m, j = varint(body, j)
                        piece, j = body[j:j + m].decode("utf-8"), j + m
                    elif k >> 3 == 2:
                        score, j = struct.unpack("<f", body[j:j + 4])[0], j + 4
                    elif k >> 3 == 3:
                        kind, j = varint(body, j)
                    else:
                        raise AssertionError("unexpected field in SentencePiece")
                pieces.append((piece, score, kind))
        elif wire == 0:
            _, i = varint(data, i)
        elif wire == 5:
            i += 4
        elif wire == 1:
            i += 8
    return pieces


def write_gguf(path, kv):
    w = gguf.GGUFWriter(str(path), arch="llama")
    kv(w)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()


def bpe_gguf(path, tokenizer_json, pre):
    tj = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
    vocab = dict(tj["model"]["vocab"])
    special = set()
    for t in tj["added_tokens"]:
        vocab[t["content"]] = t["id"]
        if t["special"]:
            special.add(t["id"])
    n = max(vocab.values()) + 1
    tokens = [f"[PAD{i}]" for i in range(n)]
    for t, i in vocab.items():
        tokens[i] = t
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]

    def kv(w):
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types([3 if i in special else 1 for i in range(n)])
        w.add_token_merges(merges)
        w.add_add_bos_token(False)
    write_gguf(path, kv)


def cases(name):
    inp = (DATA / "vectors" / f"{name}.inp").read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")[:-1]
    out = (DATA / "vectors" / f"{name}.out").read_text(encoding="utf-8").split("\n")[:-1]
    return inp, [[int(x) for x in line.split()] for line in out]


def tokenize(model, texts, tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text("".join(json.dumps(t) + "\n" for t in texts), encoding="utf-8")
    out = subprocess.run([BIN, "tokenize", "--model", str(model), "--file", str(f), "--jsonl",
                          "--no-add-special"], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    return [json.loads(l)["token_ids"] for l in out.stdout.decode().split("\n") if l]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    if not Path(BIN).exists():
        pytest.skip(f"{BIN} is not built")
    return tmp_path_factory.mktemp("gguf_vocab")


@pytest.mark.parametrize("vectors,fixture,pre", [("llama3", "llama3", "llama-bpe"),
                                                 ("qwen2", "qwen3", "qwen2")])
def test_bpe_vocab_only_gguf(vectors, fixture, pre, work):
    path = work / f"{fixture}.gguf"
    bpe_gguf(path, materialize(fixture, work) / "tokenizer.json", pre)
    texts, want = cases(vectors)
    assert tokenize(path, texts, work) == want


def test_llama_spm_vocab_only_gguf(work):
    pieces = read_spm_pieces(DATA / "llama2-spm" / "tokenizer.model")
    assert len(pieces) == 32000
    path = work / "llama2.gguf"

    def kv(w):
        w.add_tokenizer_model("llama")
        w.add_token_list([p for p, _, _ in pieces])
        w.add_token_scores([s for _, s, _ in pieces])
        w.add_token_types([t for _, _, t in pieces])
        w.add_unk_token_id(0)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_add_bos_token(True)
        w.add_add_space_prefix(True)
    write_gguf(path, kv)
    texts, want = cases("llama2-spm")
    assert tokenize(path, texts, work) == want
    # BOS is added by default, as tokenizer.ggml.add_bos_token says.
    out = subprocess.run([BIN, "tokenize", "--model", str(path), "--text", "Hello", "--json"],
                         capture_output=True, timeout=60, text=True)
    assert json.loads(out.stdout)["token_ids"][0] == 1


def test_gguf_errors_name_the_file(work):
    path = work / "novocab.gguf"
    write_gguf(path, lambda w: w.add_string("general.name", "x"))
    out = subprocess.run([BIN, "tokenize", "--model", str(path), "--text", "a"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert str(path) in out.stderr and "tokenizer.ggml.model" in out.stderr
