// Decode fusions against the unfused kernels: attention_decode with RoPE + KV store folded in (reading
// unrotated qkv rows) and/or the split combine folded in must match rope_and_cache followed by the split
// and combine kernels, in output and in cache contents, over head dims 64/128, GQA 1/4/8, partial
// rotary, contexts across block boundaries, batch 1..8 with padding rows, 1..64 splits, repeated launches.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "gpu/kernels/attention_decode.cuh"
#include "gpu/kernels/rope_cache.cuh"
#include "tests/gpu/gpu_test_util.h"

using namespace dynamo;
using namespace dynamo::gpu;
using namespace dynamo::gpu::test;

namespace {

struct FusionCase {
  int D, nq, nkv, rot, batch, pad = 2, block_size = 16, width = 0, blocks = 0;
  std::vector<int32_t> ctx, positions, slots, block_tables;
  std::vector<float> qkv, k, v, inv_freq;

  int seqs() const { return batch + pad; }
  int row() const { return (nq + 2 * nkv) * D; }

  void build(std::mt19937_64& rng, const std::vector<int>& contexts) {
    for (int c : contexts) width = std::max(width, (c + block_size - 1) / block_size);
    blocks = seqs() * width + 3;
    std::vector<int32_t> pool(blocks);
    std::iota(pool.begin(), pool.end(), 0);
    std::shuffle(pool.begin(), pool.end(), rng);
    block_tables.assign(size_t(seqs()) * width, 0);
    for (int s = 0; s < batch; ++s) {
      for (int b = 0; b < width; ++b) block_tables[size_t(s) * width + b] = pool[size_t(s) * width + b];
      const int c = contexts[s];
      ctx.push_back(c);
      positions.push_back(c - 1);
      slots.push_back(block_tables[size_t(s) * width + (c - 1) / block_size] * block_size + (c - 1) % block_size);
    }
    for (int s = batch; s < seqs(); ++s) {  // padding rows, as the executor's graphs send them
      ctx.push_back(0);
      positions.push_back(0);
      slots.push_back(-1);
    }
    k = random_bf16_values(rng, size_t(blocks) * block_size * nkv * D);
    v = random_bf16_values(rng, k.size());
    qkv = random_bf16_values(rng, size_t(seqs()) * row());
    for (int i = 0; i < rot / 2; ++i) inv_freq.push_back(std::pow(10000.f, -2.f * i / rot));
  }
};

struct Outputs {
  std::vector<float> out, k, v;
};

// fuse_rope: the new tokens' cache slots start as 1e30 so that reading them instead of the fresh k/v
// shows. Runs `launches` times on the same counters (the fused combine must leave them zero).
Outputs run(const FusionCase& c, int splits, bool fuse_rope, bool fuse_combine, int launches = 1) {
  const int S = c.seqs();
  std::vector<float> k = c.k, v = c.v;
  if (fuse_rope) {
    for (int s = 0; s < c.batch; ++s) {
      for (int i = 0; i < c.nkv * c.D; ++i) {
        k[size_t(c.slots[s]) * c.nkv * c.D + i] = 1e30f;
        v[size_t(c.slots[s]) * c.nkv * c.D + i] = 1e30f;
      }
    }
  }
  Bf16Buffer dqkv(c.qkv.size()), dk(k.size()), dv(v.size()), dout(size_t(S) * c.nq * c.D);
  dqkv.upload_f(c.qkv);
  dk.upload_f(k);
  dv.upload_f(v);
  dout.poison();
  DeviceBuffer<int32_t> d_bt(c.block_tables.size()), d_ctx(S), d_stride(1), d_pos(S), d_slots(S),
      d_cnt(size_t(S) * c.nkv);
  DeviceBuffer<float> d_freq(c.inv_freq.size()), acc(size_t(S) * c.nq * splits * c.D),
      ml(size_t(S) * c.nq * splits * 2);
  d_bt.upload(c.block_tables);
  d_ctx.upload(c.ctx);
  d_stride.upload({c.width});
  d_pos.upload(c.positions);
  d_slots.upload(c.slots);
  d_freq.upload(c.inv_freq);
  CUDA_CHECK(cudaMemset(d_cnt.get(), 0, d_cnt.size() * 4));
  AttentionDecodeParams p;
  p.q = dqkv.ptr();
  p.q_stride = c.row();
  p.out = dout.ptr();
  p.out_stride = c.nq * c.D;
  p.k_cache = dk.ptr();
  p.v_cache = dv.ptr();
  p.block_tables = d_bt.get();
  p.bt_stride = d_stride.get();
  p.ctx_len = d_ctx.get();
  p.num_seqs = S;
  p.num_heads = c.nq;
  p.num_kv_heads = c.nkv;
  p.head_dim = c.D;
  p.block_size = c.block_size;
  p.num_splits = splits;
  p.unroll = splits % 2 ? 1 : 4;
  p.scale = 1.f / std::sqrt(float(c.D));
  p.part_acc = acc.get();
  p.part_ml = ml.get();
  if (fuse_rope) {
    p.positions = d_pos.get();
    p.slots = d_slots.get();
    p.inv_freq = d_freq.get();
    p.rotary_dim = c.rot;
    p.k_store = dk.ptr();
    p.v_store = dv.ptr();
  } else {
    rope_and_cache(dqkv.ptr(), d_pos.get(), d_slots.get(), d_freq.get(), dk.ptr(), dv.ptr(), S, c.nq, c.nkv, c.D,
                   c.rot, nullptr);
  }
  if (fuse_combine) p.counters = d_cnt.get();
  Outputs first;
  for (int i = 0; i < launches; ++i) {
    attention_decode(p, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    const std::vector<float> out = dout.download_f();
    if (i == 0) first.out = out;
    else CHECK(out == first.out);  // same inputs, same counters: the same bits
  }
  for (int32_t x : d_cnt.download()) REQUIRE(x == 0);
  first.k = dk.download_f();
  first.v = dv.download_f();
  return first;
}

}  // namespace

TEST_CASE("attention_decode: fused RoPE + KV store and fused combine equal the unfused kernels") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const int edges[] = {1, 2, 16, 17, 32, 33, 257, 1024, 2049, 3000};
  for (int D : {64, 128}) {
    for (int group : {1, 4, 8}) {
      for (int batch : {1, 3, 8}) {
        FusionCase c;
        c.D = D;
        c.nkv = batch == 1 ? 8 : 2;
        c.nq = c.nkv * group;
        c.rot = batch == 3 ? D / 2 : D;  // partial rotary on the middle batch
        c.batch = batch;
        std::vector<int> contexts;
        for (int s = 0; s < batch; ++s)  // batch 8 stays under 1.1k tokens to keep the run short
          contexts.push_back(std::min(edges[(s * 3 + D / 64 + group) % 10], batch == 8 ? 1100 : 4096));
        c.build(rng, contexts);
        CAPTURE(D);
        CAPTURE(group);
        CAPTURE(batch);
        for (int splits : {1, 7, decode_splits(c.seqs(), c.nkv, 132), 64}) {
          CAPTURE(splits);
          const Outputs ref = run(c, splits, false, false);
          for (int mode = 1; mode < 4; ++mode) {
            const bool fr = mode & 1, fc = mode & 2;
            CAPTURE(fr);
            CAPTURE(fc);
            const Outputs got = run(c, splits, fr, fc, fc ? 2 : 1);
            CHECK(rel_err(got.out, ref.out) < 1e-3);
            CHECK(rel_err(got.k, ref.k) < 1e-3);
            CHECK(rel_err(got.v, ref.v) < 1e-3);
            const size_t real = size_t(batch) * c.nq * D;
            for (size_t i = real; i < got.out.size(); ++i) REQUIRE(got.out[i] == 0.f);  // padding rows
          }
        }
      }
    }
  }
}

TEST_CASE("attention_decode: fused RoPE rejects a rotary_dim it cannot split into 8-dim halves") {
  AttentionDecodeParams p;
  p.num_seqs = 1;
  p.num_heads = p.num_kv_heads = 1;
  p.head_dim = 128;
  int32_t dummy = 0;
  p.positions = &dummy;
  p.rotary_dim = 40;
  CHECK_THROWS_AS(attention_decode(p, nullptr), std::invalid_argument);
}
