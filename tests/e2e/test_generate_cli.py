"""`dynamo-serve generate` as a user runs it: seeded sampling is reproducible and independent of batching,
bad input fails with a message naming the flag, and --load-format dummy runs without weight files."""
import json
import os
import subprocess
import sys

import pytest

SRC = os.environ.get("DYNAMO_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("DYNAMO_SERVE_BIN", os.path.join(SRC, "build", "dynamo-serve"))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    generated = os.path.join(SRC, "tests", "data", "generated", "llama_gqa_f32")
    if os.path.exists(os.path.join(generated, "config.json")):
        return generated
    out = str(tmp_path_factory.mktemp("tiny"))
    subprocess.run([sys.executable, os.path.join(SRC, "tests", "tools", "make_tiny_models.py"), out], check=True)
    return os.path.join(out, "llama_gqa_f32")


def run(*args):
    return subprocess.run([BIN, "generate", "--threads", "2", *args], capture_output=True, text=True, timeout=120)


def generate_json(*args):
    p = run("--json", *args)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


SAMPLING = ["--temperature", "1.5", "--top-p", "0.95", "--top-k", "50", "--max-tokens", "24", "--ignore-eos"]


def test_same_seed_same_tokens_alone_or_batched(model, tmp_path):
    prompts = [[5, 6, 7, 8], [9, 10, 11, 12, 13, 14, 15], [16]]
    alone = [generate_json("--model", model, "--prompt-ids", ",".join(map(str, p)), "--seed", "42", *SAMPLING)
             ["token_ids"] for p in prompts]
    assert generate_json("--model", model, "--prompt-ids", "5,6,7,8", "--seed", "42", *SAMPLING)["token_ids"] == alone[0]
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps(prompts))
    batched = generate_json("--model", model, "--batch-file", str(batch), "--seed", "42", "--prefill-chunk", "3",
                            *SAMPLING)["results"]
    assert [r["token_ids"] for r in batched] == alone
    # Another seed draws another continuation (at temperature 1.5 over 24 tokens).
    other = generate_json("--model", model, "--prompt-ids", "5,6,7,8", "--seed", "43", *SAMPLING)["token_ids"]
    assert other != alone[0]


def test_dummy_weights_need_only_the_config(model, tmp_path):
    folder = tmp_path / "config_only"
    folder.mkdir()
    (folder / "config.json").write_text(open(os.path.join(model, "config.json")).read())
    out = generate_json("--model", str(folder), "--load-format", "dummy", "--prompt-ids", "1,2,3", "--max-tokens", "4",
                        "--ignore-eos")
    assert len(out["token_ids"]) == 4


@pytest.mark.parametrize("args, message", [
    (["--prompt-ids", "1,x"], "--prompt-ids"),
    (["--prompt-ids", "1,2", "--top-p", "0"], "--top-p"),
    (["--prompt-ids", "1,2", "--temperature", "-1"], "--temperature"),
    (["--prompt-ids", "1,400"], "outside the vocabulary"),
    (["--prompt-ids", "1,2", "--device", "cuda:0"], "cuda"),
    ([], "exactly one of"),
])
def test_bad_input_fails_with_a_clear_message(model, args, message):
    p = run("--model", model, *args)
    assert p.returncode != 0
    # "cuda" appears as "CUDA executor: ..." in CUDA builds and as "no 'cuda' executor" without CUDA.
    assert message.lower() in p.stderr.lower(), p.stderr


def test_bad_batch_file(model, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[[1, 2], "three"]')
    p = run("--model", model, "--batch-file", str(bad))
    assert p.returncode != 0 and "prompt 1" in p.stderr, p.stderr


def test_text_prompt_streams_the_same_text_as_json():
    """--prompt goes through the model's tokenizer; streamed text equals the JSON text."""
    gguf = os.path.join(SRC, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
    if not os.path.exists(gguf):
        pytest.fail(f"{gguf} is missing: run scripts/setup.sh (it fetches the default model)")
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    out = generate_json("--model", gguf, "--prompt", prompt, "--temperature", "0", "--max-tokens", "16")
    assert out["token_ids"] == [504, 3575, 282, 4649, 314, 7042, 30, 2]
    assert out["text"] == "The capital of France is Paris."
    assert out["finish_reason"] == "stop"
    streamed = run("--model", gguf, "--prompt", prompt, "--temperature", "0", "--max-tokens", "16")
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout == "The capital of France is Paris.\n"


def test_text_prompt_without_a_tokenizer_is_refused(model):
    p = run("--model", model, "--prompt", "hello")
    assert p.returncode != 0 and "tokenizer" in p.stderr, p.stderr


def test_chat_applies_the_models_template():
    """--chat renders the GGUF's chat template (SmolLM2 adds its default system message) around --prompt."""
    gguf = os.path.join(SRC, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
    if not os.path.exists(gguf):
        pytest.fail(f"{gguf} is missing: run scripts/setup.sh (it fetches the default model)")
    rendered = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
    chat = generate_json("--model", gguf, "--prompt", "What is the capital of France?", "--chat", "--temperature", "0",
                         "--max-tokens", "16")
    plain = generate_json("--model", gguf, "--prompt", rendered, "--temperature", "0", "--max-tokens", "16")
    assert chat["prompt_tokens"] == plain["prompt_tokens"] == 37
    assert chat["token_ids"] == plain["token_ids"]
    assert chat["text"] == "The capital of France is Paris."


def test_chat_needs_a_text_prompt(model):
    p = run("--model", model, "--prompt-ids", "1,2", "--chat")
    assert p.returncode != 0 and "--chat" in p.stderr, p.stderr
