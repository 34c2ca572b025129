"""/v1/completions through the OpenAI SDK against the real binary and model: prompt shapes,
streaming equality, echo, logprobs, token ids in and out."""
import openai
import pytest
import requests

from openai_server import Server

PROMPT = "The three primary colors are"

EOS_OFF = {"ignore_eos": True}  # vLLM extension: generate exactly max_tokens


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    assert s.stop() == 0, s.output()


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=120)


def test_text_prompt_stream_equals_non_stream(client):
    full = client.completions.create(model="smol", prompt=PROMPT, max_tokens=10, temperature=0)
    assert full.object == "text_completion"
    text = full.choices[0].text
    assert text
    chunks = list(client.completions.create(model="smol", prompt=PROMPT, max_tokens=10, temperature=0, stream=True))
    assert "".join(c.choices[0].text for c in chunks) == text
    assert chunks[-1].choices[0].finish_reason == full.choices[0].finish_reason


def test_token_id_prompt_matches_text_prompt(server, client):
    ids = requests.post(server.url + "/tokenize", json={"prompt": PROMPT}).json()["tokens"]
    by_text = client.completions.create(model="smol", prompt=PROMPT, max_tokens=6, temperature=0, extra_body=EOS_OFF)
    by_ids = client.completions.create(model="smol", prompt=ids, max_tokens=6, temperature=0, extra_body=EOS_OFF)
    assert by_ids.choices[0].text == by_text.choices[0].text
    assert by_ids.usage.prompt_tokens == len(ids) == by_text.usage.prompt_tokens
    batch = client.completions.create(model="smol", prompt=[ids, ids[:-1]], max_tokens=3, temperature=0,
                                      extra_body=EOS_OFF)
    assert [c.index for c in batch.choices] == [0, 1]
    assert batch.usage.prompt_tokens == 2 * len(ids) - 1
    assert batch.usage.completion_tokens == 6
    strs = client.completions.create(model="smol", prompt=[PROMPT, PROMPT], max_tokens=6, temperature=0,
                                     extra_body=EOS_OFF)
    assert [c.text for c in strs.choices] == [by_text.choices[0].text] * 2


def test_return_tokens_as_token_ids_round_trips(server, client):
    r = client.completions.create(model="smol", prompt=PROMPT, max_tokens=6, temperature=0, logprobs=2,
                                  extra_body={"return_tokens_as_token_ids": True, "ignore_eos": True})
    tokens = r.choices[0].logprobs.tokens
    assert len(tokens) == 6 and all(t.startswith("token_id:") for t in tokens)
    ids = [int(t.split(":", 1)[1]) for t in tokens]
    text = requests.post(server.url + "/detokenize", json={"tokens": ids}).json()["prompt"]
    assert text == r.choices[0].text
    for top in r.choices[0].logprobs.top_logprobs:
        assert len(top) == 2 and all(k.startswith("token_id:") for k in top)


def test_echo_and_logprobs(client):
    r = client.completions.create(model="smol", prompt=PROMPT, max_tokens=3, temperature=0, echo=True,
                                  extra_body=EOS_OFF)
    assert r.choices[0].text.startswith(PROMPT)
    lp = client.completions.create(model="smol", prompt=PROMPT, max_tokens=3, temperature=0, logprobs=3,
                                   extra_body=EOS_OFF).choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset) == 3
    assert all(v <= 0 for v in lp.token_logprobs)
    assert lp.text_offset[0] == 0


def test_stop_strings_and_seeded_sampling(client):
    base = client.completions.create(model="smol", prompt=PROMPT, max_tokens=10, temperature=0,
                                     extra_body=EOS_OFF).choices[0].text
    stop = base.strip().split()[0]
    r = client.completions.create(model="smol", prompt=PROMPT, max_tokens=10, temperature=0, extra_body=EOS_OFF,
                                  stop=stop)
    assert r.choices[0].text == base[: base.index(stop)]
    assert r.choices[0].finish_reason == "stop"
    kw = dict(model="smol", prompt=PROMPT, max_tokens=8, temperature=0.9, top_p=0.95, seed=7, extra_body=EOS_OFF)
    assert client.completions.create(**kw).choices[0].text == client.completions.create(**kw).choices[0].text


def test_curl_streaming_framing(server):
    import subprocess
    out = subprocess.run(
        ["curl", "-sN", server.url + "/v1/completions", "-H", "Content-Type: application/json", "-d",
         '{"prompt": "Hi", "max_tokens": 3, "stream": true, "ignore_eos": true}'],
        capture_output=True, text=True, timeout=120, check=True).stdout
    events = out.split("\n\n")
    assert events[-1] == ""
    assert events[-2] == "data: [DONE]"
    assert all(e.startswith("data: {") for e in events[:-2])
