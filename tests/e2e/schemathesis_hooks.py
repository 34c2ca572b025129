"""Schemathesis hooks for tests/e2e/test_schemathesis.py and scripts/schemathesis.sh (loaded through
SCHEMATHESIS_HOOKS=schemathesis_hooks with tests/e2e on PYTHONPATH).

1. Positive cases only: repair the couplings between fields that OpenAPI 3.0 cannot state (the
   server answers them 400, documented), so that schema-valid data reaches the engine instead of
   stopping at validation: stream_options needs stream, min_tokens <= max_tokens, top_logprobs > 0
   needs logprobs, logit_bias keys are token ids, prompts x n within the batch limit, and chat
   messages carry string content (the model's chat template reads message['content']). Negative
   cases are sent as generated. Nothing here caps cost: max_tokens is bounded by the schema itself
   (the server's --max-model-len).
2. Counts every request sent, per operation and generation mode, into $SCHEMATHESIS_COUNTS (JSON).
"""
import atexit
import collections
import json
import os

import schemathesis

COUNTS = collections.Counter()
_OUT = os.environ.get("SCHEMATHESIS_COUNTS")
_PROMPT_LIMITS = {}  # filled from the served document: max_token_id, max_choices


def _limits(case):
    if not _PROMPT_LIMITS:
        raw = case.operation.schema.raw_schema
        props = raw["components"]["schemas"]
        _PROMPT_LIMITS["max_token_id"] = props["TokenId"]["maximum"]
        text = props["Prompt"]["description"]
        # "... prompts x n at most N ..." is rendered from {{max_choices}}.
        _PROMPT_LIMITS["max_choices"] = int(text.split("prompts x n at most ")[1].split(" ")[0])
    return _PROMPT_LIMITS


def _is_negative(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_negative


def _repair_messages(messages):
    for m in messages:
        if isinstance(m, dict) and m.get("content") is None:
            m["content"] = ""


def _repair_generation(body, limits):
    if body.get("stream_options") is not None and body.get("stream") is not True:
        body["stream"] = True
    # Without max_tokens: 16 for completions, the context's rest for chat (16 is safe for both).
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or 16
    if (body.get("min_tokens") or 0) > max_tokens:
        body["min_tokens"] = max_tokens
    if isinstance(body.get("logit_bias"), dict):
        body["logit_bias"] = {str(i % (limits["max_token_id"] + 1)): v
                              for i, v in enumerate(body["logit_bias"].values())}


@schemathesis.hook
def map_case(context, case):
    op = case.operation.label
    if _is_negative(case) or not isinstance(case.body, dict):
        return case
    body = case.body
    limits = _limits(case)
    if op == "POST /v1/chat/completions":
        _repair_messages(body.get("messages", []))
        _repair_generation(body, limits)
        if (body.get("top_logprobs") or 0) > 0:
            body["logprobs"] = True
    elif op == "POST /v1/completions":
        _repair_generation(body, limits)
        prompt = body.get("prompt")
        prompts = len(prompt) if isinstance(prompt, list) and prompt and isinstance(prompt[0], (str, list)) else 1
        if body.get("n") and prompts * body["n"] > limits["max_choices"]:
            body["n"] = max(1, limits["max_choices"] // prompts)
    elif op == "POST /tokenize":
        _repair_messages(body.get("messages") or [])
    return case


REJECTED = collections.Counter()  # positive cases answered 4xx: why (the error message's start)


@schemathesis.hook
def after_call(context, case, response):
    negative = _is_negative(case)
    COUNTS[f"{case.operation.label} {'negative' if negative else 'positive'}"] += 1
    if not negative and 400 <= response.status_code < 500:
        try:
            message = response.json()["error"]["message"]
        except Exception:
            message = response.text
        REJECTED[f"{case.operation.label} {response.status_code} {message[:70]}"] += 1


@atexit.register
def _write_counts():
    if _OUT:
        with open(_OUT, "w") as f:
            json.dump({"requests": dict(sorted(COUNTS.items())),
                       "positive_rejected": dict(REJECTED.most_common())}, f, indent=1)
