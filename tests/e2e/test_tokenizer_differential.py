"""Differential test: dynamo-serve's tokenizer against Hugging Face `tokenizers` over >= 10,000
generated strings per tokenizer (plus invalid UTF-8). Ids must be identical, decode must match
(with and without special tokens), decode(encode(x)) == x wherever the reference round-trips, and
the streaming detokenizer's concatenated output must equal the full decode. A second test decodes
random id sequences (byte tokens forming invalid UTF-8, special and added tokens, slices of real
encodings): stream == our decode == Hugging Face's decode, with and without special tokens."""
import gzip
import json
import os
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from tokenizer_corpus import id_sequences, invalid_utf8, strings

tokenizers = pytest.importorskip("tokenizers")

SOURCE = Path(os.environ.get("DYNAMO_SOURCE_DIR", Path(__file__).resolve().parents[2]))
DATA = SOURCE / "tests" / "data" / "tokenizers"
BIN = os.environ.get("DYNAMO_SERVE_BIN", str(SOURCE / "build" / "dynamo-serve"))
DEFAULT_GGUF = SOURCE / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
COUNT = 10_000
INVALID = 300
ID_SEQUENCES = 600


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    if not Path(BIN).exists():
        pytest.skip(f"{BIN} is not built")
    return tmp_path_factory.mktemp("tokenizers")


def materialize(name, work):
    """The fixture folder with its .gz files inflated (see tests/data/tokenizers/README.md)."""
    src = DATA / name
    dst = work / name
    if not dst.exists():
        dst.mkdir()
        for f in src.iterdir():
            if f.suffix == ".gz":
                with gzip.open(f, "rb") as i, open(dst / f.stem, "wb") as o:
                    shutil.copyfileobj(i, o)
            else:
                shutil.copy(f, dst / f.name)
    return dst


def gguf_reference(path):
    """SmolLM2's Hugging Face tokenizer, rebuilt from the GGUF's vocabulary and merges: byte-level
    BPE after single-digit splitting (its tokenizer.json; llama.cpp calls this pre "smollm")."""
    from gguf import GGUFReader
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    reader = GGUFReader(str(path))

    def array(key):
        field = reader.fields[key]
        return [field.parts[i] for i in field.data]

    assert bytes(reader.fields["tokenizer.ggml.pre"].parts[-1]).decode() == "smollm"
    tokens = [bytes(p).decode("utf-8") for p in array("tokenizer.ggml.tokens")]
    types = [int(p[0]) for p in array("tokenizer.ggml.token_type")]
    merges = [tuple(bytes(p).decode("utf-8").split(" ", 1)) for p in array("tokenizer.ggml.merges")]
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, types) if ty == 3])
    return tok


def metaspace_variant(tok):
    """Mistral's vocabulary behind a Metaspace pre-tokenizer and decoder (the newer tokenizer.json
    form of SentencePiece models) instead of its Prepend/Replace normalizers."""
    from tokenizers import decoders, normalizers, pre_tokenizers
    tok.normalizer = normalizers.Sequence([])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)


def pipeline_variant(tok):
    """Qwen3's vocabulary behind normalizers and pre-tokenizers no shipped model combines this way,
    to cover every split behavior, invert, Digits, Strip, Lowercase, NFKC and regex Replace."""
    from tokenizers import Regex, normalizers, pre_tokenizers
    tok.normalizer = normalizers.Sequence([
        normalizers.NFKC(), normalizers.Lowercase(),
        normalizers.Replace(Regex(r"\d{4}"), "<year>"), normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\s+"), "merged_with_next"),
        pre_tokenizers.Split(",", "removed"),
        pre_tokenizers.Split(Regex(r"[.!?]"), "merged_with_previous"),
        pre_tokenizers.Split(Regex(r"\p{P}"), "contiguous", invert=True),
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)])


def added_tokens_variant(tok):
    """Llama 3 with added tokens that use lstrip, rstrip, single_word and normalized."""
    from tokenizers import AddedToken
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    tok.add_tokens([AddedToken("[new]", rstrip=True, normalized=True),
                    AddedToken("hello", single_word=True, normalized=False),
                    AddedToken("both ways", lstrip=True, rstrip=True, normalized=False),
                    AddedToken("Straße", normalized=True),
                    # "Ã" is byte 0xC3 to the ByteLevel decoder: this token ends in a partial character.
                    AddedToken("x\u00c3", normalized=False)])


def byte_lookalike_variant(tok):
    """Mistral with added tokens that look like byte-fallback tokens to the ByteFallback decoder
    ("<0x+F>" is byte 0x0F to Rust's from_str_radix) or sit between byte runs."""
    from tokenizers import AddedToken
    tok.add_tokens([AddedToken("<0x+F>", normalized=False), AddedToken("<0xzz>", normalized=False)])
    tok.add_special_tokens([AddedToken("<ctrl>", special=True)])


# name -> (fixture it starts from, change applied with the Python API, strings)
VARIANTS = {"spm-metaspace": ("spm-bpe-32k", metaspace_variant, 3000),
            "qwen3-pipeline": ("qwen3", pipeline_variant, 3000),
            "llama3-added": ("llama3", added_tokens_variant, 3000),
            "spm-byte-added": ("spm-bpe-32k", byte_lookalike_variant, 300)}


def variant(name, work):
    """A tokenizer.json written by `tokenizers` itself after changing a fixture's pipeline."""
    base, change, _ = VARIANTS[name]
    folder = work / name
    if not folder.exists():
        folder.mkdir()
        tok = tokenizers.Tokenizer.from_file(str(materialize(base, work) / "tokenizer.json"))
        change(tok)
        tok.save(str(folder / "tokenizer.json"))
    return folder


def reference(name, folder):
    if name == "smollm2-gguf":
        return gguf_reference(folder)
    if name == "gpt2":
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers
        tok = Tokenizer(models.BPE.from_file(str(folder / "encoder.json"), str(folder / "vocab.bpe")))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.add_special_tokens(["<|endoftext|>"])
        return tok
    return tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))


def run_ours(folder, lines, work, name):
    inp = work / f"{name}.jsonl"
    inp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    out = subprocess.run([BIN, "tokenize", "--model", str(folder), "--file", str(inp), "--jsonl",
                          "--with-decode"], capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    # split("\n"), not splitlines(): U+2028 and U+0085 are line breaks to Python, not to JSON.
    rows = [json.loads(l) for l in out.stdout.decode("utf-8").split("\n") if l]
    assert len(rows) == len(lines)
    return rows


NAMES = ["gpt2", "llama3", "qwen3", "spm-bpe-32k", "smollm2-gguf", *VARIANTS]


def folder_of(name, work):
    if name in VARIANTS:
        return variant(name, work)
    if name == "smollm2-gguf":
        if not DEFAULT_GGUF.exists():
            pytest.skip(f"{DEFAULT_GGUF} is not downloaded (scripts/setup.sh fetches it)")
        return DEFAULT_GGUF
    return materialize(name, work)


@pytest.mark.parametrize("name", NAMES)
def test_differential(name, work):
    count = VARIANTS[name][2] if name in VARIANTS else COUNT
    folder = folder_of(name, work)
    ref = reference(name, folder)
    added = sorted(t.content for t in ref.get_added_tokens_decoder().values())
    specials = [t for t in added if "reserved" not in t][:60] + [t for t in added if "reserved" in t][:4]
    seed = zlib.crc32(name.encode())
    texts = strings(count, seed, specials)
    bad = invalid_utf8(INVALID, seed + 1)
    lines = [json.dumps(t, ensure_ascii=False) for t in texts]
    lines += [json.dumps({"hex": b.hex()}) for b in bad]
    ours = run_ours(folder, lines, work, name)

    inputs = texts + [b.decode("utf-8", errors="replace") for b in bad]
    want = ref.encode_batch(inputs)
    want_ids = [e.ids for e in want]
    want_text = ref.decode_batch(want_ids, skip_special_tokens=True)
    want_full = ref.decode_batch(want_ids, skip_special_tokens=False)

    failures = []
    round_trips = 0
    for i, (text, row) in enumerate(zip(inputs, ours)):
        problems = []
        if row["token_ids"] != want_ids[i]:
            problems.append(f"ids {row['token_ids'][:40]} != {want_ids[i][:40]}")
        elif row["decoded"] != want_text[i]:
            problems.append(f"decode {row['decoded']!r} != {want_text[i]!r}")
        elif row["decoded_with_special"] != want_full[i]:
            problems.append(f"decode(keep special) {row['decoded_with_special']!r} != {want_full[i]!r}")
        if want_text[i] == text:
            round_trips += 1
            if row["decoded"] != text:
                problems.append("decode(encode(x)) != x although the reference round-trips")
        if row["streamed"] != row["decoded"]:
            problems.append(f"stream {row['streamed']!r} != decode {row['decoded']!r}")
        if problems:
            failures.append(f"#{i} {text[:80]!r}: " + "; ".join(problems))
    assert not failures, f"{len(failures)} of {len(inputs)} differ:\n" + "\n".join(failures[:15])
    if name not in VARIANTS:  # the variants lowercase or strip, so they rarely round-trip
        assert round_trips > count // 3, "the corpus should mostly round-trip"


def byte_token_ids(ref):
    """byte -> id of the token that stands for that one byte: "<0xHH>" (byte fallback) where the
    vocabulary has it, else GPT-2's printable stand-in character (byte-level); None for the few
    bytes some byte-level vocabularies lack (SmolLM2 has no token for 0x04, for instance)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("\xa1"), ord("\xac") + 1),
                 *range(ord("\xae"), ord("\xff") + 1)]
    stand_in, extra = {}, 0
    for b in range(256):
        if b in printable:
            stand_in[b] = chr(b)
        else:
            stand_in[b] = chr(256 + extra)
            extra += 1
    ids = []
    for b in range(256):
        i = ref.token_to_id(f"<0x{b:02X}>")
        ids.append(i if i is not None else ref.token_to_id(stand_in[b]))
    assert sum(i is not None for i in ids) >= 200, "the vocabulary should cover most bytes"
    return ids


@pytest.mark.parametrize("name", NAMES)
def test_differential_ids(name, work):
    """Random id sequences, decoded: ours == Hugging Face's, and the stream equals both."""
    folder = folder_of(name, work)
    ref = reference(name, folder)
    seed = zlib.crc32(b"ids:" + name.encode())
    added = ref.get_added_tokens_decoder()
    specials = sorted(i for i, t in added.items() if "reserved" not in t.content)[:200]
    specials += sorted(i for i, t in added.items() if "reserved" in t.content)[:4]
    fragments = [e.ids for e in ref.encode_batch(strings(200, seed, []))]
    seqs = id_sequences(ID_SEQUENCES, seed, byte_token_ids(ref), ref.get_vocab_size(), specials,
                        fragments)
    seqs += [[], *([i] for i in specials[:20])]
    ours = run_ours(folder, [json.dumps({"ids": ids}) for ids in seqs], work, name + "-ids")
    want = ref.decode_batch(seqs, skip_special_tokens=True)
    want_full = ref.decode_batch(seqs, skip_special_tokens=False)
    failures = []
    for i, (ids, row) in enumerate(zip(seqs, ours)):
        problems = []
        if row["token_ids"] != ids:
            problems.append("ids not echoed")
        if row["decoded"] != want[i]:
            problems.append(f"decode {row['decoded']!r} != {want[i]!r}")
        if row["decoded_with_special"] != want_full[i]:
            problems.append(f"decode(keep special) {row['decoded_with_special']!r} != {want_full[i]!r}")
        if row["streamed"] != row["decoded"]:
            problems.append(f"stream {row['streamed']!r} != decode {row['decoded']!r}")
        if row["streamed_with_special"] != row["decoded_with_special"]:
            problems.append(f"stream(keep special) {row['streamed_with_special']!r} != "
                            f"{row['decoded_with_special']!r}")
        if problems:
            failures.append(f"#{i} {ids[:30]}: " + "; ".join(problems))
    assert not failures, f"{len(failures)} of {len(seqs)} differ:\n" + "\n".join(failures[:15])
