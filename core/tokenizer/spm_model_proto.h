// Writes a SentencePiece ModelProto (protobuf wire format) from a piece list, so a GGUF "llama"
// vocabulary (tokens, scores, types) can be loaded by libsentencepiece itself.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dynamo {

struct SpmPiece {
  std::string piece;
  float score = 0;
  int type = 1;  // NORMAL=1 UNKNOWN=2 CONTROL=3 USER_DEFINED=4 UNUSED=5 BYTE=6 (GGUF uses the same)
};

struct SpmModelSpec {
  std::vector<SpmPiece> pieces;
  int model_type = 2;  // UNIGRAM=1, BPE=2
  bool byte_fallback = false;
  int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = false;
};

std::string serialize_spm_model(const SpmModelSpec& spec);

}  // namespace dynamo
