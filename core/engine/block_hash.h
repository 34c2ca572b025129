// Prefix-cache keys: a full KV block is named by XXH3-64 of its token ids seeded with the hash of the
// block before it, so equal hashes mean equal whole prefixes (up to 64-bit collisions).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace dynamo {

inline constexpr uint64_t kRootBlockHash = 0x6479'6e61'6d6f'0001ull;  // parent of the first block

uint64_t hash_block(uint64_t parent, std::span<const int32_t> tokens);

// Hashes of the full blocks of `tokens` from block `first` on (hashes[0..first) given in `out`),
// appended to `out`. Only full blocks are hashed.
void extend_block_hashes(std::span<const int32_t> tokens, int32_t block_size, std::vector<uint64_t>& out);

}  // namespace dynamo
