// Chained XXH3 block hashes for the prefix cache and the KV-aware router.
#include "core/engine/block_hash.h"

#include <xxhash.h>

namespace dynamo {

uint64_t hash_block(uint64_t parent, std::span<const int32_t> tokens) {
  return XXH3_64bits_withSeed(tokens.data(), tokens.size_bytes(), parent);
}

void extend_block_hashes(std::span<const int32_t> tokens, int32_t block_size, std::vector<uint64_t>& out) {
  const size_t full = tokens.size() / static_cast<size_t>(block_size);
  for (size_t b = out.size(); b < full; ++b) {
    const uint64_t parent = b == 0 ? kRootBlockHash : out[b - 1];
    out.push_back(hash_block(parent, tokens.subspan(b * block_size, block_size)));
  }
}

}  // namespace dynamo
