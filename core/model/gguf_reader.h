// Reads a GGUF file's metadata and tensor directory (memory mapped). Untrusted input: every count,
// length and offset is checked against the file before use. Thread-safe to read after open().
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/mapped_file.h"

namespace dynamo {

enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9, Q2_K = 10,
  Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15, I8 = 24, I16 = 25, I32 = 26, I64 = 27,
  F64 = 28, BF16 = 30,
};

const char* ggml_type_name(GgmlType t);

// One metadata value. Scalars land in i/u/f/b/s; arrays in the matching *_array member.
struct GgufValue {
  enum class Kind { Int, UInt, Float, Bool, String, Array } kind = Kind::Int;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  bool b = false;
  std::string s;
  std::vector<int64_t> int_array;       // signed and unsigned integer arrays, bools as 0/1
  std::vector<double> float_array;
  std::vector<std::string> string_array;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // GGML order: ne[0] varies fastest (the row length)
  GgmlType type = GgmlType::F32;
  const std::byte* data = nullptr;
  size_t nbytes = 0;
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : ne) n *= d;
    return n;
  }
};

class GgufFile {
 public:
  // Throws ModelError naming the file and what is wrong.
  static std::shared_ptr<const GgufFile> open(const std::filesystem::path& path);
  // The same parse over bytes in memory (copied); `label` names the source in errors. For fuzzers and tests.
  static std::shared_ptr<const GgufFile> parse(std::string_view bytes, const std::string& label);

  bool has(const std::string& key) const { return kv_.count(key) != 0; }
  const GgufValue* find(const std::string& key) const;
  std::optional<int64_t> get_int(const std::string& key) const;  // any integer kind
  std::optional<double> get_float(const std::string& key) const;  // float or integer
  std::optional<bool> get_bool(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key) const;
  const std::vector<std::string>* get_string_array(const std::string& key) const;
  const std::vector<int64_t>* get_int_array(const std::string& key) const;
  const std::vector<double>* get_float_array(const std::string& key) const;
  std::vector<std::string> keys() const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* tensor(const std::string& name) const;
  const std::filesystem::path& path() const { return file_->path(); }
  std::shared_ptr<const MappedFile> mapping() const { return file_; }
  uint32_t version() const { return version_; }

 private:
  static std::shared_ptr<const GgufFile> from_mapping(std::shared_ptr<const MappedFile> file);
  std::shared_ptr<const MappedFile> file_;
  uint32_t version_ = 0;
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace dynamo
