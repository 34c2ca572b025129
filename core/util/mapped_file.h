// A read-only memory mapping of a whole file (RAII), or an owned copy of bytes already in memory
// (from_bytes: fuzzers and tests parse buffers through the same code). Used by the safetensors and GGUF readers.
#pragma once
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string_view>

namespace dynamo {

class MappedFile {
 public:
  // Throws ModelError naming the path when it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  // Copies `bytes`; `label` stands in for the path in error messages.
  static std::shared_ptr<const MappedFile> from_bytes(std::string_view bytes, const std::filesystem::path& label);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile() = default;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  std::filesystem::path path_;
  std::unique_ptr<std::byte[]> owned_;  // set by from_bytes; then data_ points into it and nothing is mapped
};

}  // namespace dynamo
