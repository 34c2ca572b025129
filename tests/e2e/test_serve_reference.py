"""`serve` end to end against the independent NumPy forward pass (tests/tools/numpy_reference.py): on
tiny random models, /v1/completions with token-id prompts, temperature 0 and return_tokens_as_token_ids
gives the reference's greedy token ids, and logprobs equal to the reference's log-softmax; streamed and
not, one prompt and several in one request, aggregated and through a CPU 1 prefill + 1 decode
deployment whose prefill is always remote (--max-local-prefill-length 1).

Tolerance: the executor computes in fp32 and the reference in float64 on the same stored weights;
test_cpu_reference.py bounds the logits by 5e-4, so a log-softmax value (a logit minus a logsumexp)
is within LOGPROB_TOL = 1e-3 (measured max 9e-6 over these tests)."""
import json
import os
import subprocess
import sys
import zlib

import numpy as np
import openai
import pytest
import requests
from tokenizers import Tokenizer

from openai_server import SOURCE_DIR, Server

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "tools"))
from numpy_reference import Reference  # noqa: E402

VARIANTS = ["llama_gqa_f32", "qwen3_qknorm_bf16", "smollm2_tied_bf16"]
DEPLOYMENTS = {
    "aggregated": [],
    "1p1d": ["--prefill-workers", "1", "--decode-workers", "1", "--max-local-prefill-length", "1"],
}
MAX_TOKENS = 16
LOGPROB_TOL = 1e-3
PROMPT_LENGTHS = (9, 1, 23)  # the first is the single-prompt request; all three go in the batch request
REQUEST = {"max_tokens": MAX_TOKENS, "temperature": 0, "logprobs": 1,
           "extra_body": {"ignore_eos": True, "return_tokens_as_token_ids": True}}


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """tests/data/generated when scripts/make_test_models.sh has written it (with tokenizers), else a
    fresh copy written by the generator."""
    generated = os.path.join(SOURCE_DIR, "tests", "data", "generated")
    if all(os.path.exists(os.path.join(generated, v, "tokenizer.json")) for v in VARIANTS):
        return generated
    out = str(tmp_path_factory.mktemp("tiny"))
    subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "tests", "tools", "make_tiny_models.py"), out],
                   check=True)
    return out


def prompt_for(variant, length):
    rng = np.random.default_rng(zlib.crc32(variant.encode()) * 7 + length)
    return [int(t) for t in rng.integers(3, 300, size=length)]


_expected = {}


def expected(model, prompt):
    """The reference's greedy continuation and the log-softmax row each token was chosen from."""
    key = (model, tuple(prompt))
    if key not in _expected:
        if model not in _expected:
            _expected[model] = Reference(model)
        tokens, logits = _expected[model].greedy(prompt, MAX_TOKENS)
        logits = logits - logits.max(axis=1, keepdims=True)
        _expected[key] = tokens, logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return _expected[key]


@pytest.fixture(scope="module", params=[(v, d) for v in VARIANTS for d in DEPLOYMENTS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def served(request, models_dir):
    variant, deployment = request.param
    model = os.path.join(models_dir, variant)
    server = Server("--cpu-threads", "1", *DEPLOYMENTS[deployment], model=model)
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=120)
    yield variant, deployment, model, server, client
    assert server.stop() == 0, server.output()


def token_ids(strings):
    assert all(s.startswith("token_id:") for s in strings), strings
    return [int(s.split(":", 1)[1]) for s in strings]


def check_choice(model, prompt, ids, logprobs, tops):
    """ids, their logprobs and the top-1 alternatives of one choice against the reference."""
    want_ids, want_lp = expected(model, prompt)
    assert ids == want_ids
    assert len(logprobs) == len(tops) == MAX_TOKENS
    for i, t in enumerate(ids):
        assert abs(logprobs[i] - want_lp[i][t]) <= LOGPROB_TOL, (i, logprobs[i], want_lp[i][t])
        # logprobs=1: the one alternative is the greedy token itself.
        assert len(tops[i]) == 1 and token_ids(list(tops[i])) == [t]
        assert abs(next(iter(tops[i].values())) - want_lp[i].max()) <= LOGPROB_TOL


def test_one_token_id_prompt(served):
    variant, _, model, _, client = served
    prompt = prompt_for(variant, PROMPT_LENGTHS[0])
    r = client.completions.create(model="smol", prompt=prompt, **REQUEST)
    assert len(r.choices) == 1 and r.choices[0].finish_reason == "length"
    assert r.usage.prompt_tokens == len(prompt) and r.usage.completion_tokens == MAX_TOKENS
    lp = r.choices[0].logprobs
    check_choice(model, prompt, token_ids(lp.tokens), lp.token_logprobs, lp.top_logprobs)


def test_several_token_id_prompts_in_one_request(served):
    variant, _, model, _, client = served
    prompts = [prompt_for(variant, n) for n in PROMPT_LENGTHS]
    r = client.completions.create(model="smol", prompt=prompts, **REQUEST)
    assert sorted(c.index for c in r.choices) == list(range(len(prompts)))
    assert r.usage.completion_tokens == MAX_TOKENS * len(prompts)
    for c in r.choices:
        check_choice(model, prompts[c.index], token_ids(c.logprobs.tokens), c.logprobs.token_logprobs,
                     c.logprobs.top_logprobs)


def test_streamed_token_id_prompts(served):
    variant, _, model, _, client = served
    prompts = [prompt_for(variant, n) for n in PROMPT_LENGTHS]
    got = {i: ([], [], []) for i in range(len(prompts))}
    for chunk in client.completions.create(model="smol", prompt=prompts, stream=True, **REQUEST):
        for c in chunk.choices:
            if c.logprobs is not None:
                ids, lps, tops = got[c.index]
                ids.extend(token_ids(c.logprobs.tokens))
                lps.extend(c.logprobs.token_logprobs)
                tops.extend(c.logprobs.top_logprobs)
    for i, prompt in enumerate(prompts):
        check_choice(model, prompt, *got[i])


def test_prefill_ran_where_the_deployment_says(served):
    """In the 1P1D deployment every prompt (longer than --max-local-prefill-length 1) went through the
    prefill worker, whose prefix cache lookups count it; the aggregated one has no prefill pool."""
    variant, deployment, _, server, client = served
    client.completions.create(model="smol", prompt=prompt_for(variant, 40), **REQUEST)
    m = server.metrics()
    prefill = [v for k, v in m.items() if k.startswith("dynamo_serve_prefix_cache_queries_total{")
               and 'pool="prefill"' in k]
    if deployment == "aggregated":
        assert prefill == []
    else:
        assert len(prefill) == 1 and prefill[0] > 0, m


def test_generated_tokenizer_loads_as_the_tokenizers_package_reads_it(served):
    """The tiny tokenizer.json: the server encodes text as the `tokenizers` package does (BOS first),
    has exactly the model's vocab_size ids, and names config.json's bos/eos ids in tokenizer_config."""
    _, _, model, server, _ = served
    tok = Tokenizer.from_file(os.path.join(model, "tokenizer.json"))
    with open(os.path.join(model, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(model, "tokenizer_config.json")) as f:
        tcfg = json.load(f)
    assert tok.get_vocab_size() == cfg["vocab_size"]
    assert tok.token_to_id(tcfg["bos_token"]) == cfg["bos_token_id"]
    eos = cfg["eos_token_id"] if isinstance(cfg["eos_token_id"], int) else cfg["eos_token_id"][0]
    assert tok.token_to_id(tcfg["eos_token"]) == eos
    text = "The quick brown fox jumps over 12 lazy dogs, héllo"
    want = tok.encode(text).ids
    assert want[0] == cfg["bos_token_id"]
    got = requests.post(server.url + "/tokenize", json={"prompt": text}, timeout=30).json()["tokens"]
    assert got == want
