// Minimal protobuf writer for sentencepiece_model.proto: ModelProto{pieces=1, trainer_spec=2,
// normalizer_spec=3}; only the fields libsentencepiece needs to encode and decode.
#include "core/tokenizer/spm_model_proto.h"

#include <cstring>

namespace dynamo {
namespace {

void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void tag(std::string& out, uint32_t field, uint32_t wire) { varint(out, (field << 3) | wire); }
void int_field(std::string& out, uint32_t field, int64_t v) {
  tag(out, field, 0);
  varint(out, static_cast<uint64_t>(v));  // negative int32 values take ten bytes, as protobuf's
}
void bytes_field(std::string& out, uint32_t field, const std::string& v) {
  tag(out, field, 2);
  varint(out, v.size());
  out += v;
}
void float_field(std::string& out, uint32_t field, float v) {
  tag(out, field, 5);
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

}  // namespace

std::string serialize_spm_model(const SpmModelSpec& spec) {
  std::string out;
  for (const auto& p : spec.pieces) {
    std::string msg;
    bytes_field(msg, 1, p.piece);
    float_field(msg, 2, p.score);
    int_field(msg, 3, p.type);
    bytes_field(out, 1, msg);
  }
  std::string trainer;
  int_field(trainer, 3, spec.model_type);
  int_field(trainer, 4, static_cast<int64_t>(spec.pieces.size()));
  int_field(trainer, 35, spec.byte_fallback ? 1 : 0);
  int_field(trainer, 40, spec.unk_id);
  int_field(trainer, 41, spec.bos_id);
  int_field(trainer, 42, spec.eos_id);
  int_field(trainer, 43, spec.pad_id);
  bytes_field(out, 2, trainer);
  std::string normalizer;
  bytes_field(normalizer, 1, "identity");
  int_field(normalizer, 3, spec.add_dummy_prefix ? 1 : 0);
  int_field(normalizer, 4, spec.remove_extra_whitespaces ? 1 : 0);
  int_field(normalizer, 5, 1);  // escape_whitespaces
  bytes_field(out, 3, normalizer);
  return out;
}

}  // namespace dynamo
