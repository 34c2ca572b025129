// Block formats follow ggml: each block of 32 values carries an f16 scale d (and min m for Q4_1);
// Q4 packs value j in the low nibble of byte j and value j+16 in its high nibble.
#include "core/model/gguf_dequant.h"

#include <cstring>

#include "core/model/dtype.h"
#include "core/util/errors.h"

namespace dynamo {
namespace {

uint16_t load_u16(const std::byte* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void dequant_q8_0(const std::byte* src, int64_t n, float* out) {
  for (int64_t b = 0; b < n / 32; ++b, src += 34) {
    const float d = f16_to_f32(load_u16(src));
    const auto* q = reinterpret_cast<const int8_t*>(src + 2);
    for (int j = 0; j < 32; ++j) out[b * 32 + j] = d * static_cast<float>(q[j]);
  }
}

void dequant_q4_0(const std::byte* src, int64_t n, float* out) {
  for (int64_t b = 0; b < n / 32; ++b, src += 18) {
    const float d = f16_to_f32(load_u16(src));
    const auto* q = reinterpret_cast<const uint8_t*>(src + 2);
    for (int j = 0; j < 16; ++j) {
      out[b * 32 + j] = d * static_cast<float>((q[j] & 0x0f) - 8);
      out[b * 32 + j + 16] = d * static_cast<float>((q[j] >> 4) - 8);
    }
  }
}

void dequant_q4_1(const std::byte* src, int64_t n, float* out) {
  for (int64_t b = 0; b < n / 32; ++b, src += 20) {
    const float d = f16_to_f32(load_u16(src));
    const float m = f16_to_f32(load_u16(src + 2));
    const auto* q = reinterpret_cast<const uint8_t*>(src + 4);
    for (int j = 0; j < 16; ++j) {
      out[b * 32 + j] = d * static_cast<float>(q[j] & 0x0f) + m;
      out[b * 32 + j + 16] = d * static_cast<float>(q[j] >> 4) + m;
    }
  }
}

}  // namespace

bool can_dequantize(GgmlType t) {
  return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16 || t == GgmlType::Q8_0 ||
         t == GgmlType::Q4_0 || t == GgmlType::Q4_1;
}

std::vector<float> dequantize(const GgufTensorInfo& t, const std::string& file) {
  const int64_t n = t.numel();
  std::vector<float> out(static_cast<size_t>(n));
  switch (t.type) {
    case GgmlType::F32: std::memcpy(out.data(), t.data, static_cast<size_t>(n) * 4); break;
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(load_u16(t.data + 2 * i));
      break;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(load_u16(t.data + 2 * i));
      break;
    case GgmlType::Q8_0: dequant_q8_0(t.data, n, out.data()); break;
    case GgmlType::Q4_0: dequant_q4_0(t.data, n, out.data()); break;
    case GgmlType::Q4_1: dequant_q4_1(t.data, n, out.data()); break;
    default:
      throw ModelError(file + ": tensor '" + t.name + "' has type " + ggml_type_name(t.type) +
                       ", expected one of F32, F16, BF16, Q8_0, Q4_0, Q4_1");
  }
  return out;
}

}  // namespace dynamo
