// WeightStore: lookup, shape checks and f32 conversion of named weight tensors.
#include "core/model/weight_store.h"

#include <algorithm>
#include <cstring>

#include "core/util/errors.h"

namespace dynamo {

std::string shape_string(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

const TensorView& WeightStore::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    throw ModelError("missing tensor '" + name + "' (searched " + description_ + ")");
  }
  return it->second;
}

std::vector<float> WeightStore::to_f32(const std::string& name,
                                       std::span<const int64_t> expected_shape) const {
  const TensorView& t = get(name);
  if (!std::equal(t.shape.begin(), t.shape.end(), expected_shape.begin(), expected_shape.end())) {
    throw ModelError(t.source + ": tensor '" + name + "' has shape " + shape_string(t.shape) +
                     ", expected " + shape_string(expected_shape) + " from config.json");
  }
  const int64_t n = t.numel();
  std::vector<float> out(static_cast<size_t>(n));
  // safetensors data offsets need not be aligned (found by the fuzzer): load 16-bit values by memcpy.
  auto u16 = [&](int64_t i) {
    uint16_t v;
    std::memcpy(&v, t.data + 2 * i, 2);
    return v;
  };
  switch (t.dtype) {
    case DType::F32:
      if (n > 0) std::memcpy(out.data(), t.data, static_cast<size_t>(n) * 4);  // empty: both may be null
      break;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(u16(i));
      break;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(u16(i));
      break;
  }
  return out;
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, _] : tensors_) out.push_back(name);
  return out;
}

void WeightStore::add(const std::string& name, TensorView view, std::shared_ptr<const void> owner) {
  if (owner) owners_.push_back(std::move(owner));
  tensors_[name] = std::move(view);
}

void WeightStore::add_owned_f32(const std::string& name, std::vector<int64_t> shape,
                                std::vector<float> values, const std::string& source) {
  auto buf = std::make_shared<std::vector<float>>(std::move(values));
  TensorView v;
  v.dtype = DType::F32;
  v.shape = std::move(shape);
  v.data = reinterpret_cast<const std::byte*>(buf->data());
  v.nbytes = buf->size() * sizeof(float);
  v.source = source;
  add(name, std::move(v), std::shared_ptr<const void>(buf, buf.get()));
}

}  // namespace dynamo
