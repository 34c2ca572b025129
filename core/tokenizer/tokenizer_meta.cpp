// tokenizer_config.json (bos/eos text, add_bos/eos_token, chat_template) and generation_config.json
// (eos_token_id) -> TokenizerMeta.
#include "core/tokenizer/tokenizer_meta.h"

#include <simdjson.h>

#include "core/util/errors.h"

namespace dynamo {
namespace {

namespace od = simdjson::ondemand;

// The on-demand parser only parses the values we read, so fields such as model_max_length =
// 1e30 written as a plain integer (too big for the DOM parser) do not break loading.
struct Doc {
  od::parser parser;
  simdjson::padded_string json;
  od::document doc;
  Doc(const std::filesystem::path& file) {
    if (simdjson::padded_string::load(file.string()).get(json) != simdjson::SUCCESS)
      throw ModelError(file.string() + ": cannot read the file");
    if (parser.iterate(json).get(doc) != simdjson::SUCCESS)
      throw ModelError(file.string() + ": not valid JSON");
  }
};

// A special token given as "text" or as {"content": "text", ...}; "" for null or other types.
std::string token_text(od::value v) {
  std::string_view s;
  if (v.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  od::object obj;
  if (v.get_object().get(obj) == simdjson::SUCCESS)
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key) == simdjson::SUCCESS && key == "content" &&
          field.value().get_string().get(s) == simdjson::SUCCESS)
        return std::string(s);
    }
  return {};
}

std::string chat_template(const std::filesystem::path& file, od::value v) {
  std::string_view s;
  if (v.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  od::array arr;
  if (v.get_array().get(arr) != simdjson::SUCCESS) return {};
  std::string first, chosen;
  for (auto item : arr) {
    std::string name, text;
    od::object obj;
    if (item.get_object().get(obj) != simdjson::SUCCESS)
      throw ModelError(file.string() + ": chat_template list entries must be {name, template}");
    for (auto field : obj) {
      std::string_view key, value;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS) continue;
      if (field.value().get_string().get(value) != simdjson::SUCCESS) continue;
      if (key == "name") name = value;
      if (key == "template") text = value;
    }
    if (name == "default" && chosen.empty()) chosen = text;
    if (first.empty()) first = text;
  }
  return chosen.empty() ? first : chosen;
}

void read_ids(od::value v, std::vector<int32_t>& out) {
  int64_t id;
  od::array arr;
  if (v.get_array().get(arr) == simdjson::SUCCESS) {
    for (auto x : arr)
      if (x.get_int64().get(id) == simdjson::SUCCESS) out.push_back(static_cast<int32_t>(id));
  } else if (v.get_int64().get(id) == simdjson::SUCCESS) {
    out.push_back(static_cast<int32_t>(id));
  }
}

}  // namespace

TokenizerMeta read_tokenizer_meta(const std::filesystem::path& dir) {
  TokenizerMeta meta;
  const auto config = dir / "tokenizer_config.json";
  if (std::filesystem::exists(config)) {
    Doc d(config);
    od::object root;
    if (d.doc.get_object().get(root) != simdjson::SUCCESS)
      throw ModelError(config.string() + ": expected a JSON object");
    for (auto field : root) {
      std::string_view key;
      od::value v;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS || field.value().get(v))
        throw ModelError(config.string() + ": malformed JSON");
      bool b;
      if (key == "bos_token") meta.bos_token = token_text(v);
      else if (key == "eos_token") meta.eos_token = token_text(v);
      else if (key == "chat_template") meta.chat_template = chat_template(config, v);
      else if (key == "add_bos_token" && v.get_bool().get(b) == simdjson::SUCCESS) meta.add_bos = b;
      else if (key == "add_eos_token" && v.get_bool().get(b) == simdjson::SUCCESS) meta.add_eos = b;
    }
  }
  const auto generation = dir / "generation_config.json";
  if (std::filesystem::exists(generation)) {
    Doc d(generation);
    od::object root;
    if (d.doc.get_object().get(root) != simdjson::SUCCESS)
      throw ModelError(generation.string() + ": expected a JSON object");
    for (auto field : root) {
      std::string_view key;
      od::value v;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS || field.value().get(v))
        throw ModelError(generation.string() + ": malformed JSON");
      if (key == "eos_token_id") read_ids(v, meta.eos_ids);
    }
  }
  // A chat template shipped as its own file (newer transformers) when the config has none.
  const auto jinja = dir / "chat_template.jinja";
  if (meta.chat_template.empty() && std::filesystem::exists(jinja)) {
    simdjson::padded_string text;
    if (simdjson::padded_string::load(jinja.string()).get(text) == simdjson::SUCCESS)
      meta.chat_template.assign(text.data(), text.size());
  }
  return meta;
}

}  // namespace dynamo
