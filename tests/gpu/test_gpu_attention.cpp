// Paged attention kernels against a float64 CPU reference: prefill, both kernels (any mix of cached
// prefix and new rows, causal, GQA 1/4/8, head dims 64/128, contexts crossing blocks and 64-row tiles,
// chunked prefill) and decode (split-K, GQA up to 16, batch 1..256, padding rows). Random shuffled block tables,
// fresh data each run.
// Tolerance: ||gpu - ref|| / ||ref|| < 1e-2 (bf16 inputs, P rounded to bf16 before PV).
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <utility>

#include "gpu/kernels/attention_decode.cuh"
#include "gpu/kernels/attention_prefill.cuh"
#include "gpu/kernels/attention_prefill_mma.cuh"
#include "tests/gpu/gpu_test_util.h"

using namespace dynamo;
using namespace dynamo::gpu;
using namespace dynamo::gpu::test;

namespace {

struct SeqShape {
  int num_cached, q_len;
};

// K/V cache with every position of every sequence filled; block tables drawn from a shuffled pool.
struct PagedCase {
  int D, nq, nkv, block_size = 16, width = 0, blocks = 0;
  std::vector<SeqShape> seqs;
  std::vector<int32_t> block_tables;
  std::vector<float> k, v;  // cache contents
  std::vector<float> q;     // [tokens][nq * D]
  std::vector<int32_t> q_start;
  int tokens = 0;

  void build(std::mt19937_64& rng) {
    for (auto& s : seqs) width = std::max(width, (s.num_cached + s.q_len + block_size - 1) / block_size);
    blocks = int(seqs.size()) * width + 3;
    std::vector<int32_t> pool(blocks);
    std::iota(pool.begin(), pool.end(), 0);
    std::shuffle(pool.begin(), pool.end(), rng);
    block_tables.assign(seqs.size() * width, 0);
    for (size_t s = 0; s < seqs.size(); ++s)
      for (int b = 0; b < width; ++b) block_tables[s * width + b] = pool[s * width + b];
    k = random_bf16_values(rng, size_t(blocks) * block_size * nkv * D);
    v = random_bf16_values(rng, k.size());
    for (auto& s : seqs) {
      q_start.push_back(tokens);
      tokens += s.q_len;
    }
    q = random_bf16_values(rng, size_t(tokens) * nq * D);
  }

  float kv_at(const std::vector<float>& cache, int s, int pos, int h, int d) const {
    const int blk = block_tables[size_t(s) * width + pos / block_size];
    return cache[((size_t(blk) * block_size + pos % block_size) * nkv + h) * D + d];
  }

  std::vector<double> reference() const {
    std::vector<double> out(q.size());
    const double scale = 1.0 / std::sqrt(double(D));
    for (size_t s = 0; s < seqs.size(); ++s) {
      for (int i = 0; i < seqs[s].q_len; ++i) {
        const int qpos = seqs[s].num_cached + i;
        for (int h = 0; h < nq; ++h) {
          const int kvh = h / (nq / nkv);
          const float* qv = &q[(size_t(q_start[s] + i) * nq + h) * D];
          std::vector<double> p(qpos + 1);
          double mx = -1e300;
          for (int j = 0; j <= qpos; ++j) {
            double d = 0;
            for (int x = 0; x < D; ++x) d += double(qv[x]) * kv_at(k, int(s), j, kvh, x);
            p[j] = d * scale;
            mx = std::max(mx, p[j]);
          }
          double sum = 0;
          for (auto& x : p) sum += (x = std::exp(x - mx));
          for (int x = 0; x < D; ++x) {
            double o = 0;
            for (int j = 0; j <= qpos; ++j) o += p[j] * kv_at(v, int(s), j, kvh, x);
            out[(size_t(q_start[s] + i) * nq + h) * D + x] = o / sum;
          }
        }
      }
    }
    return out;
  }
};

using PrefillFn = void (*)(const AttentionPrefillParams&, cudaStream_t);

template <PrefillMmaVariant V>
void mma_variant(const AttentionPrefillParams& p, cudaStream_t stream) {
  attention_prefill_mma(p, V, stream);
}

struct PrefillKernel {
  const char* name;
  PrefillFn fn;
};
const PrefillKernel kPrefillKernels[] = {
    {"mma 16 rows x 1 head", mma_variant<PrefillMmaVariant::Rows16Heads1>},
    {"mma 16 rows x 2 heads", mma_variant<PrefillMmaVariant::Rows16Heads2>},
    {"mma 32 rows x 2 heads", mma_variant<PrefillMmaVariant::Rows32Heads2>},
    {"wmma", attention_prefill_wmma}};

std::vector<float> run_prefill(const PagedCase& c, PrefillFn fn = attention_prefill) {
  Bf16Buffer dq(c.q.size()), dk(c.k.size()), dv(c.v.size()), dout(c.q.size());
  dq.upload_f(c.q);
  dk.upload_f(c.k);
  dv.upload_f(c.v);
  dout.poison();
  std::vector<int32_t> q_start, q_len, num_cached, work;
  for (size_t s = 0; s < c.seqs.size(); ++s) {
    q_start.push_back(c.q_start[s]);
    q_len.push_back(c.seqs[s].q_len);
    num_cached.push_back(c.seqs[s].num_cached);
    for (int t = 0; t < c.seqs[s].q_len; t += kPrefillTileRows) {
      work.push_back(int32_t(s));
      work.push_back(t);
    }
  }
  DeviceBuffer<int32_t> d_bt(c.block_tables.size()), d_qs(q_start.size()), d_ql(q_len.size()),
      d_nc(num_cached.size()), d_work(work.size());
  d_bt.upload(c.block_tables);
  d_qs.upload(q_start);
  d_ql.upload(q_len);
  d_nc.upload(num_cached);
  d_work.upload(work);
  AttentionPrefillParams p;
  p.q = dq.ptr();
  p.q_stride = c.nq * c.D;
  p.out = dout.ptr();
  p.out_stride = c.nq * c.D;
  p.k_cache = dk.ptr();
  p.v_cache = dv.ptr();
  p.block_tables = d_bt.get();
  p.bt_stride = c.width;
  p.q_start = d_qs.get();
  p.q_len = d_ql.get();
  p.num_cached = d_nc.get();
  p.work = d_work.get();
  p.num_work = int(work.size() / 2);
  p.num_heads = c.nq;
  p.num_kv_heads = c.nkv;
  p.head_dim = c.D;
  p.block_size = c.block_size;
  p.scale = 1.f / std::sqrt(float(c.D));
  fn(p, nullptr);
  CUDA_CHECK(cudaDeviceSynchronize());
  return dout.download_f();
}

// Every prefill kernel's output against `ref`, bf16 tolerance.
void check_prefill_kernels(const PagedCase& c, const std::vector<double>& ref) {
  for (const auto& k : kPrefillKernels) {
    CAPTURE(k.name);
    CHECK(rel_err(run_prefill(c, k.fn), ref) < 1e-2);
  }
}

// The same cache and block tables as `full` (one sequence), but only query rows [first, first + len):
// the step a chunked prefill makes once `first` tokens are in the cache.
PagedCase chunk_of(const PagedCase& full, int first, int len) {
  PagedCase c = full;
  c.seqs = {{first, len}};
  c.q_start = {0};
  c.tokens = len;
  const size_t row = size_t(full.nq) * full.D;
  c.q.assign(full.q.begin() + first * row, full.q.begin() + (first + len) * row);
  return c;
}

std::vector<float> run_decode(const PagedCase& c, int num_splits, int padding_rows, bool prefetch = true) {
  const int S = int(c.seqs.size()) + padding_rows;
  Bf16Buffer dq(size_t(S) * c.nq * c.D), dk(c.k.size()), dv(c.v.size()), dout(size_t(S) * c.nq * c.D);
  std::vector<float> q = c.q;
  q.resize(size_t(S) * c.nq * c.D, 1.f);
  dq.upload_f(q);
  dk.upload_f(c.k);
  dv.upload_f(c.v);
  dout.poison();
  std::vector<int32_t> ctx, bt = c.block_tables;
  for (auto& s : c.seqs) ctx.push_back(s.num_cached + 1);
  ctx.resize(S, 0);
  bt.resize(size_t(S) * c.width, 0);
  DeviceBuffer<int32_t> d_bt(bt.size()), d_ctx(S), d_stride(1);
  DeviceBuffer<float> acc(size_t(S) * c.nq * num_splits * c.D), ml(size_t(S) * c.nq * num_splits * 2);
  d_bt.upload(bt);
  d_ctx.upload(ctx);
  d_stride.upload({c.width});
  AttentionDecodeParams p;
  p.q = dq.ptr();
  p.q_stride = c.nq * c.D;
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
  p.num_splits = num_splits;
  p.mode = prefetch ? DecodeAttentionMode::kPrefetch : DecodeAttentionMode::kPlain;
  p.scale = 1.f / std::sqrt(float(c.D));
  p.part_acc = acc.get();
  p.part_ml = ml.get();
  attention_decode(p, nullptr);
  CUDA_CHECK(cudaDeviceSynchronize());
  return dout.download_f();
}

}  // namespace

TEST_CASE("attention_prefill: causal paged attention with cached prefixes, GQA 1/4/8, head dims 64/128") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int D : {64, 128}) {
    for (int group : {1, 4, 8}) {
      for (int block_size : {16, 32}) {
        CAPTURE(D);
        CAPTURE(group);
        CAPTURE(block_size);
        PagedCase c;
        c.D = D;
        c.nkv = 2;
        c.nq = 2 * group;
        c.block_size = block_size;
        // q_len 1, 17, 65, 130 (partial tiles), prefixes crossing blocks and 64-key tiles.
        c.seqs = {{0, 1}, {0, 17}, {0, 130}, {35, 30}, {100, 1}, {16, 64}, {47, 65}, {200, 3}};
        c.build(rng);
        check_prefill_kernels(c, c.reference());
      }
    }
  }
}

TEST_CASE("attention_prefill: prefixes at tile edges, Llama-3.1-8B head layout") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  PagedCase c;
  c.D = 128;
  c.nkv = 8;
  c.nq = 32;
  // Prefix lengths one short of, at and one past a 64-key tile; q_len below, at and past 64.
  c.seqs = {{63, 1}, {64, 64}, {65, 63}, {127, 66}, {128, 2}, {0, 129}, {1, 64}};
  c.build(rng);
  check_prefill_kernels(c, c.reference());
}

TEST_CASE("attention_prefill: chunked prefill gives the rows of one full pass") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int D : {64, 128}) {
    CAPTURE(D);
    PagedCase full;
    full.D = D;
    full.nkv = 2;
    full.nq = 8;
    full.seqs = {{0, 300}};
    full.build(rng);
    const auto ref = full.reference();
    const size_t row = size_t(full.nq) * D;
    std::vector<float> out;
    for (auto [first, len] : {std::pair{0, 100}, std::pair{100, 64}, std::pair{164, 1}, std::pair{165, 135}}) {
      const auto part = run_prefill(chunk_of(full, first, len));
      REQUIRE(part.size() == size_t(len) * row);
      out.insert(out.end(), part.begin(), part.end());
    }
    CHECK(rel_err(out, ref) < 1e-2);
    // The whole prompt in one pass, through the default dispatcher, agrees with the chunks.
    CHECK(rel_err(run_prefill(full), std::vector<double>(out.begin(), out.end())) < 1e-2);
  }
}

TEST_CASE("attention_prefill: all kernels agree on a long prompt") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  PagedCase c;
  c.D = 128;
  c.nkv = 8;
  c.nq = 32;
  c.seqs = {{0, 1000}, {500, 37}};
  c.build(rng);
  const auto b = run_prefill(c, attention_prefill_wmma);
  check_prefill_kernels(c, std::vector<double>(b.begin(), b.end()));
}

TEST_CASE("attention_decode: split-K over the context, GQA 1/4/8/16, batch 1..256, contexts across block boundaries") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const int edges[] = {0, 1, 15, 16, 31, 255, 256, 1000, 2047, 3000};
  for (int D : {64, 128}) {
    for (int group : {1, 4, 8, 16}) {
      for (int batch : {1, 3, 64, 256}) {
        // Keep the reference's run time modest.
        if ((batch == 256 && D == 64) || (group == 16 && batch >= 64)) continue;
        CAPTURE(D);
        CAPTURE(group);
        CAPTURE(batch);
        PagedCase c;
        c.D = D;
        c.nkv = batch >= 64 ? 1 : 2;
        c.nq = c.nkv * group;
        for (int s = 0; s < batch; ++s) {
          const int cached = batch >= 64 ? int(rng() % 300) : (s < 10 ? edges[s] : int(rng() % 3000));
          c.seqs.push_back({cached, 1});
        }
        c.build(rng);
        const auto ref = c.reference();
        const int autos = decode_splits(batch, c.nkv, 132);
        for (const int splits : {1, 7, autos}) {
          for (const bool prefetch : {false, true}) {  // K/V copied after / before the wait
            CAPTURE(splits);
            CAPTURE(prefetch);
            const auto out = run_decode(c, splits, 2, prefetch);
            std::vector<float> real(out.begin(), out.begin() + ref.size());
            CHECK(rel_err(real, ref) < 1e-2);
            for (size_t i = ref.size(); i < out.size(); ++i) REQUIRE(out[i] == 0.f);  // padding rows
          }
        }
      }
    }
  }
}

TEST_CASE("prefill and decode kernels agree on a single new token") {
  const uint64_t seed = fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  PagedCase c;
  c.D = 128;
  c.nkv = 8;
  c.nq = 32;
  c.seqs = {{1023, 1}, {4095, 1}};
  c.build(rng);
  const auto a = run_prefill(c);
  const auto b = run_decode(c, decode_splits(2, 8, 132), 0);
  CHECK(rel_err(a, std::vector<double>(b.begin(), b.end())) < 1e-2);
}
