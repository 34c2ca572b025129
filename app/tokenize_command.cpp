// `dynamo-serve tokenize` (text -> ids, one-off, batch JSONL, or a throughput benchmark) and
// `dynamo-serve detokenize` (ids -> text).
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "app/commands.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/errors.h"

namespace dynamo::app {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  std::string file;
  bool json = false;
  bool jsonl = false;
  bool add_special = true;
  bool with_decode = false;
  int bench = 0;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("--file " + path + ": cannot read the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
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
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void append_ids(std::string& out, const std::vector<int32_t>& ids) {
  out.push_back('[');
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out.push_back(',');
    out += std::to_string(ids[i]);
  }
  out.push_back(']');
}

// One JSONL input line: a JSON string, {"hex": "..."} for bytes that are not valid UTF-8, or
// {"ids": [...]} for token ids to decode as they are (nothing is encoded).
struct JsonlItem {
  std::string text;
  std::optional<std::vector<int32_t>> ids;
};

JsonlItem parse_line(simdjson::dom::parser& parser, const std::string& line, const std::string& where,
                     const Tokenizer& tok) {
  simdjson::dom::element e;
  if (parser.parse(line).get(e) != simdjson::SUCCESS) throw ConfigError(where + ": not a JSON value");
  std::string_view s;
  if (e.get(s) == simdjson::SUCCESS) return {std::string(s), std::nullopt};
  if (e["hex"].get(s) == simdjson::SUCCESS && s.size() % 2 == 0 &&
      s.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos) {
    std::string bytes;
    for (size_t i = 0; i < s.size(); i += 2)
      bytes.push_back(static_cast<char>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16)));
    return {std::move(bytes), std::nullopt};
  }
  simdjson::dom::array arr;
  if (e["ids"].get(arr) == simdjson::SUCCESS) {
    std::vector<int32_t> ids;
    for (simdjson::dom::element v : arr) {
      int64_t id = -1;
      if (v.get(id) != simdjson::SUCCESS || id < 0 || id >= tok.vocab_size())
        throw ConfigError(where + ": \"ids\" must hold token ids below the vocabulary size " +
                          std::to_string(tok.vocab_size()));
      ids.push_back(static_cast<int32_t>(id));
    }
    return {{}, std::move(ids)};
  }
  throw ConfigError(where + ": expected a JSON string, {\"hex\": \"...\"} or {\"ids\": [...]}");
}

std::vector<JsonlItem> read_jsonl(const std::string& path, const Tokenizer& tok) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("--file " + path + ": cannot read the file");
  simdjson::dom::parser parser;
  std::vector<JsonlItem> docs;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    docs.push_back(parse_line(parser, line, path + ":" + std::to_string(line_no), tok));
  }
  return docs;
}

std::string stream_all(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  StreamingDetokenizer stream(tok, skip_special);
  std::string out;
  for (int32_t id : ids) out += stream.push(id);
  return out + stream.finish();
}

void run_jsonl(const Tokenizer& tok, const TokenizeOptions& o) {
  std::string out;
  for (const JsonlItem& item : read_jsonl(o.file, tok)) {
    const std::vector<int32_t> ids = item.ids ? *item.ids : tok.encode(item.text, o.add_special);
    out += "{\"token_ids\":";
    append_ids(out, ids);
    if (o.with_decode) {
      out += ",\"decoded\":";
      append_json_string(out, tok.decode(ids, true));
      out += ",\"decoded_with_special\":";
      append_json_string(out, tok.decode(ids, false));
      out += ",\"streamed\":";
      append_json_string(out, stream_all(tok, ids, true));
      out += ",\"streamed_with_special\":";
      append_json_string(out, stream_all(tok, ids, false));
    }
    out += "}\n";
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

// Single-thread encode throughput, one document at a time.
void run_bench(const Tokenizer& tok, const TokenizeOptions& o) {
  std::vector<std::string> docs;
  for (JsonlItem& item : read_jsonl(o.file, tok)) {
    if (item.ids) throw ConfigError("--bench encodes text: " + o.file + " holds an {\"ids\": ...} line");
    docs.push_back(std::move(item.text));
  }
  size_t bytes = 0, tokens = 0;
  for (const auto& d : docs) bytes += d.size();
  for (const auto& d : docs) tokens += tok.encode(d, false).size();  // warm-up (fills the cache)
  const auto t0 = std::chrono::steady_clock::now();
  size_t sink = 0;
  for (int r = 0; r < o.bench; ++r)
    for (const auto& d : docs) sink += tok.encode(d, false).size();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"documents\":%zu,\"bytes\":%zu,\"tokens\":%zu,\"repeats\":%d,\"seconds\":%.4f,"
              "\"mb_per_s\":%.2f}\n",
              docs.size(), bytes, tokens, o.bench, s, bytes * o.bench / s / 1e6);
  if (sink != tokens * static_cast<size_t>(o.bench)) std::fprintf(stderr, "bench: unstable encode\n");
}

void run_tokenize(const TokenizeOptions& o) {
  const auto tok = load_tokenizer(o.model);
  if (o.bench > 0) return run_bench(*tok, o);
  if (o.jsonl) return run_jsonl(*tok, o);
  const std::string text = o.file.empty() ? o.text : read_file(o.file);
  const std::vector<int32_t> ids = tok->encode(text, o.add_special);
  std::string out;
  if (o.json) {
    out = "{\"token_ids\":";
    append_ids(out, ids);
    out += "}";
  } else {
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
  }
  std::printf("%s\n", out.c_str());
}

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::string item;
  std::stringstream ss(s);
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" []");
    const auto e = item.find_last_not_of(" []");
    if (b == std::string::npos) continue;
    item = item.substr(b, e - b + 1);
    size_t used = 0;
    long v = 0;
    try {
      v = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || v < 0 || v > INT32_MAX)
      throw ConfigError("--ids: '" + item + "' is not a token id (expected e.g. --ids 1,2,3)");
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

}  // namespace

void add_tokenize_commands(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  auto* tok = app.add_subcommand("tokenize", "Print the token ids of a text");
  tok->add_option("--model", opts->model, "Model folder, tokenizer folder or file, or .gguf")
      ->required();
  auto* text = tok->add_option("--text", opts->text, "Text to tokenize");
  auto* file = tok->add_option("--file", opts->file, "Read the text from this file");
  text->excludes(file);
  tok->add_flag("--json", opts->json, "Print {\"token_ids\": [...]}");
  tok->add_flag("--jsonl", opts->jsonl,
                "Batch: --file holds one JSON string (or {\"hex\": ...}, or {\"ids\": [...]} to "
                "decode) per line; print one {\"token_ids\": [...]} per line");
  tok->add_flag("--with-decode", opts->with_decode,
                "With --jsonl: also print the decoded and the streamed text, with and without special tokens");
  tok->add_flag("--add-special,!--no-add-special", opts->add_special,
                "Add BOS/EOS as the tokenizer's post-processor says (default: on)");
  tok->add_option("--bench", opts->bench,
                  "Benchmark: encode every document of the --file JSONL this many times, single "
                  "thread, and print MB/s");
  add_config_option(*tok);
  tok->callback([opts, tok] {
    if (opts->text.empty() && opts->file.empty() && tok->count("--text") == 0)
      throw CLI::ValidationError("tokenize", "give --text TEXT or --file FILE");
    if ((opts->jsonl || opts->bench > 0) && opts->file.empty())
      throw CLI::ValidationError("tokenize", "--jsonl and --bench read --file FILE");
    run_tokenize(*opts);
  });

  auto dopts = std::make_shared<std::pair<std::string, std::string>>();
  auto skip = std::make_shared<bool>(false);
  auto* detok = app.add_subcommand("detokenize", "Print the text of token ids");
  detok->add_option("--model", dopts->first, "Model folder, tokenizer folder or file, or .gguf")
      ->required();
  detok->add_option("--ids", dopts->second, "Comma-separated token ids, e.g. 1,2,3")->required();
  detok->add_flag("--skip-special", *skip, "Leave out special tokens (BOS, EOS, ...)");
  add_config_option(*detok);
  detok->callback([dopts, skip] {
    const auto ids = parse_ids(dopts->second);
    const auto t = load_tokenizer(dopts->first);
    for (int32_t id : ids)
      if (id >= t->vocab_size())
        throw ConfigError("--ids: " + std::to_string(id) + " is outside the vocabulary (size " +
                          std::to_string(t->vocab_size()) + ")");
    std::printf("%s\n", t->decode(ids, *skip).c_str());
  });
}

}  // namespace dynamo::app
