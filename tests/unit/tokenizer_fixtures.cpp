// Fixture tokenizers for the unit tests (see tokenizer_fixtures.h).
#include "tests/unit/tokenizer_fixtures.h"

#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace dynamo::test {
namespace fs = std::filesystem;

namespace {

void gunzip(const fs::path& from, const fs::path& to) {
  gzFile in = gzopen(from.string().c_str(), "rb");
  if (in == nullptr) throw std::runtime_error("cannot open " + from.string());
  // A per-process temporary name: ctest -j may run several test processes at once; rename is atomic.
  const fs::path tmp = to.string() + ".tmp." + std::to_string(::getpid());
  std::ofstream out(tmp, std::ios::binary);
  char buf[1 << 16];
  int n;
  while ((n = gzread(in, buf, sizeof(buf))) > 0) out.write(buf, n);
  gzclose(in);
  out.close();
  if (n < 0) throw std::runtime_error("corrupt gzip file " + from.string());
  fs::rename(tmp, to);
}

}  // namespace

std::string tokenizer_fixture_dir(const std::string& name) {
  const fs::path src = fs::path(DYNAMO_TEST_DATA) / "tokenizers" / name;
  bool compressed = false;
  for (const auto& e : fs::directory_iterator(src)) compressed |= e.path().extension() == ".gz";
  if (!compressed) return src.string();
  const fs::path dst = fs::path(DYNAMO_BINARY_DIR) / "test_data" / "tokenizers" / name;
  fs::create_directories(dst);
  for (const auto& e : fs::directory_iterator(src)) {
    if (e.path().extension() == ".gz") {
      const fs::path out = dst / e.path().stem();
      if (!fs::exists(out) || fs::last_write_time(out) < fs::last_write_time(e.path()))
        gunzip(e.path(), out);
    } else {
      const fs::path out = dst / e.path().filename();
      const fs::path tmp = out.string() + ".tmp." + std::to_string(::getpid());
      if (!fs::exists(out) || fs::last_write_time(out) < fs::last_write_time(e.path())) {
        fs::copy_file(e.path(), tmp, fs::copy_options::overwrite_existing);
        fs::rename(tmp, out);
      }
    }
  }
  return dst.string();
}

const Tokenizer& fixture_tokenizer(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  std::lock_guard lock(mutex);
  auto& slot = loaded[name];
  if (!slot) slot = load_tokenizer(tokenizer_fixture_dir(name));
  return *slot;
}

}  // namespace dynamo::test
