"""`dynamo-serve tokenize` / `detokenize` from the command line: output formats, the BOS default,
files, and error messages that name what is wrong."""
import json
import subprocess
from pathlib import Path

import pytest

from test_tokenizer_differential import BIN, DATA

SPM = DATA / "spm-bpe-32k"


def run(*args, **kw):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=60, **kw)


@pytest.fixture(autouse=True)
def built():
    if not Path(BIN).exists():
        pytest.skip(f"{BIN} is not built")


def test_tokenize_text_json_and_plain():
    out = run("tokenize", "--model", SPM, "--text", "Hello world", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"token_ids": [1, 22557, 1526]}
    plain = run("tokenize", "--model", SPM, "--text", "Hello world", "--no-add-special")
    assert plain.stdout.split() == ["22557", "1526"]


def test_tokenize_file_and_detokenize(tmp_path):
    f = tmp_path / "in.txt"
    f.write_bytes("Grüße\n🦙 <s> x".encode())
    out = run("tokenize", "--model", SPM / "tokenizer.json", "--file", f, "--json")
    ids = json.loads(out.stdout)["token_ids"]
    assert ids[0] == 1 and 1 in ids[1:]  # BOS, and <s> in the text is the special token
    text = run("detokenize", "--model", SPM, "--ids", ",".join(map(str, ids)), "--skip-special")
    assert text.returncode == 0, text.stderr
    assert text.stdout == "Grüße\n🦙   x\n"  # Hugging Face gives three spaces here too
    keep = run("detokenize", "--model", SPM, "--ids", ",".join(map(str, ids)))
    assert keep.stdout.startswith("<s>")


def test_jsonl_batch_with_hex_lines(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text('"Hello world"\n{"hex": "48c3"}\n""\n', encoding="utf-8")
    out = run("tokenize", "--model", SPM, "--file", f, "--jsonl", "--with-decode")
    rows = [json.loads(l) for l in out.stdout.split("\n") if l]
    assert [r["decoded"] for r in rows] == ["Hello world", "H\ufffd", ""]
    assert rows[0]["token_ids"] == [1, 22557, 1526] and rows[2]["token_ids"] == [1]


def test_jsonl_ids_lines_are_decoded_and_streamed(tmp_path):
    f = tmp_path / "ids.jsonl"
    f.write_text('{"ids": [111, 255]}\n{"ids": [1, 15359, 2]}\n', encoding="utf-8")
    out = run("tokenize", "--model", SPM, "--file", f, "--jsonl", "--with-decode")
    rows = [json.loads(l) for l in out.stdout.split("\n") if l]
    assert rows[0]["token_ids"] == [111, 255]
    # <0x6C> <0xFC> is not valid UTF-8: one U+FFFD per byte, streamed the same way.
    assert rows[0]["decoded"] == rows[0]["streamed"] == "\ufffd\ufffd"
    assert rows[1]["decoded"] == rows[1]["streamed"] == "Hi"
    assert rows[1]["decoded_with_special"] == rows[1]["streamed_with_special"] == "<s> Hi</s>"
    bad = tmp_path / "bad_ids.jsonl"
    bad.write_text('{"ids": [1, 99999999]}\n')
    err = run("tokenize", "--model", SPM, "--file", bad, "--jsonl")
    assert err.returncode != 0 and f"{bad}:1" in err.stderr and "vocabulary size" in err.stderr


def test_errors_name_the_problem(tmp_path):
    missing = run("tokenize", "--model", tmp_path / "nope", "--text", "a")
    assert missing.returncode != 0 and str(tmp_path / "nope") in missing.stderr
    bad_ids = run("detokenize", "--model", SPM, "--ids", "1,abc")
    assert bad_ids.returncode != 0 and "'abc'" in bad_ids.stderr
    too_big = run("detokenize", "--model", SPM, "--ids", "99999999")
    assert too_big.returncode != 0 and "outside the vocabulary" in too_big.stderr
    no_text = run("tokenize", "--model", SPM)
    assert no_text.returncode != 0 and "--text" in no_text.stderr
    bad_line = tmp_path / "bad.jsonl"
    bad_line.write_text('"ok"\n[1, 2]\n')
    out = run("tokenize", "--model", SPM, "--file", bad_line, "--jsonl")
    assert out.returncode != 0 and f"{bad_line}:2" in out.stderr
