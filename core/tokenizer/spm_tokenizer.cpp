// SentencePiece-backed Tokenizer: segments between special pieces go to the processor.
#include "core/tokenizer/spm_tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>

#include "core/tokenizer/added_vocabulary.h"
#include "core/tokenizer/normalizers.h"
#include "core/tokenizer/utf8.h"
#include "core/util/errors.h"

namespace dynamo {
namespace {

class SpmTokenizer : public Tokenizer {
 public:
  // source: a file path, or the serialized proto when from_proto.
  SpmTokenizer(const std::string& source, bool from_proto, const std::string& origin,
               TokenizerMeta meta)
      : meta_(std::move(meta)) {
    const auto status = from_proto ? sp_.LoadFromSerializedProto(source) : sp_.Load(source);
    if (!status.ok())
      throw ModelError(origin + ": libsentencepiece cannot load it: " + status.ToString());
    std::vector<AddedToken> specials;
    for (int id = 0; id < sp_.GetPieceSize(); ++id) {
      if (sp_.IsControl(id) || sp_.IsUnknown(id))
        specials.push_back(AddedToken{id, sp_.IdToPiece(id), true, false, false, false, false});
    }
    specials_ = AddedVocabulary(std::move(specials));
    if (meta_.bos_token.empty() && sp_.bos_id() >= 0) meta_.bos_token = sp_.IdToPiece(sp_.bos_id());
    if (meta_.eos_token.empty() && sp_.eos_id() >= 0) meta_.eos_token = sp_.IdToPiece(sp_.eos_id());
    add_bos_ = meta_.add_bos.value_or(true);
    add_eos_ = meta_.add_eos.value_or(false);
  }

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override {
    std::string repaired;
    if (!utf8::is_valid(text)) {
      repaired = utf8::make_valid(text);
      text = repaired;
    }
    std::vector<int32_t> out;
    if (add_special && add_bos_)
      if (auto id = bos_id()) out.push_back(*id);
    std::vector<AddedMatch> matches;
    specials_.find(text, false, matches);
    size_t prev = 0;
    for (const auto& m : matches) {
      if (m.begin > prev) encode_piece(text.substr(prev, m.begin - prev), out);
      out.push_back(m.id);
      prev = m.end;
    }
    if (prev < text.size()) encode_piece(text.substr(prev), out);
    if (add_special && add_eos_ && sp_.eos_id() >= 0) out.push_back(sp_.eos_id());
    return out;
  }

  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const override {
    std::string out;
    std::vector<int> run;
    const auto flush = [&] {
      if (run.empty()) return;
      std::string text;
      (void)sp_.Decode(run, &text);
      out += text;
      run.clear();
    };
    for (int32_t id : ids) {
      if (id < 0 || id >= sp_.GetPieceSize()) continue;
      if (specials_.by_id(id)) {
        if (skip_special) continue;
        flush();
        out += sp_.IdToPiece(id);
      } else {
        run.push_back(id);
      }
    }
    flush();
    return out;
  }

  std::string token_to_piece(int32_t id) const override {
    if (id < 0 || id >= sp_.GetPieceSize()) return {};
    std::string piece = sp_.IdToPiece(id);
    if (sp_.IsByte(id) && piece.size() == 6)
      return std::string(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
    replace_all(piece, "\xE2\x96\x81", " ");
    return piece;
  }
  int64_t vocab_size() const override { return sp_.GetPieceSize(); }
  bool is_special(int32_t id) const override { return specials_.by_id(id) != nullptr; }
  std::optional<int32_t> token_to_id(std::string_view token) const override {
    const int id = sp_.PieceToId(token);
    if (id == sp_.unk_id() && token != sp_.IdToPiece(id)) return std::nullopt;
    return id;
  }
  std::optional<int32_t> bos_id() const override {
    if (!meta_.bos_token.empty()) return token_to_id(meta_.bos_token);
    return std::nullopt;
  }
  std::vector<int32_t> eos_ids() const override {
    std::vector<int32_t> ids;
    if (!meta_.eos_token.empty())
      if (auto id = token_to_id(meta_.eos_token)) ids.push_back(*id);
    for (int32_t id : meta_.eos_ids)
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    return ids;
  }
  std::string bos_token() const override { return meta_.bos_token; }
  std::string eos_token() const override { return meta_.eos_token; }
  std::string chat_template() const override { return meta_.chat_template; }

 private:
  void encode_piece(std::string_view text, std::vector<int32_t>& out) const {
    std::vector<int> ids;
    (void)sp_.Encode(text, &ids);
    out.insert(out.end(), ids.begin(), ids.end());
  }

  sentencepiece::SentencePieceProcessor sp_;
  TokenizerMeta meta_;
  AddedVocabulary specials_;
  bool add_bos_ = true;
  bool add_eos_ = false;
};

}  // namespace

std::unique_ptr<Tokenizer> load_spm_tokenizer(const std::filesystem::path& model_file,
                                              TokenizerMeta meta) {
  return std::make_unique<SpmTokenizer>(model_file.string(), false, model_file.string(),
                                        std::move(meta));
}

std::unique_ptr<Tokenizer> load_spm_tokenizer_from_proto(const std::string& serialized,
                                                         TokenizerMeta meta,
                                                         const std::string& origin) {
  return std::make_unique<SpmTokenizer>(serialized, true, origin, std::move(meta));
}

}  // namespace dynamo
