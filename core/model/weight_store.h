// Named weight tensors of a loaded model, either memory-mapped from safetensors or owned (GGUF, dummy).
// Built once at load time on one thread; read-only and safe to share across threads afterwards.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/model/dtype.h"

namespace dynamo {

struct TensorView {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;  // may be unaligned (safetensors offsets are arbitrary): copy, never cast
  size_t nbytes = 0;
  std::string source;  // file the tensor came from, for error messages

  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

std::string shape_string(std::span<const int64_t> shape);  // "[576, 49152]"

class WeightStore {
 public:
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws ModelError naming the tensor and the sources searched when absent.
  const TensorView& get(const std::string& name) const;
  // The tensor converted to f32; throws ModelError naming file, tensor, expected and actual shape on mismatch.
  std::vector<float> to_f32(const std::string& name, std::span<const int64_t> expected_shape) const;
  std::vector<std::string> names() const;

  // Keeps `owner` alive as long as the store (an mmap, a buffer) and registers a view into it.
  void add(const std::string& name, TensorView view, std::shared_ptr<const void> owner);
  void add_owned_f32(const std::string& name, std::vector<int64_t> shape, std::vector<float> values,
                     const std::string& source);
  void set_description(std::string d) { description_ = std::move(d); }
  const std::string& description() const { return description_; }

 private:
  std::map<std::string, TensorView> tensors_;
  std::vector<std::shared_ptr<const void>> owners_;
  std::string description_;  // the files the store was loaded from
};

}  // namespace dynamo
