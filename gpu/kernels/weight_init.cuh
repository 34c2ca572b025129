// Filling device weights: conversion of f32/f16/bf16 host tensors (staged on the device) to bf16, and
// random or constant values for --load-format dummy, drawn on the device (no host copy of the model).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace dynamo::gpu {

enum class SourceType { F32, F16, BF16 };

void convert_to_bf16(const void* src, SourceType type, __nv_bfloat16* dst, size_t n, cudaStream_t stream);

// dst[i] = N(0, stddev) from a counter-based hash of (seed, i): the same on every device.
void fill_normal_bf16(__nv_bfloat16* dst, size_t n, uint64_t seed, float stddev, cudaStream_t stream);
void fill_constant_bf16(__nv_bfloat16* dst, size_t n, float value, cudaStream_t stream);

}  // namespace dynamo::gpu
