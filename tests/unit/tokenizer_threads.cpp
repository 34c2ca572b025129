// Encode/decode are const and shared by every request thread: several threads on one tokenizer
// (sharing its word cache) must give the single-thread results.
#include <doctest/doctest.h>

#include <thread>

#include "tests/unit/tokenizer_fixtures.h"

TEST_CASE("tokenizer: concurrent encode and decode give the single-thread results") {
  std::vector<std::string> texts;
  for (int i = 0; i < 300; ++i)
    texts.push_back("request " + std::to_string(i) + ": Grüße, 世界 🦙 " + std::string(i % 7, ' ') +
                    "def f_" + std::to_string(i * 7919) + "(x): return x\n");
  for (const char* name : {"llama3", "spm-bpe-32k", "llama2-spm"}) {
    CAPTURE(name);
    const auto& tok = dynamo::test::fixture_tokenizer(name);
    std::vector<std::vector<int32_t>> want;
    for (const auto& t : texts) want.push_back(tok.encode(t));
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int w = 0; w < 4; ++w) {
      threads.emplace_back([&, w] {
        for (size_t i = 0; i < texts.size(); ++i) {
          const size_t k = (i * 31 + static_cast<size_t>(w) * 101) % texts.size();
          const auto ids = tok.encode(texts[k]);
          if (ids != want[k] || tok.decode(ids) != tok.decode(want[k])) ++mismatches[w];
        }
      });
    }
    for (auto& t : threads) t.join();
    for (int m : mismatches) CHECK(m == 0);
  }
}
