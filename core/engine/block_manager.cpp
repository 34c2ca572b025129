// BlockManager: free list, reference counts, hash -> block map and LRU of free cached blocks.
#include "core/engine/block_manager.h"

#include <stdexcept>
#include <string>

namespace dynamo {

BlockManager::BlockManager(int32_t num_blocks, int32_t block_size)
    : block_size_(block_size), blocks_(static_cast<size_t>(num_blocks)) {
  if (num_blocks <= 0 || block_size <= 0) throw std::invalid_argument("BlockManager: empty pool");
  free_.reserve(blocks_.size());
  for (int32_t b = num_blocks - 1; b >= 0; --b) free_.push_back(b);
}

int32_t BlockManager::count_cached_prefix(std::span<const uint64_t> hashes) const {
  int32_t n = 0;
  for (uint64_t h : hashes) {
    if (!cached_.count(h)) break;
    ++n;
  }
  return n;
}

int32_t BlockManager::acquire_prefix(std::span<const uint64_t> hashes, int32_t max_blocks,
                                     std::vector<int32_t>& table) {
  int32_t n = 0;
  for (uint64_t h : hashes) {
    if (n >= max_blocks) break;
    auto it = cached_.find(h);
    if (it == cached_.end()) break;
    Block& b = blocks_[it->second];
    if (b.ref == 0) {
      lru_.erase(b.lru_it);
      b.in_lru = false;
      ++num_used_;
    }
    ++b.ref;
    table.push_back(it->second);
    ++n;
  }
  return n;
}

int32_t BlockManager::allocate() {
  int32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else if (!lru_.empty()) {
    id = lru_.front();
    lru_.pop_front();
    blocks_[id].in_lru = false;
    drop_hash(id);
  } else {
    return -1;
  }
  blocks_[id].ref = 1;
  ++num_used_;
  return id;
}

void BlockManager::drop_hash(int32_t id) {
  Block& b = blocks_[id];
  if (!b.hashed) return;
  cached_.erase(b.hash);
  events_.push_back({KvEvent::Kind::Removed, b.hash});
  b.hashed = false;
}

void BlockManager::release(int32_t id) {
  Block& b = blocks_.at(static_cast<size_t>(id));
  if (b.ref <= 0) throw std::logic_error("BlockManager: release of free block " + std::to_string(id));
  if (--b.ref > 0) return;
  --num_used_;
  if (b.hashed) {
    b.lru_it = lru_.insert(lru_.end(), id);
    b.in_lru = true;
  } else {
    free_.push_back(id);
  }
}

void BlockManager::release_all(std::vector<int32_t>& table) {
  for (auto it = table.rbegin(); it != table.rend(); ++it) release(*it);
  table.clear();
}

void BlockManager::commit(int32_t id, uint64_t hash) {
  Block& b = blocks_.at(static_cast<size_t>(id));
  if (b.ref <= 0) throw std::logic_error("BlockManager: commit of free block " + std::to_string(id));
  if (b.hashed) return;  // already named (a shared prefix block)
  if (!cached_.emplace(hash, id).second) return;  // an equal block is cached already
  b.hash = hash;
  b.hashed = true;
  events_.push_back({KvEvent::Kind::Stored, hash});
}

std::vector<KvEvent> BlockManager::take_events() {
  std::vector<KvEvent> out;
  out.swap(events_);
  return out;
}

void BlockManager::check_invariants() const {
  auto fail = [](const std::string& what) { throw std::logic_error("BlockManager invariant: " + what); };
  std::vector<int> seen(blocks_.size(), 0);
  for (int32_t id : free_) {
    if (blocks_[id].ref != 0 || blocks_[id].hashed) fail("free block " + std::to_string(id) + " is in use or hashed");
    ++seen[id];
  }
  for (int32_t id : lru_) {
    if (blocks_[id].ref != 0 || !blocks_[id].hashed || !blocks_[id].in_lru) fail("cached block " + std::to_string(id));
    ++seen[id];
  }
  int32_t used = 0;
  for (size_t id = 0; id < blocks_.size(); ++id) {
    if (blocks_[id].ref > 0) {
      ++used;
      ++seen[id];
    }
    if (seen[id] != 1) fail("block " + std::to_string(id) + " is in " + std::to_string(seen[id]) + " places");
    if (blocks_[id].hashed) {
      auto it = cached_.find(blocks_[id].hash);
      if (it == cached_.end() || it->second != static_cast<int32_t>(id)) fail("hash map misses block " + std::to_string(id));
    }
  }
  if (used != num_used_) fail("used count " + std::to_string(num_used_) + " != " + std::to_string(used));
  for (const auto& [h, id] : cached_) {
    if (!blocks_[id].hashed || blocks_[id].hash != h) fail("stale hash entry");
  }
}

}  // namespace dynamo
