// load_tokenizer(): picks the loader from what the path holds (tokenizer.json, tokenizer.model,
// GPT-2 vocab + merges files, or a GGUF file) and attaches the config beside it.
#include <algorithm>

#include "core/tokenizer/gguf_vocab.h"
#include "core/tokenizer/gpt2_files.h"
#include "core/tokenizer/spm_tokenizer.h"
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/tokenizer_json.h"
#include "core/util/errors.h"

namespace dynamo {
namespace fs = std::filesystem;

namespace {

bool is_gguf(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".gguf";
}

std::unique_ptr<Tokenizer> load_from_dir(const fs::path& dir) {
  if (fs::exists(dir / "tokenizer.json")) {
    TokenizerMeta meta = read_tokenizer_meta(dir);
    return std::make_unique<PipelineTokenizer>(load_tokenizer_json(dir / "tokenizer.json"),
                                               std::move(meta));
  }
  if (fs::exists(dir / "tokenizer.model"))
    return load_spm_tokenizer(dir / "tokenizer.model", read_tokenizer_meta(dir));
  for (auto [vocab, merges] : {std::pair{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}}) {
    if (fs::exists(dir / vocab) && fs::exists(dir / merges)) {
      TokenizerMeta meta = read_tokenizer_meta(dir);
      if (meta.eos_token.empty()) meta.eos_token = "<|endoftext|>";
      return std::make_unique<PipelineTokenizer>(load_gpt2_files(dir / vocab, dir / merges),
                                                 std::move(meta));
    }
  }
  std::vector<fs::path> ggufs;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && is_gguf(entry.path())) ggufs.push_back(entry.path());
  if (ggufs.size() == 1) return load_gguf_tokenizer(ggufs[0]);
  if (ggufs.size() > 1)
    throw ModelError(dir.string() + ": no tokenizer.json or tokenizer.model, and several .gguf "
                     "files; pass the .gguf file itself");
  throw ModelError(dir.string() + ": no tokenizer found (looked for tokenizer.json, "
                   "tokenizer.model, vocab.json + merges.txt, encoder.json + vocab.bpe, *.gguf)");
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw ModelError(path.string() + ": no such file or folder");
  if (fs::is_directory(path)) return load_from_dir(path);
  if (is_gguf(path)) return load_gguf_tokenizer(path);
  const std::string name = path.filename().string();
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  if (name == "tokenizer.model") return load_spm_tokenizer(path, read_tokenizer_meta(dir));
  if (path.extension() == ".json" && name != "vocab.json" && name != "encoder.json")
    return std::make_unique<PipelineTokenizer>(load_tokenizer_json(path), read_tokenizer_meta(dir));
  throw ModelError(path.string() + ": not a tokenizer file (expected a folder, tokenizer.json, "
                   "tokenizer.model or a .gguf file)");
}

}  // namespace dynamo
