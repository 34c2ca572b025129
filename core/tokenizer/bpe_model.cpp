// BPE encoding of one word: initial symbols (bytes or characters, with byte fallback / unk), then
// repeatedly merge the adjacent pair of lowest rank, leftmost first (Hugging Face's order).
#include "core/tokenizer/bpe_model.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <mutex>
#include <queue>
#include <stdexcept>

#include "core/tokenizer/byte_level.h"
#include "core/tokenizer/utf8.h"

namespace dynamo {

// Word -> ids, sharded so threads rarely contend. Stops growing when full (like Hugging Face's).
class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 128;
  bool find(std::string_view word, std::vector<int32_t>& out) const {
    const size_t h = StringHash{}(word);
    Shard& s = shards_[h % kShards];
    std::lock_guard lock(s.mutex);
    auto it = s.map.find(word);
    if (it == s.map.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void insert(std::string_view word, const int32_t* ids, size_t n) const {
    const size_t h = StringHash{}(word);
    Shard& s = shards_[h % kShards];
    std::lock_guard lock(s.mutex);
    if (s.map.size() >= kMaxPerShard) return;
    s.map.emplace(std::string(word), std::vector<int32_t>(ids, ids + n));
  }

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxPerShard = 8192;
  struct Shard {
    std::mutex mutex;
    StringMap<std::vector<int32_t>> map;
  };
  mutable std::array<Shard, kShards> shards_;
};

namespace {

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
uint64_t mix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return k;
}
constexpr uint64_t kEmptyKey = ~0ULL;
constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // U+2581

}  // namespace

BpeModel::BpeModel(BpeConfig config) : config_(std::move(config)), cache_(std::make_unique<WordCache>()) {
  int32_t max_id = -1;
  for (const auto& [text, id] : config_.vocab) {
    if (id < 0) throw std::runtime_error("vocabulary token '" + text + "' has negative id");
    max_id = std::max(max_id, id);
  }
  id_to_text_.resize(static_cast<size_t>(max_id + 1));
  has_id_.resize(static_cast<size_t>(max_id + 1));
  text_to_id_.reserve(config_.vocab.size());
  model_to_id_.reserve(config_.vocab.size());
  byte_ids_.fill(-1);
  byte_fallback_ids_.fill(-1);
  for (auto& [text, id] : config_.vocab) {
    id_to_text_[id] = text;
    has_id_[id] = true;
    text_to_id_.emplace(text, id);
    if (config_.byte_level) {
      if (auto bytes = byte_level::text_to_bytes(text)) {
        if (bytes->size() == 1) byte_ids_[static_cast<unsigned char>((*bytes)[0])] = id;
        model_to_id_.emplace(std::move(*bytes), id);
      }
    } else {
      model_to_id_.emplace(text, id);
    }
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    if (auto it = text_to_id_.find(std::string_view(name)); it != text_to_id_.end())
      byte_fallback_ids_[b] = it->second;
  }
  if (config_.unk_token) {
    auto it = text_to_id_.find(*config_.unk_token);
    if (it == text_to_id_.end())
      throw std::runtime_error("unk_token '" + *config_.unk_token + "' is not in the vocabulary");
    unk_id_ = it->second;
  }
  if (!config_.byte_level && config_.continuing_subword_prefix.empty() &&
      config_.end_of_word_suffix.empty() && model_to_id_.count(std::string_view(kMetaspace))) {
    split_at_metaspace_ = true;
    for (const auto& [text, id] : config_.vocab) {
      for (size_t p = text.find(kMetaspace, 1); p != std::string::npos; p = text.find(kMetaspace, p + 1)) {
        if (p < kMetaspace.size() || text.compare(p - kMetaspace.size(), kMetaspace.size(), kMetaspace) != 0) {
          split_at_metaspace_ = false;
          break;
        }
      }
      if (!split_at_metaspace_) break;
    }
  }
  config_.vocab.clear();
  config_.vocab.shrink_to_fit();

  size_t cap = 16;
  while (cap < config_.merges.size() * 2) cap <<= 1;
  merge_keys_.assign(cap, kEmptyKey);
  merge_values_.resize(cap);
  merge_mask_ = cap - 1;
  const size_t prefix_len = config_.continuing_subword_prefix.size();
  for (size_t rank = 0; rank < config_.merges.size(); ++rank) {
    const auto& [a, b] = config_.merges[rank];
    auto ia = text_to_id_.find(a), ib = text_to_id_.find(b);
    if (ia == text_to_id_.end() || ib == text_to_id_.end())
      throw std::runtime_error("merge '" + a + " " + b + "' (rank " + std::to_string(rank) +
                               ") uses a token that is not in the vocabulary");
    const std::string joined = a + (b.size() >= prefix_len ? b.substr(prefix_len) : b);
    auto in = text_to_id_.find(joined);
    if (in == text_to_id_.end())
      throw std::runtime_error("merge '" + a + " " + b + "' (rank " + std::to_string(rank) +
                               ") makes '" + joined + "', which is not in the vocabulary");
    const uint64_t key = pair_key(ia->second, ib->second);
    uint64_t slot = mix(key) & merge_mask_;
    while (merge_keys_[slot] != kEmptyKey && merge_keys_[slot] != key) slot = (slot + 1) & merge_mask_;
    if (merge_keys_[slot] == key) continue;  // a repeated merge keeps its first (best) rank
    merge_keys_[slot] = key;
    merge_values_[slot] = {static_cast<int32_t>(rank), in->second};
  }
  config_.merges.clear();
  config_.merges.shrink_to_fit();
}

BpeModel::~BpeModel() = default;

const BpeModel::MergeValue* BpeModel::find_merge(int32_t a, int32_t b) const {
  const uint64_t key = pair_key(a, b);
  uint64_t slot = mix(key) & merge_mask_;
  while (true) {
    const uint64_t k = merge_keys_[slot];
    if (k == key) return &merge_values_[slot];
    if (k == kEmptyKey) return nullptr;
    slot = (slot + 1) & merge_mask_;
  }
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_text_.size() || !has_id_[id]) return nullptr;
  return &id_to_text_[id];
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view text) const {
  auto it = text_to_id_.find(text);
  if (it == text_to_id_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::initial_symbols(std::string_view word, std::vector<int32_t>& ids) const {
  // Pending unknown run: Hugging Face adds it when the next known symbol arrives or at the end.
  bool unk_pending = false;
  const auto flush_unk = [&] {
    if (unk_pending) ids.push_back(*unk_id_);
    unk_pending = false;
  };
  const auto unknown = [&] {
    if (!unk_id_) return;
    if (unk_pending && !config_.fuse_unk) ids.push_back(*unk_id_);
    unk_pending = true;
  };
  if (config_.byte_level && config_.continuing_subword_prefix.empty() &&
      config_.end_of_word_suffix.empty()) {
    for (unsigned char c : word) {
      const int32_t id = byte_ids_[c];
      if (id >= 0) {
        flush_unk();
        ids.push_back(id);
      } else {
        unknown();
      }
    }
    flush_unk();
    return;
  }
  std::string piece;
  size_t i = 0;
  while (i < word.size()) {
    const size_t start = i;
    i += config_.byte_level ? 1 : utf8::lead_length(static_cast<unsigned char>(word[i]));
    i = std::min(i, word.size());
    std::string_view ch = word.substr(start, i - start);
    std::string_view key = ch;
    if (!config_.continuing_subword_prefix.empty() || !config_.end_of_word_suffix.empty()) {
      piece.clear();
      if (start > 0) piece += config_.continuing_subword_prefix;
      piece.append(ch);
      if (i == word.size()) piece += config_.end_of_word_suffix;
      key = piece;
    }
    if (auto it = model_to_id_.find(key); it != model_to_id_.end()) {
      flush_unk();
      ids.push_back(it->second);
      continue;
    }
    if (config_.byte_fallback) {
      bool all = true;
      for (unsigned char c : ch) all = all && byte_fallback_ids_[c] >= 0;
      if (all) {
        for (unsigned char c : ch) ids.push_back(byte_fallback_ids_[c]);
        continue;
      }
    }
    unknown();
  }
  flush_unk();
}

// Few symbols: keep the rank of every adjacent pair in an array and rescan it.
void BpeModel::merge_small(std::vector<int32_t>& ids) const {
  thread_local std::vector<int32_t> ranks, news;
  const size_t n = ids.size();
  ranks.resize(n);
  news.resize(n);
  const auto fill = [&](size_t i) {
    const MergeValue* m = find_merge(ids[i], ids[i + 1]);
    ranks[i] = m ? m->rank : INT_MAX;
    news[i] = m ? m->new_id : -1;
  };
  for (size_t i = 0; i + 1 < n; ++i) fill(i);
  size_t len = n;
  while (len > 1) {
    size_t best = 0;
    int32_t best_rank = ranks[0];
    for (size_t i = 1; i + 1 < len; ++i) {
      if (ranks[i] < best_rank) {
        best_rank = ranks[i];
        best = i;
      }
    }
    if (best_rank == INT_MAX) break;
    ids[best] = news[best];
    ids.erase(ids.begin() + static_cast<ptrdiff_t>(best) + 1);
    ranks.erase(ranks.begin() + static_cast<ptrdiff_t>(best));
    news.erase(news.begin() + static_cast<ptrdiff_t>(best));
    --len;
    if (best > 0) fill(best - 1);
    if (best + 1 < len) fill(best);
  }
}

// Many symbols (long words, SentencePiece-style text without pre-tokenizer): a heap of candidate
// merges over a linked list, O(n log n).
void BpeModel::merge_large(std::vector<int32_t>& ids) const {
  struct Cand {
    int32_t rank;
    int32_t pos;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  const auto n = static_cast<int32_t>(ids.size());
  std::vector<int32_t> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  for (int32_t i = 0; i + 1 < n; ++i)
    if (const MergeValue* m = find_merge(ids[i], ids[i + 1])) heap.push({m->rank, i});
  while (!heap.empty()) {
    const Cand top = heap.top();
    heap.pop();
    if (!alive[top.pos] || next[top.pos] < 0) continue;
    const int32_t right = next[top.pos];
    const MergeValue* m = find_merge(ids[top.pos], ids[right]);
    if (m == nullptr || m->rank != top.rank) continue;
    ids[top.pos] = m->new_id;
    alive[right] = false;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;
    if (prev[top.pos] >= 0)
      if (const MergeValue* l = find_merge(ids[prev[top.pos]], ids[top.pos]))
        heap.push({l->rank, prev[top.pos]});
    if (next[top.pos] >= 0)
      if (const MergeValue* r = find_merge(ids[top.pos], ids[next[top.pos]]))
        heap.push({r->rank, top.pos});
  }
  size_t w = 0;
  for (int32_t i = 0; i >= 0 && i < n; i = next[i]) ids[w++] = ids[i];
  ids.resize(w);
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (split_at_metaspace_ && word.size() > WordCache::kMaxWordBytes / 2 && !config_.ignore_merges) {
    size_t start = 0;
    for (size_t p = word.find(kMetaspace, 1); p != std::string_view::npos;
         p = word.find(kMetaspace, p + kMetaspace.size())) {
      if (p >= kMetaspace.size() && word.compare(p - kMetaspace.size(), kMetaspace.size(), kMetaspace) == 0)
        continue;  // inside a run of "▁": tokens may span it
      encode_chunk(word.substr(start, p - start), out);
      start = p;
    }
    encode_chunk(word.substr(start), out);
    return;
  }
  encode_chunk(word, out);
}

void BpeModel::encode_chunk(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (config_.ignore_merges) {
    if (auto it = model_to_id_.find(word); it != model_to_id_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= WordCache::kMaxWordBytes;
  if (cacheable && cache_->find(word, out)) return;
  thread_local std::vector<int32_t> ids;
  ids.clear();
  initial_symbols(word, ids);
  if (ids.size() > 1) {
    if (ids.size() <= 256) merge_small(ids);
    else merge_large(ids);
  }
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) cache_->insert(word, ids.data(), ids.size());
}

}  // namespace dynamo
