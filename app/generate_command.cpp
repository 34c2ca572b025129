// `dynamo-serve generate`: loads a model, runs one prompt (or a batch file of prompts) on one executor
// directly (no engine), streams the text, and optionally prints JSON and dumps the raw logits.
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/generate_text.h"
#include "core/executor/batch_generate.h"
#include "core/executor/executor.h"
#include "core/model/model.h"
#include "core/util/errors.h"

namespace dynamo::app {
namespace {

struct GenerateArgs {
  std::string model, load_format = "auto", device = "cpu";
  std::string prompt, prompt_ids, batch_file, dump_logits;
  int32_t max_tokens = 16, top_k = 0, min_tokens = 0, threads = 0, block_size = 16, prefill_chunk = 0;
  int32_t max_model_len = 0, logprobs = -1;
  float temperature = 1.0f, top_p = 1.0f, min_p = 0.0f, repetition_penalty = 1.0f;
  uint64_t seed = 0;
  bool ignore_eos = false, json = false, chat = false;
};

std::vector<int32_t> parse_ids(const std::string& s, const std::string& what) {
  std::vector<int32_t> ids;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    long v = -1;
    try {
      v = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 0 || v > INT32_MAX) {
      throw ConfigError(what + ": '" + item + "' is not a token id (expected e.g. 1,2,3)");
    }
    ids.push_back(static_cast<int32_t>(v));
  }
  if (ids.empty()) throw ConfigError(what + ": no token ids");
  return ids;
}

// A JSON list of prompts, each a list of token ids: [[1, 2, 3], [4, 5]].
std::vector<std::vector<int32_t>> read_batch_file(const std::string& path) {
  simdjson::padded_string text;
  if (simdjson::padded_string::load(path).get(text)) throw ConfigError("--batch-file: cannot read '" + path + "'");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array prompts;
  if (parser.parse(text).get(doc) || doc.get_array().get(prompts) || prompts.size() == 0) {
    throw ConfigError("--batch-file '" + path + "': expected a non-empty JSON list of token-id lists");
  }
  std::vector<std::vector<int32_t>> out;
  for (simdjson::dom::element p : prompts) {
    simdjson::dom::array ids;
    if (p.get_array().get(ids) || ids.size() == 0) {
      throw ConfigError("--batch-file '" + path + "': prompt " + std::to_string(out.size()) +
                        " is not a non-empty list of token ids");
    }
    out.emplace_back();
    for (simdjson::dom::element id : ids) {
      int64_t v;
      if (id.get_int64().get(v) || v < 0 || v > INT32_MAX) {
        throw ConfigError("--batch-file '" + path + "': prompt " + std::to_string(out.size() - 1) +
                          " holds a value that is not a token id");
      }
      out.back().push_back(static_cast<int32_t>(v));
    }
  }
  return out;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string json_float(float v) {
  if (!std::isfinite(v)) return v < 0 ? "-1e30" : "1e30";  // JSON has no infinities
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

std::string json_result(const BatchSequence& s, GenerateText* text) {
  std::string ids;
  for (size_t i = 0; i < s.generated.size(); ++i) ids += (i ? "," : "") + std::to_string(s.generated[i]);
  std::string logprobs;
  if (s.sampling.logprobs >= 0) {
    logprobs = ",\"logprobs\":[";
    for (size_t i = 0; i < s.details.size(); ++i) {
      const SampledToken& d = s.details[i];
      logprobs += (i ? ",{" : "{") + std::string("\"token\":") + std::to_string(d.token) +
                  ",\"logprob\":" + json_float(d.logprob) + ",\"top\":[";
      for (size_t k = 0; k < d.top_logprobs.size(); ++k) {
        logprobs += (k ? ",[" : "[") + std::to_string(d.top_logprobs[k].token) + "," +
                    json_float(d.top_logprobs[k].logprob) + "]";
      }
      logprobs += "]}";
    }
    logprobs += "]";
  }
  return "{\"token_ids\":[" + ids + "],\"text\":" + (text ? json_string(text->decode(s.generated)) : "null") +
         ",\"finish_reason\":\"" + s.finish_reason + "\",\"prompt_tokens\":" + std::to_string(s.prompt.size()) +
         logprobs + "}";
}

void dump_logits(const std::string& path, const std::vector<BatchSequence>& seqs) {
  std::ofstream out(path, std::ios::binary);
  for (const auto& s : seqs) out.write(reinterpret_cast<const char*>(s.logits.data()), s.logits.size() * sizeof(float));
  if (!out) throw ConfigError("--dump-logits: cannot write '" + path + "'");
}

SamplingParams sampling_of(const GenerateArgs& a) {
  SamplingParams p;
  p.temperature = a.temperature;
  p.top_p = a.top_p;
  p.top_k = a.top_k;
  p.min_p = a.min_p;
  p.repetition_penalty = a.repetition_penalty;
  p.seed = a.seed;
  p.min_tokens = a.min_tokens;
  p.ignore_eos = a.ignore_eos;
  p.logprobs = a.logprobs;
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) throw ConfigError("--top-p must be in (0, 1]");
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) throw ConfigError("--min-p must be in [0, 1]");
  if (p.temperature < 0.0f) throw ConfigError("--temperature must be >= 0");
  if (p.repetition_penalty <= 0.0f) throw ConfigError("--repetition-penalty must be > 0");
  return p;
}

void run_generate(const GenerateArgs& a) {
  const int given = !a.prompt.empty() + !a.prompt_ids.empty() + !a.batch_file.empty();
  if (given != 1) throw ConfigError("give exactly one of --prompt, --prompt-ids, --batch-file");
  if (a.max_tokens < 0) throw ConfigError("--max-tokens must be >= 0");
  if (a.chat && a.prompt.empty()) throw ConfigError("--chat applies the chat template to --prompt; give --prompt");
  const SamplingParams sampling = sampling_of(a);

  std::unique_ptr<GenerateText> text;
  try {
    text = open_generate_text(a.model);
  } catch (const ModelError&) {
    if (!a.prompt.empty()) throw;  // text in needs the tokenizer; ids in may print ids out
  }
  std::vector<BatchSequence> seqs;
  if (!a.batch_file.empty()) {
    for (auto& p : read_batch_file(a.batch_file)) seqs.push_back({std::move(p), sampling, {}, {}, {}});
  } else {
    std::vector<int32_t> prompt;
    if (!a.prompt.empty()) {
      prompt = a.chat ? text->encode(text->chat_prompt(a.prompt), false) : text->encode(a.prompt);
    } else {
      prompt = parse_ids(a.prompt_ids, "--prompt-ids");
    }
    seqs.push_back({std::move(prompt), sampling, {}, {}, {}});
  }

  const Model model = load_model(a.model, parse_load_format(a.load_format));
  ExecutorOptions eo;
  eo.device = a.device;
  eo.threads = a.threads;
  eo.block_size = a.block_size;
  eo.max_model_len = a.max_model_len;
  auto executor = make_executor(model, eo);
  std::fprintf(stderr, "generate: %s on %s\n", describe(model.config).c_str(), executor->device_name().c_str());

  BatchGenerateOptions go;
  go.max_tokens = a.max_tokens;
  go.prefill_chunk = a.prefill_chunk;
  go.ignore_eos = a.ignore_eos;
  go.keep_logits = !a.dump_logits.empty();
  go.max_model_len = a.max_model_len;
  const bool stream = !a.json && seqs.size() == 1;
  if (stream && text) text->start(seqs[0].prompt);
  const BatchGenerateStats stats = generate_batch(*executor, seqs, go, [&](size_t, int32_t token) {
    if (!stream) return;
    std::cout << (text ? text->push(token) : std::to_string(token) + " ") << std::flush;
  });
  if (stream) std::cout << (text ? text->finish() : std::string()) << std::endl;
  if (!a.dump_logits.empty()) dump_logits(a.dump_logits, seqs);
  if (a.json) {
    if (a.batch_file.empty()) {
      std::cout << json_result(seqs[0], text.get()) << std::endl;
    } else {
      std::cout << "{\"results\":[";
      for (size_t i = 0; i < seqs.size(); ++i) std::cout << (i ? "," : "") << json_result(seqs[i], text.get());
      std::cout << "]}" << std::endl;
    }
  } else if (!stream) {
    for (const auto& s : seqs) std::cout << json_result(s, text.get()) << std::endl;
  }
  // The first token of each sequence comes out of its prefill step; the rest are decode steps.
  const int64_t decode_tokens = std::max<int64_t>(0, stats.generated_tokens - static_cast<int64_t>(seqs.size()));
  std::fprintf(stderr,
               "generate: %lld prompt tokens in %.3f s (%.1f tok/s prefill), %lld more tokens in %.3f s "
               "(%.2f tok/s decode), %lld steps; CPU time %.3f s prefill, %.3f s decode\n",
               static_cast<long long>(stats.prompt_tokens), stats.prefill_seconds,
               stats.prefill_seconds > 0 ? stats.prompt_tokens / stats.prefill_seconds : 0.0,
               static_cast<long long>(decode_tokens), stats.decode_seconds,
               stats.decode_seconds > 0 ? decode_tokens / stats.decode_seconds : 0.0,
               static_cast<long long>(stats.steps), stats.prefill_cpu_seconds, stats.decode_cpu_seconds);
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* sub = app.add_subcommand("generate", "Generate from a prompt on one device, without the server");
  add_config_option(*sub);
  sub->add_option("--model", args->model, "Hugging Face folder or .gguf file")->required();
  sub->add_option("--load-format", args->load_format, "auto | safetensors | gguf | dummy");
  sub->add_option("--device", args->device, "cpu or cuda:N");
  sub->add_option("--threads", args->threads, "CPU math threads (0: all cores)");
  sub->add_option("--prompt", args->prompt, "prompt text (needs the model's tokenizer)");
  sub->add_flag("--chat", args->chat, "treat --prompt as a user message and apply the model's chat template");
  sub->add_option("--prompt-ids", args->prompt_ids, "prompt as token ids: 1,2,3");
  sub->add_option("--batch-file", args->batch_file, "JSON list of token-id prompts, generated in one batch");
  sub->add_option("--max-tokens", args->max_tokens, "tokens to generate at most");
  sub->add_option("--temperature", args->temperature, "0: greedy");
  sub->add_option("--top-p", args->top_p);
  sub->add_option("--top-k", args->top_k, "0: off");
  sub->add_option("--min-p", args->min_p);
  sub->add_option("--repetition-penalty", args->repetition_penalty);
  sub->add_option("--min-tokens", args->min_tokens, "EOS is masked until this many tokens");
  sub->add_option("--seed", args->seed);
  sub->add_option("--logprobs", args->logprobs,
                  "with --json: each token's log-probability and the top N (-1: none)");
  sub->add_flag("--ignore-eos", args->ignore_eos, "do not stop at EOS");
  sub->add_flag("--json", args->json, "print {\"token_ids\": [...], \"text\": ...} instead of streaming");
  sub->add_option("--dump-logits", args->dump_logits,
                  "write the raw float32 logits of every sampled token here: per prompt, per token, vocab floats");
  sub->add_option("--prefill-chunk", args->prefill_chunk, "run prompts in chunks of this many tokens (0: whole)");
  sub->add_option("--block-size", args->block_size, "KV cache block size in tokens");
  sub->add_option("--max-model-len", args->max_model_len, "0: the model's max_position_embeddings");
  sub->callback([args] { run_generate(*args); });
}

}  // namespace dynamo::app
