// tokenizer.json -> PipelineParts with simdjson (a 11 MB file parses in a few milliseconds).
#include "core/tokenizer/tokenizer_json.h"

#include <simdjson.h>

#include "core/util/errors.h"

namespace dynamo {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

struct Ctx {
  std::string file;
  [[noreturn]] void fail(const std::string& what) const { throw ModelError(file + ": " + what); }
};

std::string get_string(element e, std::string_view key, const std::string& fallback = "") {
  std::string_view v;
  if (e[key].get(v) != simdjson::SUCCESS) return fallback;
  return std::string(v);
}
bool get_bool(element e, std::string_view key, bool fallback) {
  bool v;
  if (e[key].get(v) != simdjson::SUCCESS) return fallback;
  return v;
}
bool is_null_or_missing(element e, std::string_view key) {
  element v;
  return e[key].get(v) != simdjson::SUCCESS || v.is_null();
}

// A "pattern" field: {"String": "..."} or {"Regex": "..."}.
std::pair<std::string, bool> get_pattern(const Ctx& ctx, element e, std::string_view where) {
  element p;
  if (e["pattern"].get(p) != simdjson::SUCCESS) ctx.fail(std::string(where) + " has no pattern");
  std::string_view s;
  if (p["String"].get(s) == simdjson::SUCCESS) return {std::string(s), false};
  if (p["Regex"].get(s) == simdjson::SUCCESS) return {std::string(s), true};
  ctx.fail(std::string(where) + " pattern is neither String nor Regex");
}

PrependScheme get_prepend_scheme(element e) {
  const std::string scheme = get_string(e, "prepend_scheme", "");
  if (scheme == "first") return PrependScheme::kFirst;
  if (scheme == "never") return PrependScheme::kNever;
  if (scheme.empty() && !get_bool(e, "add_prefix_space", true)) return PrependScheme::kNever;
  return PrependScheme::kAlways;
}

std::unique_ptr<Normalizer> parse_normalizer(const Ctx& ctx, element e) {
  const std::string type = get_string(e, "type");
  if (type == "NFC") return make_unicode_normalizer(UnicodeForm::kNFC);
  if (type == "NFD") return make_unicode_normalizer(UnicodeForm::kNFD);
  if (type == "NFKC") return make_unicode_normalizer(UnicodeForm::kNFKC);
  if (type == "NFKD") return make_unicode_normalizer(UnicodeForm::kNFKD);
  if (type == "Lowercase") return make_lowercase_normalizer();
  if (type == "Prepend") return make_prepend_normalizer(get_string(e, "prepend"));
  if (type == "Strip")
    return make_strip_normalizer(get_bool(e, "strip_left", true), get_bool(e, "strip_right", true));
  if (type == "Replace") {
    auto [pattern, is_regex] = get_pattern(ctx, e, "Replace normalizer");
    return make_replace_normalizer(pattern, is_regex, get_string(e, "content"));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> parts;
    simdjson::dom::array arr;
    if (e["normalizers"].get(arr) != simdjson::SUCCESS) ctx.fail("Sequence normalizer has no list");
    for (element n : arr) parts.push_back(parse_normalizer(ctx, n));
    return make_sequence_normalizer(std::move(parts));
  }
  ctx.fail("normalizer type '" + type + "' is not supported");
}

SplitBehavior parse_behavior(const Ctx& ctx, const std::string& b) {
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  ctx.fail("split behavior '" + b + "' is not supported");
}

std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const Ctx& ctx, element e) {
  const std::string type = get_string(e, "type");
  if (type == "ByteLevel")
    return make_byte_level_pre_tokenizer(get_bool(e, "add_prefix_space", true),
                                         get_bool(e, "use_regex", true));
  if (type == "Split") {
    auto [pattern, is_regex] = get_pattern(ctx, e, "Split pre-tokenizer");
    return make_split_pre_tokenizer(pattern, is_regex,
                                    parse_behavior(ctx, get_string(e, "behavior", "Isolated")),
                                    get_bool(e, "invert", false));
  }
  if (type == "Metaspace")
    return make_metaspace_pre_tokenizer(get_string(e, "replacement", "\xE2\x96\x81"),
                                        get_prepend_scheme(e), get_bool(e, "split", true));
  if (type == "Digits") return make_digits_pre_tokenizer(get_bool(e, "individual_digits", false));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    simdjson::dom::array arr;
    if (e["pretokenizers"].get(arr) != simdjson::SUCCESS)
      ctx.fail("Sequence pre-tokenizer has no list");
    for (element n : arr) parts.push_back(parse_pre_tokenizer(ctx, n));
    return make_sequence_pre_tokenizer(std::move(parts));
  }
  ctx.fail("pre-tokenizer type '" + type + "' is not supported");
}

std::unique_ptr<Decoder> parse_decoder(const Ctx& ctx, element e) {
  const std::string type = get_string(e, "type");
  if (type == "ByteLevel") return make_byte_level_decoder();
  if (type == "ByteFallback") return make_byte_fallback_decoder();
  if (type == "Fuse") return make_fuse_decoder();
  if (type == "Replace") {
    auto [pattern, is_regex] = get_pattern(ctx, e, "Replace decoder");
    if (is_regex) ctx.fail("Replace decoder with a Regex pattern is not supported");
    return make_replace_decoder(pattern, get_string(e, "content"));
  }
  if (type == "Strip") {
    int64_t start = 0, stop = 0;
    if (e["start"].get(start) != simdjson::SUCCESS) start = 0;
    if (e["stop"].get(stop) != simdjson::SUCCESS) stop = 0;
    return make_strip_decoder(get_string(e, "content", " "), static_cast<size_t>(start),
                              static_cast<size_t>(stop));
  }
  if (type == "Metaspace")
    return make_metaspace_decoder(get_string(e, "replacement", "\xE2\x96\x81"),
                                  get_prepend_scheme(e));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> parts;
    simdjson::dom::array arr;
    if (e["decoders"].get(arr) != simdjson::SUCCESS) ctx.fail("Sequence decoder has no list");
    for (element n : arr) parts.push_back(parse_decoder(ctx, n));
    return make_sequence_decoder(std::move(parts));
  }
  ctx.fail("decoder type '" + type + "' is not supported");
}

// Post-processor for a single sequence: the ids placed before and after it.
void parse_post_processor(const Ctx& ctx, element e, PipelineParts& parts) {
  const std::string type = get_string(e, "type");
  if (type == "ByteLevel") return;
  if (type == "Sequence") {
    simdjson::dom::array arr;
    if (e["processors"].get(arr) != simdjson::SUCCESS) ctx.fail("Sequence post-processor has no list");
    for (element p : arr) parse_post_processor(ctx, p, parts);
    return;
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    simdjson::dom::array cls, sep;
    int64_t cls_id, sep_id;
    if (e["cls"].get(cls) || cls.at(1).get(cls_id) || e["sep"].get(sep) || sep.at(1).get(sep_id))
      ctx.fail(type + " post-processor lacks cls/sep");
    parts.prefix.push_back(static_cast<int32_t>(cls_id));
    parts.suffix.push_back(static_cast<int32_t>(sep_id));
    return;
  }
  if (type != "TemplateProcessing") ctx.fail("post-processor type '" + type + "' is not supported");
  simdjson::dom::array single;
  if (e["single"].get(single) != simdjson::SUCCESS) ctx.fail("TemplateProcessing has no 'single'");
  object specials;
  if (e["special_tokens"].get(specials) != simdjson::SUCCESS && single.size() > 1)
    ctx.fail("TemplateProcessing has no special_tokens");
  bool after = false;
  for (element piece : single) {
    element seq, sp;
    if (piece["Sequence"].get(seq) == simdjson::SUCCESS) {
      after = true;
    } else if (piece["SpecialToken"].get(sp) == simdjson::SUCCESS) {
      const std::string name = get_string(sp, "id");
      simdjson::dom::array ids;
      if (specials[name]["ids"].get(ids) != simdjson::SUCCESS)
        ctx.fail("TemplateProcessing special token '" + name + "' has no ids");
      for (element id : ids) {
        int64_t v;
        if (id.get(v) != simdjson::SUCCESS) ctx.fail("TemplateProcessing ids must be integers");
        (after ? parts.suffix : parts.prefix).push_back(static_cast<int32_t>(v));
      }
    }
  }
}

std::unique_ptr<BpeModel> parse_model(const Ctx& ctx, element m, bool byte_level) {
  const std::string type = get_string(m, "type", "BPE");
  if (type != "BPE") ctx.fail("model type '" + type + "' is not supported (only BPE)");
  BpeConfig cfg;
  cfg.byte_level = byte_level;
  object vocab;
  if (m["vocab"].get(vocab) != simdjson::SUCCESS) ctx.fail("model has no vocab object");
  cfg.vocab.reserve(vocab.size());
  for (auto [key, value] : vocab) {
    int64_t id;
    if (value.get(id) != simdjson::SUCCESS) ctx.fail("vocab entry '" + std::string(key) + "' is not an integer");
    cfg.vocab.emplace_back(std::string(key), static_cast<int32_t>(id));
  }
  simdjson::dom::array merges;
  if (m["merges"].get(merges) == simdjson::SUCCESS) {
    cfg.merges.reserve(merges.size());
    for (element mg : merges) {
      std::string_view s;
      if (mg.get(s) == simdjson::SUCCESS) {
        const size_t sp = s.find(' ', 1);
        if (sp == std::string_view::npos) ctx.fail("merge '" + std::string(s) + "' has no space");
        cfg.merges.emplace_back(std::string(s.substr(0, sp)), std::string(s.substr(sp + 1)));
      } else {
        simdjson::dom::array pair;
        std::string_view a, b;
        if (mg.get(pair) || pair.size() != 2 || pair.at(0).get(a) || pair.at(1).get(b))
          ctx.fail("a merge is neither \"a b\" nor [a, b]");
        cfg.merges.emplace_back(std::string(a), std::string(b));
      }
    }
  }
  if (!is_null_or_missing(m, "unk_token")) cfg.unk_token = get_string(m, "unk_token");
  cfg.fuse_unk = get_bool(m, "fuse_unk", false);
  cfg.byte_fallback = get_bool(m, "byte_fallback", false);
  cfg.ignore_merges = get_bool(m, "ignore_merges", false);
  cfg.continuing_subword_prefix = get_string(m, "continuing_subword_prefix");
  cfg.end_of_word_suffix = get_string(m, "end_of_word_suffix");
  if (!is_null_or_missing(m, "dropout")) {
    double d = 0;
    if (m["dropout"].get(d) == simdjson::SUCCESS && d > 0) ctx.fail("BPE dropout is not supported");
  }
  try {
    return std::make_unique<BpeModel>(std::move(cfg));
  } catch (const std::runtime_error& e) {
    ctx.fail(e.what());
  }
}

}  // namespace

PipelineParts load_tokenizer_json(const std::filesystem::path& file) {
  Ctx ctx{file.string()};
  simdjson::dom::parser parser;
  simdjson::padded_string json;
  if (simdjson::padded_string::load(file.string()).get(json) != simdjson::SUCCESS)
    ctx.fail("cannot read the file");
  element root;
  if (auto err = parser.parse(json).get(root); err != simdjson::SUCCESS)
    ctx.fail(std::string("not valid JSON: ") + simdjson::error_message(err));

  PipelineParts parts;
  try {
    element e;
    if (root["normalizer"].get(e) == simdjson::SUCCESS && !e.is_null())
      parts.normalizer = parse_normalizer(ctx, e);
    if (root["pre_tokenizer"].get(e) == simdjson::SUCCESS && !e.is_null())
      parts.pre_tokenizer = parse_pre_tokenizer(ctx, e);
    if (root["decoder"].get(e) == simdjson::SUCCESS && !e.is_null())
      parts.decoder = parse_decoder(ctx, e);
    if (root["post_processor"].get(e) == simdjson::SUCCESS && !e.is_null())
      parse_post_processor(ctx, e, parts);
  } catch (const std::runtime_error& err) {  // e.g. a regex that does not compile
    if (dynamic_cast<const ModelError*>(&err)) throw;
    ctx.fail(err.what());
  }
  element model;
  if (root["model"].get(model) != simdjson::SUCCESS) ctx.fail("no 'model' object");
  const bool byte_level = parts.pre_tokenizer && parts.pre_tokenizer->is_byte_level();
  parts.model = parse_model(ctx, model, byte_level);

  std::vector<AddedToken> added;
  simdjson::dom::array arr;
  if (root["added_tokens"].get(arr) == simdjson::SUCCESS) {
    for (element t : arr) {
      AddedToken tok;
      int64_t id;
      if (t["id"].get(id) != simdjson::SUCCESS) ctx.fail("an added token has no id");
      tok.id = static_cast<int32_t>(id);
      tok.content = get_string(t, "content");
      tok.special = get_bool(t, "special", false);
      tok.lstrip = get_bool(t, "lstrip", false);
      tok.rstrip = get_bool(t, "rstrip", false);
      tok.single_word = get_bool(t, "single_word", false);
      tok.normalized = get_bool(t, "normalized", !tok.special);
      added.push_back(std::move(tok));
    }
  }
  const Normalizer* norm = parts.normalizer.get();
  parts.added = AddedVocabulary(std::move(added), [norm](std::string s) {
    if (norm) norm->normalize(s);
    return s;
  });
  return parts;
}

}  // namespace dynamo
