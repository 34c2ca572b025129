// A read-only memory mapping of a whole file (RAII). Used by the safetensors and GGUF readers.
#pragma once
#include <cstddef>
#include <filesystem>
#include <memory>

namespace dynamo {

class MappedFile {
 public:
  // Throws ModelError naming the path when it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
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
};

}  // namespace dynamo
