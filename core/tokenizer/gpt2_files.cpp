// encoder.json + vocab.bpe -> the same pipeline Hugging Face's GPT-2 tokenizer.json describes.
#include "core/tokenizer/gpt2_files.h"

#include <simdjson.h>

#include <fstream>
#include <sstream>

#include "core/util/errors.h"

namespace dynamo {

PipelineParts load_gpt2_files(const std::filesystem::path& vocab_json,
                              const std::filesystem::path& merges_txt) {
  BpeConfig cfg;
  cfg.byte_level = true;
  simdjson::dom::parser parser;
  simdjson::padded_string json;
  if (simdjson::padded_string::load(vocab_json.string()).get(json) != simdjson::SUCCESS)
    throw ModelError(vocab_json.string() + ": cannot read the file");
  simdjson::dom::object vocab;
  if (parser.parse(json).get(vocab) != simdjson::SUCCESS)
    throw ModelError(vocab_json.string() + ": expected a JSON object of token -> id");
  for (auto [key, value] : vocab) {
    int64_t id;
    if (value.get(id) != simdjson::SUCCESS)
      throw ModelError(vocab_json.string() + ": id of '" + std::string(key) + "' is not an integer");
    cfg.vocab.emplace_back(std::string(key), static_cast<int32_t>(id));
  }
  std::ifstream in(merges_txt, std::ios::binary);
  if (!in) throw ModelError(merges_txt.string() + ": cannot read the file");
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string::npos)
      throw ModelError(merges_txt.string() + ":" + std::to_string(line_no) + ": merge has no space");
    cfg.merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  PipelineParts parts;
  parts.pre_tokenizer = make_byte_level_pre_tokenizer(false, true);
  parts.decoder = make_byte_level_decoder();
  std::vector<AddedToken> added;
  for (const auto& [text, id] : cfg.vocab)
    if (text == "<|endoftext|>") added.push_back(AddedToken{id, text, true, false, false, false, false});
  try {
    parts.model = std::make_unique<BpeModel>(std::move(cfg));
  } catch (const std::runtime_error& e) {
    throw ModelError(merges_txt.string() + ": " + e.what());
  }
  parts.added = AddedVocabulary(std::move(added));
  return parts;
}

}  // namespace dynamo
