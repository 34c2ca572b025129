"""/v1/chat/completions through the official OpenAI SDK against the real binary and model:
stream equals non-stream, seeds, n, usage, stop strings, logprobs."""
import openai
import pytest
import requests

from openai_server import Server

MSGS = [{"role": "user", "content": "What is the capital of France?"}]

EOS_OFF = {"ignore_eos": True}  # vLLM extension: generate exactly max_tokens


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    assert s.stop() == 0, s.output()


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=120)


def test_models_lists_the_served_model(client):
    models = client.models.list()
    assert [m.id for m in models.data] == ["smol"]


def test_greedy_stream_equals_non_stream(client):
    full = client.chat.completions.create(model="smol", messages=MSGS, max_tokens=12, temperature=0)
    text = full.choices[0].message.content
    assert full.object == "chat.completion"
    assert full.choices[0].message.role == "assistant"
    assert full.choices[0].finish_reason in ("stop", "length")
    assert text
    chunks = list(client.chat.completions.create(model="smol", messages=MSGS, max_tokens=12, temperature=0,
                                                 stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert streamed == text
    assert chunks[-1].choices[0].finish_reason == full.choices[0].finish_reason


def test_usage_counts(server, client):
    r = client.chat.completions.create(model="smol", messages=MSGS, max_tokens=5, temperature=0, extra_body=EOS_OFF)
    prompt = requests.post(server.url + "/tokenize", json={"messages": MSGS}).json()["count"]
    assert r.usage.prompt_tokens == prompt
    assert r.usage.completion_tokens == 5
    assert r.usage.total_tokens == prompt + 5
    assert r.usage.prompt_tokens_details.cached_tokens >= 0
    assert r.choices[0].finish_reason == "length"


def test_stream_include_usage_ends_with_usage_chunk(client):
    chunks = list(client.chat.completions.create(model="smol", messages=MSGS, max_tokens=4, temperature=0,
                                                 extra_body=EOS_OFF, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 4
    assert all(c.usage is None for c in chunks[:-1])


def test_same_seed_same_text_and_n_choices(client):
    kw = dict(model="smol", messages=MSGS, max_tokens=8, temperature=1.0, seed=1234, extra_body=EOS_OFF)
    a = client.chat.completions.create(**kw)
    b = client.chat.completions.create(**kw)
    assert a.choices[0].message.content == b.choices[0].message.content
    many = client.chat.completions.create(n=3, **kw)
    assert sorted(c.index for c in many.choices) == [0, 1, 2]
    # choice i samples with seed + i, so choice 0 reproduces the single request
    assert many.choices[0].message.content == a.choices[0].message.content
    assert many.usage.completion_tokens == 3 * 8
    assert many.usage.prompt_tokens == a.usage.prompt_tokens


def test_stop_string_is_removed_and_never_streamed(client):
    base = client.chat.completions.create(model="smol", messages=MSGS, max_tokens=12, temperature=0,
                                          extra_body=EOS_OFF).choices[0].message.content
    words = base.split()
    assert len(words) >= 2, base
    stop = words[1]
    cut = base[: base.index(stop)]
    r = client.chat.completions.create(model="smol", messages=MSGS, max_tokens=12, temperature=0, extra_body=EOS_OFF,
                                       stop=[stop])
    assert r.choices[0].message.content == cut
    assert r.choices[0].finish_reason == "stop"
    chunks = list(client.chat.completions.create(model="smol", messages=MSGS, max_tokens=12, temperature=0,
                                                 extra_body=EOS_OFF, stop=stop, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == cut
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_logprobs(client):
    r = client.chat.completions.create(model="smol", messages=MSGS, max_tokens=4, temperature=0, extra_body=EOS_OFF,
                                       logprobs=True, top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == 4
    for e in content:
        assert e.logprob <= 0.0
        assert len(e.top_logprobs) == 3
        # greedy: the sampled token is the most likely one
        assert e.logprob == pytest.approx(e.top_logprobs[0].logprob, abs=1e-4)


def test_parallel_requests(client):
    from concurrent.futures import ThreadPoolExecutor
    kw = dict(model="smol", messages=MSGS, max_tokens=6, temperature=0, extra_body=EOS_OFF)
    want = client.chat.completions.create(**kw).choices[0].message.content
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: client.chat.completions.create(**kw).choices[0].message.content, range(4)))
    assert got == [want] * 4
