// GGUF vocabulary -> tokenizer. "gpt2": byte-level BPE (tokens + merges) with the pre-tokenizer
// tokenizer.ggml.pre names, assembled as the equivalent tokenizer.json pipeline. "llama":
// SentencePiece pieces with scores, handed to libsentencepiece as a ModelProto.
#include "core/tokenizer/gguf_vocab.h"

#include <algorithm>
#include <set>

#include "core/model/gguf_reader.h"
#include "core/tokenizer/pipeline_tokenizer.h"
#include "core/tokenizer/spm_model_proto.h"
#include "core/tokenizer/spm_tokenizer.h"
#include "core/util/errors.h"

namespace dynamo {
namespace {

constexpr int kControl = 3;
constexpr int kUserDefined = 4;
constexpr int kByte = 6;

const char* const kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen2Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

bool is_llama3_pre(const std::string& pre) {
  static const std::set<std::string> llama3 = {"llama3", "llama-bpe", "llama-v3", "dbrx",
                                               "smaug-bpe", "falcon3"};
  return llama3.count(pre) != 0;
}

// The pre-tokenizer Hugging Face's tokenizer.json has for the models llama.cpp names this way.
std::unique_ptr<PreTokenizer> pre_tokenizer_for(const std::string& pre, const std::string& file) {
  static const std::set<std::string> gpt2 = {"default", "gpt2", "gpt-2", "phi-2", "olmo",
                                             "jais", "roberta-bpe", "poro-chat", "viking"};
  static const std::set<std::string> qwen2 = {"qwen2", "deepseek-r1-qwen", "megrez"};
  static const std::set<std::string> digits = {"smollm", "starcoder", "refact", "command-r",
                                                "codeshell", "exaone", "minerva-7b"};
  if (gpt2.count(pre)) return make_byte_level_pre_tokenizer(false, true);
  const auto split_then_bytes = [](const char* pattern) {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    parts.push_back(make_split_pre_tokenizer(pattern, true, SplitBehavior::kIsolated, false));
    parts.push_back(make_byte_level_pre_tokenizer(false, false));
    return make_sequence_pre_tokenizer(std::move(parts));
  };
  if (is_llama3_pre(pre)) return split_then_bytes(kLlama3Pattern);
  if (qwen2.count(pre)) return split_then_bytes(kQwen2Pattern);
  if (digits.count(pre)) {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    parts.push_back(make_digits_pre_tokenizer(true));
    parts.push_back(make_byte_level_pre_tokenizer(false, true));
    return make_sequence_pre_tokenizer(std::move(parts));
  }
  throw ModelError(file + ": tokenizer.ggml.pre '" + pre +
                   "' is not supported (known: gpt2, llama-bpe/llama3, qwen2, smollm, starcoder, "
                   "refact, command-r, ...)");
}

std::optional<int32_t> id_key(const GgufFile& g, const std::string& key, size_t n) {
  auto v = g.get_int(key);
  if (!v || *v < 0 || static_cast<size_t>(*v) >= n) return std::nullopt;
  return static_cast<int32_t>(*v);
}

TokenizerMeta gguf_meta(const GgufFile& g, const std::vector<std::string>& tokens) {
  TokenizerMeta meta;
  if (auto id = id_key(g, "tokenizer.ggml.bos_token_id", tokens.size())) {
    meta.bos_id = *id;
    meta.bos_token = tokens[*id];
  }
  if (auto id = id_key(g, "tokenizer.ggml.eos_token_id", tokens.size())) meta.eos_token = tokens[*id];
  for (const char* key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"})
    if (auto id = id_key(g, key, tokens.size())) meta.eos_ids.push_back(*id);
  meta.chat_template = g.get_string("tokenizer.chat_template").value_or("");
  meta.add_bos = g.get_bool("tokenizer.ggml.add_bos_token");
  meta.add_eos = g.get_bool("tokenizer.ggml.add_eos_token");
  return meta;
}

std::unique_ptr<Tokenizer> load_gpt2_vocab(const GgufFile& g, const std::string& file,
                                           const std::vector<std::string>& tokens,
                                           const std::vector<int64_t>* types) {
  const auto* merges = g.get_string_array("tokenizer.ggml.merges");
  if (merges == nullptr) throw ModelError(file + ": tokenizer.ggml.merges is missing");
  BpeConfig cfg;
  cfg.byte_level = true;
  std::vector<AddedToken> added;
  for (size_t i = 0; i < tokens.size(); ++i) {
    cfg.vocab.emplace_back(tokens[i], static_cast<int32_t>(i));
    const int type = types ? static_cast<int>((*types)[i]) : 1;
    if (type == kControl || type == kUserDefined)
      added.push_back(AddedToken{static_cast<int32_t>(i), tokens[i], type == kControl, false, false,
                                 false, false});
  }
  for (const auto& m : *merges) {
    const size_t sp = m.find(' ', 1);
    if (sp == std::string::npos) throw ModelError(file + ": merge '" + m + "' has no space");
    cfg.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
  }
  PipelineParts parts;
  const std::string pre = g.get_string("tokenizer.ggml.pre").value_or("default");
  parts.pre_tokenizer = pre_tokenizer_for(pre, file);
  // Llama 3's tokenizer.json sets ignore_merges (a word that is a token is taken whole); llama.cpp
  // does the same for these pre-tokenizer names.
  cfg.ignore_merges = is_llama3_pre(pre);
  parts.decoder = make_byte_level_decoder();
  try {
    parts.model = std::make_unique<BpeModel>(std::move(cfg));
  } catch (const std::runtime_error& e) {
    throw ModelError(file + ": " + e.what());
  }
  parts.added = AddedVocabulary(std::move(added));
  TokenizerMeta meta = gguf_meta(g, tokens);
  // GGUF states add_bos/add_eos explicitly; absent means llama.cpp's default for BPE: no BOS.
  if (meta.add_bos.value_or(false) && meta.bos_id) parts.prefix.push_back(*meta.bos_id);
  if (meta.add_eos.value_or(false))
    if (auto id = id_key(g, "tokenizer.ggml.eos_token_id", tokens.size())) parts.suffix.push_back(*id);
  meta.add_bos.reset();
  meta.add_eos.reset();
  return std::make_unique<PipelineTokenizer>(std::move(parts), std::move(meta));
}

std::unique_ptr<Tokenizer> load_llama_vocab(const GgufFile& g, const std::string& file,
                                            const std::vector<std::string>& tokens,
                                            const std::vector<int64_t>* types) {
  const auto* scores = g.get_float_array("tokenizer.ggml.scores");
  if (scores == nullptr || scores->size() != tokens.size())
    throw ModelError(file + ": tokenizer.ggml.scores is missing or its length differs from tokens");
  SpmModelSpec spec;
  for (size_t i = 0; i < tokens.size(); ++i) {
    int type = types ? static_cast<int>((*types)[i]) : 1;
    if (type < 1 || type > 6) type = 1;
    spec.byte_fallback |= type == kByte;
    spec.pieces.push_back(SpmPiece{tokens[i], static_cast<float>((*scores)[i]), type});
  }
  const auto id = [&](const char* key, int32_t fallback) {
    auto v = g.get_int(key);
    return v ? static_cast<int32_t>(*v) : fallback;
  };
  spec.unk_id = id("tokenizer.ggml.unknown_token_id", 0);
  spec.bos_id = id("tokenizer.ggml.bos_token_id", 1);
  spec.eos_id = id("tokenizer.ggml.eos_token_id", 2);
  spec.pad_id = -1;  // libsentencepiece wants distinct special ids; padding is not used to encode
  if (spec.bos_id == spec.eos_id || spec.unk_id == spec.bos_id || spec.unk_id == spec.eos_id)
    throw ModelError(file + ": unk/bos/eos token ids must differ for a SentencePiece vocabulary");
  spec.add_dummy_prefix = g.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
  TokenizerMeta meta = gguf_meta(g, tokens);
  if (!meta.add_bos) meta.add_bos = true;
  return load_spm_tokenizer_from_proto(serialize_spm_model(spec), std::move(meta), file);
}

}  // namespace

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::filesystem::path& path) {
  const auto g = GgufFile::open(path);
  const std::string file = path.string();
  const auto model = g->get_string("tokenizer.ggml.model");
  if (!model) throw ModelError(file + ": no tokenizer.ggml.model (the GGUF carries no vocabulary)");
  const auto* tokens = g->get_string_array("tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->empty()) throw ModelError(file + ": tokenizer.ggml.tokens is missing");
  const auto* types = g->get_int_array("tokenizer.ggml.token_type");
  if (types != nullptr && types->size() != tokens->size())
    throw ModelError(file + ": tokenizer.ggml.token_type length differs from tokenizer.ggml.tokens");
  if (*model == "gpt2") return load_gpt2_vocab(*g, file, *tokens, types);
  if (*model == "llama") return load_llama_vocab(*g, file, *tokens, types);
  throw ModelError(file + ": tokenizer.ggml.model '" + *model +
                   "' is not supported (gpt2 or llama)");
}

}  // namespace dynamo
