// Helpers for the GPU tests: a device buffer, fresh random bf16 data, bf16 rounding on the host,
// and the relative error ||a - b|| / ||b|| the kernel checks are judged by.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/model/dtype.h"
#include "gpu/cuda_check.h"

namespace dynamo::gpu::test {

using bf16 = __nv_bfloat16;

inline float rb(float x) { return bf16_to_f32(f32_to_bf16(x)); }  // round through bf16

inline std::vector<uint16_t> to_bits(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = f32_to_bf16(v[i]);
  return out;
}

inline std::vector<float> from_bits(const std::vector<uint16_t>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = bf16_to_f32(v[i]);
  return out;
}

// Fresh data every run: the seed comes from std::random_device and is printed on failure by the tests.
// A new seed per run (tests log it); DYNAMO_TEST_SEED=N gives N instead, to repeat a failed run.
inline uint64_t fresh_seed() {
  if (const char* e = std::getenv("DYNAMO_TEST_SEED"); e != nullptr && *e != '\0') return std::strtoull(e, nullptr, 10);
  return (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}();
}

inline std::vector<float> random_bf16_values(std::mt19937_64& rng, size_t n, float scale = 1.f) {
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = rb(dist(rng));
  return v;
}

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) { CUDA_CHECK(cudaMalloc(&p_, std::max<size_t>(n, 1) * sizeof(T))); }
  ~DeviceBuffer() { cudaFree(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& v) {
    if (v.size() > n_) throw std::runtime_error("upload too large");
    CUDA_CHECK(cudaMemcpy(p_, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> v(n_);
    CUDA_CHECK(cudaMemcpy(v.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return v;
  }
  void poison() { CUDA_CHECK(cudaMemset(p_, 0xff, n_ * sizeof(T))); }  // bf16 0xffff is NaN

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

// bf16 values on the device (stored as raw bits on the host side).
class Bf16Buffer : public DeviceBuffer<uint16_t> {
 public:
  using DeviceBuffer<uint16_t>::DeviceBuffer;
  bf16* ptr() const { return reinterpret_cast<bf16*>(get()); }
  void upload_f(const std::vector<float>& v) { upload(to_bits(v)); }
  std::vector<float> download_f() const { return from_bits(download()); }
};

inline double rel_err(const std::vector<float>& out, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(out[i])) return INFINITY;
    num += (out[i] - ref[i]) * (out[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

inline double rel_err(const std::vector<float>& out, const std::vector<float>& ref) {
  return rel_err(out, std::vector<double>(ref.begin(), ref.end()));
}

}  // namespace dynamo::gpu::test
