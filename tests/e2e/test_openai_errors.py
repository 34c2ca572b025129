"""Every error class of the OpenAI server maps to the right status, OpenAI error JSON and the SDK's
exception; checked with the SDK and with raw HTTP (curl-like) requests."""
import subprocess

import openai
import pytest
import requests

from openai_server import Server

MSGS = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def server():
    s = Server("--max-body-bytes", "65536")
    yield s
    assert s.stop() == 0, s.output()


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=60)


def error_of(resp, status):
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) >= {"message", "type", "param", "code"}
    assert err["message"]
    return err


@pytest.mark.parametrize("field,value", [
    ("max_tokens", -1), ("max_tokens", "5"), ("max_tokens", 2**31), ("temperature", 3), ("top_p", 0),
    ("n", 0), ("n", 10**6), ("top_k", -5), ("seed", 2**63), ("stop", 5), ("logit_bias", {"x": 1}),
    ("presence_penalty", 9), ("min_p", -1), ("stop_token_ids", [-1]),
])
def test_bad_field_is_400_naming_it(client, field, value):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="smol", messages=MSGS, max_tokens=2, extra_body={field: value})
    assert e.value.status_code == 400
    assert field in e.value.message
    assert e.value.body["param"] == field


def test_logprob_limits(client):
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="smol", messages=MSGS, max_tokens=2, logprobs=True, top_logprobs=21)
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="smol", prompt="x", max_tokens=2, logprobs=21)


def test_context_length_is_400(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model="smol", prompt="Hello", max_tokens=10**8)
    assert "context length" in e.value.message
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="smol", prompt="word " * 10000, max_tokens=1)  # 10,000 tokens, 50 kB


def test_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-9", messages=MSGS, max_tokens=2)


def test_raw_http_errors(server):
    u = server.url
    error_of(requests.post(u + "/v1/chat/completions", data="{not json", headers={"Content-Type": "application/json"}),
             400)
    error_of(requests.post(u + "/v1/chat/completions", json={"messages": []}), 400)
    error_of(requests.post(u + "/v1/completions", json={}), 400)
    error_of(requests.post(u + "/v1/nope", json={}), 404)
    r = requests.get(u + "/v1/chat/completions")
    error_of(r, 405)
    assert r.headers["Allow"] == "POST"
    error_of(requests.post(u + "/v1/completions", data=b" " * 70000), 413)
    deep = "[" * 200 + "]" * 200
    error_of(requests.post(u + "/v1/chat/completions", data='{"messages":' + deep + "}"), 400)


def test_curl_error_body(server):
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", server.url + "/v1/completions", "-H",
                          "Content-Type: application/json", "-d", '{"prompt": "x", "n": "two"}'],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    body, code = out.rsplit("\n", 1)
    assert code == "400"
    assert '"param":"n"' in body


def test_server_survives_bad_input_and_still_serves(client):
    r = client.completions.create(model="smol", prompt="Hi", max_tokens=2)
    assert r.choices[0].text is not None


def test_aux_endpoints(server):
    u = server.url
    assert requests.get(u + "/health").status_code == 200
    models = requests.get(u + "/v1/models").json()
    assert models["object"] == "list" and models["data"][0]["id"] == "smol"
    tok = requests.post(u + "/tokenize", json={"prompt": "Hello world", "add_special_tokens": False}).json()
    assert tok["count"] == len(tok["tokens"]) > 0 and tok["max_model_len"] > 0
    assert requests.post(u + "/detokenize", json={"tokens": tok["tokens"]}).json()["prompt"] == "Hello world"
    error_of(requests.post(u + "/detokenize", json={"tokens": [-1]}), 400)
    text = requests.get(u + "/metrics").text
    for name in ["dynamo_serve_time_to_first_token_seconds_bucket", "dynamo_serve_inter_token_latency_seconds_count",
                 "dynamo_serve_e2e_request_latency_seconds_sum", "dynamo_serve_request_queue_time_seconds_count",
                 "dynamo_serve_request_prompt_tokens_bucket", "dynamo_serve_request_generation_tokens_bucket",
                 "dynamo_serve_request_success_total", "dynamo_serve_prompt_tokens_total",
                 "dynamo_serve_generation_tokens_total", "dynamo_serve_prefix_cache_queries_total",
                 "dynamo_serve_prefix_cache_hits_total", "dynamo_serve_client_disconnects_total",
                 "dynamo_serve_rejected_requests_total", "dynamo_serve_num_requests_running",
                 "dynamo_serve_num_requests_waiting", "dynamo_serve_kv_cache_usage_ratio",
                 "dynamo_serve_pool_kv_cache_usage_ratio"]:
        assert "\n" + name in text, name
