// BlockManager: reference counts, prefix cache by chained hashes, LRU eviction, events, counters.
#include <doctest/doctest.h>

#include <random>

#include "core/engine/block_hash.h"
#include "core/engine/block_manager.h"

using namespace dynamo;

namespace {

std::vector<uint64_t> hashes_of(const std::vector<int32_t>& tokens, int32_t bs) {
  std::vector<uint64_t> h;
  extend_block_hashes(tokens, bs, h);
  return h;
}

}  // namespace

TEST_CASE("engine block hashes are chained and cover only full blocks") {
  std::vector<int32_t> a{1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto h = hashes_of(a, 4);
  REQUIRE(h.size() == 2);  // the ninth token is a partial block
  std::vector<int32_t> b{9, 9, 9, 9, 5, 6, 7, 8};
  auto hb = hashes_of(b, 4);
  CHECK(hb[1] != h[1]);  // same block tokens, different parent
  CHECK(hash_block(h[0], std::span<const int32_t>(a).subspan(4, 4)) == h[1]);
  std::vector<uint64_t> partial{h[0]};
  extend_block_hashes(a, 4, partial);  // extends from what is there
  CHECK(partial == h);
}

TEST_CASE("engine block manager: allocate, release, refcounts") {
  BlockManager m(4, 16);
  CHECK(m.num_available() == 4);
  int32_t a = m.allocate(), b = m.allocate();
  CHECK(a != b);
  CHECK(m.num_used() == 2);
  m.release(a);
  CHECK(m.num_used() == 1);
  CHECK_THROWS(m.release(a));
  for (int i = 0; i < 3; ++i) CHECK(m.allocate() >= 0);
  CHECK(m.allocate() == -1);  // all four in use
  m.check_invariants();
}

TEST_CASE("engine block manager: prefix hits, sharing, LRU eviction, events and counters") {
  const int32_t bs = 4;
  BlockManager m(4, bs);
  std::vector<int32_t> tokens{1, 2, 3, 4, 5, 6, 7, 8};
  auto h = hashes_of(tokens, bs);
  std::vector<int32_t> t1{m.allocate(), m.allocate()};
  m.commit(t1[0], h[0]);
  m.commit(t1[1], h[1]);
  auto ev = m.take_events();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].kind == KvEvent::Kind::Stored);
  CHECK(m.count_cached_prefix(h) == 2);

  // Shared while owned: a second sequence takes a reference.
  std::vector<int32_t> t2;
  CHECK(m.acquire_prefix(h, 2, t2) == 2);
  CHECK(t2 == t1);
  CHECK(m.num_used() == 2);
  m.release_all(t1);
  CHECK(m.num_used() == 2);  // still held by t2
  m.release_all(t2);
  CHECK(m.num_used() == 0);
  CHECK(m.num_cached() == 2);
  CHECK(m.num_available() == 4);
  m.check_invariants();

  // Free blocks are used before cached ones; then the least recently freed cached block goes first.
  // release_all frees the tail first, so block h[1] is older in the LRU than h[0].
  int32_t x = m.allocate(), y = m.allocate();
  CHECK(m.num_cached() == 2);
  int32_t z = m.allocate();  // evicts the tail block (h[1])
  CHECK(m.count_cached_prefix(h) == 1);
  ev = m.take_events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == KvEvent::Kind::Removed);
  CHECK(ev[0].hash == h[1]);
  m.release(x);
  m.release(y);
  m.release(z);
  m.check_invariants();

  // Counters only move through record_lookup.
  m.record_lookup(2, 1);
  CHECK(m.queries() == 2);
  CHECK(m.hits() == 1);
}

TEST_CASE("engine block manager: a duplicate block stays anonymous") {
  BlockManager m(3, 2);
  std::vector<int32_t> tokens{5, 6};
  auto h = hashes_of(tokens, 2);
  int32_t a = m.allocate(), b = m.allocate();
  m.commit(a, h[0]);
  m.commit(b, h[0]);  // computed twice concurrently
  m.release(b);
  CHECK(m.num_cached() == 0);  // b went back to the free list
  m.release(a);
  CHECK(m.num_cached() == 1);
  m.check_invariants();
}

TEST_CASE("engine block manager: random workload keeps the partition and leaks nothing") {
  std::mt19937 rng(7);
  BlockManager m(64, 4);
  std::vector<std::vector<int32_t>> live;
  for (int iter = 0; iter < 5000; ++iter) {
    const int op = static_cast<int>(rng() % 3);
    if (op < 2) {
      std::vector<int32_t> prompt;
      const int n = 1 + static_cast<int>(rng() % 20);
      for (int i = 0; i < n; ++i) prompt.push_back(static_cast<int32_t>(rng() % 3));  // many shared prefixes
      auto h = hashes_of(prompt, 4);
      std::vector<int32_t> table;
      m.acquire_prefix(h, static_cast<int32_t>(h.size()), table);
      bool ok = true;
      while (static_cast<int>(table.size()) * 4 < n) {
        int32_t b = m.allocate();
        if (b < 0) {
          ok = false;
          break;
        }
        table.push_back(b);
      }
      if (!ok) {
        m.release_all(table);
      } else {
        for (size_t i = 0; i < h.size(); ++i) m.commit(table[i], h[i]);
        live.push_back(std::move(table));
      }
    } else if (!live.empty()) {
      const size_t i = rng() % live.size();
      m.release_all(live[i]);
      live.erase(live.begin() + static_cast<long>(i));
    }
    if (iter % 97 == 0) m.check_invariants();
  }
  for (auto& t : live) m.release_all(t);
  m.check_invariants();
  CHECK(m.num_used() == 0);
  CHECK(m.num_available() == 64);
}
