// Encode: added tokens -> normalize -> added (normalized) tokens -> pre-tokenize -> BPE -> BOS/EOS.
// Decode: ids -> token strings (skipping special ones on request) -> decoder chain.
#include "core/tokenizer/pipeline_tokenizer.h"

#include <algorithm>

#include "core/tokenizer/byte_level.h"
#include "core/tokenizer/utf8.h"

namespace dynamo {

PipelineTokenizer::PipelineTokenizer(PipelineParts parts, TokenizerMeta meta)
    : parts_(std::move(parts)), meta_(std::move(meta)) {
  for (const auto& t : parts_.added.tokens()) has_normalized_added_ |= t.normalized;
  joins_bytes_ = parts_.decoder && parts_.decoder->joins_byte_tokens();
  byte_level_decoder_ = parts_.decoder && parts_.decoder->maps_byte_level();
  // tokenizer_config.json's add_bos_token / add_eos_token override the post-processor, as
  // transformers' Llama tokenizers rebuild it from those flags.
  const auto apply = [](std::vector<int32_t>& ids, std::optional<bool> add, std::optional<int32_t> id,
                        bool front) {
    if (!add || !id) return;
    const bool has = std::find(ids.begin(), ids.end(), *id) != ids.end();
    if (*add && !has) ids.insert(front ? ids.begin() : ids.end(), *id);
    if (!*add && has) ids.erase(std::remove(ids.begin(), ids.end(), *id), ids.end());
  };
  apply(parts_.prefix, meta_.add_bos, bos_id(), true);
  std::optional<int32_t> eos;
  if (!meta_.eos_token.empty()) eos = token_to_id(meta_.eos_token);
  apply(parts_.suffix, meta_.add_eos, eos, false);
}

std::vector<int32_t> PipelineTokenizer::encode(std::string_view text, bool add_special) const {
  std::string repaired;
  if (!utf8::is_valid(text)) {
    repaired = utf8::make_valid(text);
    text = repaired;
  }
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 8);
  if (add_special) out = parts_.prefix;
  std::vector<AddedMatch> matches;
  parts_.added.find(text, false, matches);
  size_t prev = 0;
  for (const auto& m : matches) {
    if (m.begin > prev) encode_segment(text.substr(prev, m.begin - prev), prev == 0, out);
    out.push_back(m.id);
    prev = m.end;
  }
  if (prev < text.size()) encode_segment(text.substr(prev), prev == 0, out);
  if (add_special) out.insert(out.end(), parts_.suffix.begin(), parts_.suffix.end());
  return out;
}

void PipelineTokenizer::encode_segment(std::string_view text, bool at_start,
                                       std::vector<int32_t>& out) const {
  if (!parts_.normalizer && !has_normalized_added_) {
    encode_normalized(text, at_start, out);
    return;
  }
  std::string norm(text);
  if (parts_.normalizer) parts_.normalizer->normalize(norm);
  if (!has_normalized_added_) {
    encode_normalized(norm, at_start, out);
    return;
  }
  std::vector<AddedMatch> matches;
  parts_.added.find(norm, true, matches);
  size_t prev = 0;
  const std::string_view nv(norm);
  for (const auto& m : matches) {
    if (m.begin > prev) encode_normalized(nv.substr(prev, m.begin - prev), at_start && prev == 0, out);
    out.push_back(m.id);
    prev = m.end;
  }
  if (prev < nv.size()) encode_normalized(nv.substr(prev), at_start && prev == 0, out);
}

void PipelineTokenizer::encode_normalized(std::string_view text, bool at_start,
                                          std::vector<int32_t>& out) const {
  if (text.empty()) return;
  if (!parts_.pre_tokenizer) {
    parts_.model->encode_word(text, out);
    return;
  }
  thread_local Pieces pieces;
  pieces.arena.assign(text);
  pieces.spans.assign(1, Pieces::Span{0, static_cast<uint32_t>(text.size()), at_start});
  parts_.pre_tokenizer->pre_tokenize(pieces);
  for (const auto& span : pieces.spans) parts_.model->encode_word(pieces.view(span), out);
}

std::string PipelineTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const AddedToken* t = parts_.added.by_id(id)) {
      if (skip_special && t->special) continue;
      tokens.push_back(t->content);
    } else if (const std::string* text = parts_.model->id_to_token(id)) {
      tokens.push_back(*text);
    }
  }
  return run_decoder(parts_.decoder.get(), std::move(tokens));
}

const std::string* PipelineTokenizer::token_string(int32_t id) const {
  if (const AddedToken* t = parts_.added.by_id(id)) return &t->content;
  return parts_.model->id_to_token(id);
}

std::string PipelineTokenizer::token_to_piece(int32_t id) const {
  const std::string* text = token_string(id);
  if (text == nullptr) return {};
  // The ByteLevel decoder maps added tokens' content through the byte table too, when every
  // character is in it ("xÃ" is the bytes 78 C3: a partial character).
  if (byte_level_decoder_) {
    if (auto bytes = byte_level::text_to_bytes(*text)) return *bytes;
    return *text;
  }
  if (parts_.added.by_id(id)) return *text;
  if (const int byte = fallback_byte(id); byte >= 0) return std::string(1, static_cast<char>(byte));
  std::string piece = *text;
  replace_all(piece, "\xE2\x96\x81", " ");
  return piece;
}

// Decoders before ByteFallback in a Sequence are taken not to rewrite "<0xHH>" (true of every
// shipped tokenizer.json: they replace "▁" or strip spaces).
int PipelineTokenizer::fallback_byte(int32_t id) const {
  if (!joins_bytes_) return -1;
  const std::string* text = token_string(id);
  return text ? byte_fallback_value(*text) : -1;
}

int64_t PipelineTokenizer::vocab_size() const {
  int64_t n = parts_.model->size();
  for (const auto& t : parts_.added.tokens()) n = std::max<int64_t>(n, t.id + 1);
  return n;
}

bool PipelineTokenizer::is_special(int32_t id) const {
  const AddedToken* t = parts_.added.by_id(id);
  return t != nullptr && t->special;
}

std::optional<int32_t> PipelineTokenizer::token_to_id(std::string_view token) const {
  if (auto id = parts_.added.id_of(token)) return id;
  return parts_.model->token_to_id(token);
}

std::optional<int32_t> PipelineTokenizer::bos_id() const {
  if (meta_.bos_id) return meta_.bos_id;
  if (meta_.bos_token.empty()) return std::nullopt;
  return token_to_id(meta_.bos_token);
}

std::vector<int32_t> PipelineTokenizer::eos_ids() const {
  std::vector<int32_t> ids;
  if (!meta_.eos_token.empty())
    if (auto id = token_to_id(meta_.eos_token)) ids.push_back(*id);
  for (int32_t id : meta_.eos_ids)
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  return ids;
}

}  // namespace dynamo
