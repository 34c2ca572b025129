// Paged KV block accounting for one executor: reference-counted blocks, a prefix cache keyed by chained
// block hashes, LRU eviction of free-but-cached blocks, and the events the router's index follows.
// Owned and used by one worker thread only (not thread-safe). Holds no KV data: the executor does.
#pragma once
#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

namespace dynamo {

struct KvEvent {
  enum class Kind { Stored, Removed } kind = Kind::Stored;
  uint64_t hash = 0;
};

class BlockManager {
 public:
  BlockManager(int32_t num_blocks, int32_t block_size);

  int32_t num_blocks() const { return static_cast<int32_t>(blocks_.size()); }
  int32_t block_size() const { return block_size_; }
  // Blocks an allocate() can return now: free ones plus cached ones that may be evicted.
  int32_t num_available() const { return static_cast<int32_t>(free_.size() + lru_.size()); }
  int32_t num_used() const { return num_used_; }            // referenced by live sequences
  int32_t num_cached() const { return static_cast<int32_t>(lru_.size()); }  // free, holding a prefix
  int64_t queries() const { return queries_; }
  int64_t hits() const { return hits_; }

  // How many leading hashes are in the cache (owned or free); does not count as a query.
  int32_t count_cached_prefix(std::span<const uint64_t> hashes) const;
  // Takes a reference on the cached blocks of the leading hashes, up to max_blocks, and appends
  // their ids to `table`. Returns how many blocks it took.
  int32_t acquire_prefix(std::span<const uint64_t> hashes, int32_t max_blocks, std::vector<int32_t>& table);

  // Prefix-cache statistics: `queries` blocks looked up at an admission, `hits` of them found.
  void record_lookup(int32_t queries, int32_t hits) {
    queries_ += queries;
    hits_ += hits;
  }

  // A fresh block (refcount 1, no hash), evicting the least recently freed cached block when no block
  // is free; -1 when every block is in use.
  int32_t allocate();
  // Drops a reference; at zero the block becomes cached (if it has a hash) or free.
  void release(int32_t block);
  void release_all(std::vector<int32_t>& table);  // releases in reverse (tail evicted first), clears

  // The block's content is now the full block named by `hash`: it becomes findable. When another block
  // already carries the hash this one stays anonymous (it is freed, not cached, on release).
  void commit(int32_t block, uint64_t hash);

  // Events since the last call (Stored when a hash becomes findable, Removed when evicted).
  std::vector<KvEvent> take_events();
  // Throws std::logic_error when the free/owned/cached partition or the hash map is inconsistent.
  void check_invariants() const;

 private:
  struct Block {
    int32_t ref = 0;
    uint64_t hash = 0;
    bool hashed = false;
    std::list<int32_t>::iterator lru_it;
    bool in_lru = false;
  };
  void drop_hash(int32_t block);

  int32_t block_size_;
  std::vector<Block> blocks_;
  std::vector<int32_t> free_;     // stack of anonymous free blocks
  std::list<int32_t> lru_;        // free cached blocks, least recently freed first
  std::unordered_map<uint64_t, int32_t> cached_;  // hash -> block (owned or in lru_)
  int32_t num_used_ = 0;
  int64_t queries_ = 0;
  int64_t hits_ = 0;
  std::vector<KvEvent> events_;
};

}  // namespace dynamo
