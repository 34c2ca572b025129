// GGUF v2/v3 parsing: header, metadata key/values, tensor infos, aligned data section.
#include "core/model/gguf_reader.h"

#include <cstring>

#include "core/util/errors.h"

namespace dynamo {
namespace {

constexpr uint64_t kMaxStringBytes = 1ull << 30;
constexpr uint64_t kMaxEntries = 1ull << 24;  // keys, tensors, array elements
constexpr uint32_t kMaxDims = 4;

struct BlockShape {
  int64_t block;  // elements per block
  int64_t bytes;  // bytes per block
};

std::optional<BlockShape> block_shape(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return BlockShape{1, 4};
    case GgmlType::F16: return BlockShape{1, 2};
    case GgmlType::BF16: return BlockShape{1, 2};
    case GgmlType::Q4_0: return BlockShape{32, 18};
    case GgmlType::Q4_1: return BlockShape{32, 20};
    case GgmlType::Q5_0: return BlockShape{32, 22};
    case GgmlType::Q5_1: return BlockShape{32, 24};
    case GgmlType::Q8_0: return BlockShape{32, 34};
    case GgmlType::Q8_1: return BlockShape{32, 36};
    case GgmlType::Q2_K: return BlockShape{256, 84};
    case GgmlType::Q3_K: return BlockShape{256, 110};
    case GgmlType::Q4_K: return BlockShape{256, 144};
    case GgmlType::Q5_K: return BlockShape{256, 176};
    case GgmlType::Q6_K: return BlockShape{256, 210};
    case GgmlType::Q8_K: return BlockShape{256, 292};
    case GgmlType::I8: return BlockShape{1, 1};
    case GgmlType::I16: return BlockShape{1, 2};
    case GgmlType::I32: return BlockShape{1, 4};
    case GgmlType::I64: return BlockShape{1, 8};
    case GgmlType::F64: return BlockShape{1, 8};
  }
  return std::nullopt;
}

class Cursor {
 public:
  Cursor(const std::byte* data, size_t size, std::string where) : p_(data), end_(data + size), where_(std::move(where)) {}

  template <typename T>
  T read() {
    need(sizeof(T), "a value");
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }

  std::string string() {
    const uint64_t n = read<uint64_t>();
    if (n > kMaxStringBytes) fail("a string of " + std::to_string(n) + " bytes");
    need(n, "a string");
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }

  void need(uint64_t n, const std::string& what) {
    if (n > static_cast<uint64_t>(end_ - p_)) fail(what + " past the end of the file (truncated?)");
  }
  [[noreturn]] void fail(const std::string& what) const { throw ModelError(where_ + ": GGUF: " + what); }
  size_t offset(const std::byte* base) const { return static_cast<size_t>(p_ - base); }

 private:
  const std::byte* p_;
  const std::byte* end_;
  std::string where_;
};

enum : uint32_t { U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 };

void read_scalar(Cursor& c, uint32_t type, GgufValue& v) {
  using K = GgufValue::Kind;
  switch (type) {
    case U8: v.kind = K::UInt; v.u = c.read<uint8_t>(); break;
    case I8: v.kind = K::Int; v.i = c.read<int8_t>(); break;
    case U16: v.kind = K::UInt; v.u = c.read<uint16_t>(); break;
    case I16: v.kind = K::Int; v.i = c.read<int16_t>(); break;
    case U32: v.kind = K::UInt; v.u = c.read<uint32_t>(); break;
    case I32: v.kind = K::Int; v.i = c.read<int32_t>(); break;
    case U64: v.kind = K::UInt; v.u = c.read<uint64_t>(); break;
    case I64: v.kind = K::Int; v.i = c.read<int64_t>(); break;
    case F32: v.kind = K::Float; v.f = c.read<float>(); break;
    case F64: v.kind = K::Float; v.f = c.read<double>(); break;
    case BOOL: v.kind = K::Bool; v.b = c.read<uint8_t>() != 0; break;
    case STRING: v.kind = K::String; v.s = c.string(); break;
    default: c.fail("unknown metadata value type " + std::to_string(type));
  }
}

GgufValue read_value(Cursor& c, uint32_t type) {
  GgufValue v;
  if (type != ARRAY) {
    read_scalar(c, type, v);
    return v;
  }
  v.kind = GgufValue::Kind::Array;
  const uint32_t elem = c.read<uint32_t>();
  const uint64_t n = c.read<uint64_t>();
  if (n > kMaxEntries || elem == ARRAY) c.fail("array of " + std::to_string(n) + " elements of type " + std::to_string(elem));
  for (uint64_t k = 0; k < n; ++k) {
    GgufValue e;
    read_scalar(c, elem, e);
    switch (e.kind) {
      case GgufValue::Kind::Int: v.int_array.push_back(e.i); break;
      case GgufValue::Kind::UInt: v.int_array.push_back(static_cast<int64_t>(e.u)); break;
      case GgufValue::Kind::Bool: v.int_array.push_back(e.b ? 1 : 0); break;
      case GgufValue::Kind::Float: v.float_array.push_back(e.f); break;
      case GgufValue::Kind::String: v.string_array.push_back(std::move(e.s)); break;
      case GgufValue::Kind::Array: break;
    }
  }
  return v;
}

}  // namespace

const char* ggml_type_name(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return "F32";
    case GgmlType::F16: return "F16";
    case GgmlType::Q4_0: return "Q4_0";
    case GgmlType::Q4_1: return "Q4_1";
    case GgmlType::Q5_0: return "Q5_0";
    case GgmlType::Q5_1: return "Q5_1";
    case GgmlType::Q8_0: return "Q8_0";
    case GgmlType::Q8_1: return "Q8_1";
    case GgmlType::Q2_K: return "Q2_K";
    case GgmlType::Q3_K: return "Q3_K";
    case GgmlType::Q4_K: return "Q4_K";
    case GgmlType::Q5_K: return "Q5_K";
    case GgmlType::Q6_K: return "Q6_K";
    case GgmlType::Q8_K: return "Q8_K";
    case GgmlType::I8: return "I8";
    case GgmlType::I16: return "I16";
    case GgmlType::I32: return "I32";
    case GgmlType::I64: return "I64";
    case GgmlType::F64: return "F64";
    case GgmlType::BF16: return "BF16";
  }
  return "unknown";
}

std::shared_ptr<const GgufFile> GgufFile::open(const std::filesystem::path& path) {
  return from_mapping(MappedFile::open(path));
}

std::shared_ptr<const GgufFile> GgufFile::parse(std::string_view bytes, const std::string& label) {
  return from_mapping(MappedFile::from_bytes(bytes, label));
}

std::shared_ptr<const GgufFile> GgufFile::from_mapping(std::shared_ptr<const MappedFile> file) {
  auto g = std::shared_ptr<GgufFile>(new GgufFile());
  g->file_ = std::move(file);
  const std::byte* base = g->file_->data();
  const size_t size = g->file_->size();
  Cursor c(base, size, g->file_->path().string());
  c.need(4, "the magic");
  if (std::memcmp(base, "GGUF", 4) != 0) c.fail("bad magic (not a GGUF file)");
  c.read<uint32_t>();
  g->version_ = c.read<uint32_t>();
  if (g->version_ != 2 && g->version_ != 3) c.fail("unsupported version " + std::to_string(g->version_) + " (2 or 3)");
  const uint64_t n_tensors = c.read<uint64_t>();
  const uint64_t n_kv = c.read<uint64_t>();
  if (n_tensors > kMaxEntries || n_kv > kMaxEntries) c.fail("implausible tensor or key count");
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = c.string();
    const uint32_t type = c.read<uint32_t>();
    g->kv_[key] = read_value(c, type);
  }
  struct Raw {
    GgufTensorInfo info;
    uint64_t offset;
  };
  std::vector<Raw> raws;
  for (uint64_t k = 0; k < n_tensors; ++k) {
    Raw r;
    r.info.name = c.string();
    const uint32_t n_dims = c.read<uint32_t>();
    if (n_dims == 0 || n_dims > kMaxDims) c.fail("tensor '" + r.info.name + "' has " + std::to_string(n_dims) + " dimensions");
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = c.read<uint64_t>();
      if (ne == 0 || ne > (uint64_t(1) << 40) || numel > (uint64_t(1) << 62) / ne) {
        c.fail("tensor '" + r.info.name + "' has a bad dimension " + std::to_string(ne));
      }
      numel *= ne;
      r.info.ne.push_back(static_cast<int64_t>(ne));
    }
    r.info.type = static_cast<GgmlType>(c.read<uint32_t>());
    r.offset = c.read<uint64_t>();
    auto bs = block_shape(r.info.type);
    if (!bs) c.fail("tensor '" + r.info.name + "' has unknown type " + std::to_string(static_cast<uint32_t>(r.info.type)));
    if (r.info.ne[0] % bs->block != 0) c.fail("tensor '" + r.info.name + "' row length is not a multiple of its block size");
    r.info.nbytes = static_cast<size_t>(numel / static_cast<uint64_t>(bs->block) * static_cast<uint64_t>(bs->bytes));
    raws.push_back(std::move(r));
  }
  uint64_t alignment = 32;
  if (auto a = g->get_int("general.alignment")) {
    if (*a <= 0 || (*a & (*a - 1)) != 0) c.fail("general.alignment must be a power of two");
    alignment = static_cast<uint64_t>(*a);
  }
  const uint64_t data_start = (c.offset(base) + alignment - 1) / alignment * alignment;
  for (auto& r : raws) {
    if (data_start > size || r.offset > size - data_start || r.info.nbytes > size - data_start - r.offset) {
      c.fail("tensor '" + r.info.name + "' data lies outside the file (truncated?)");
    }
    r.info.data = base + data_start + r.offset;
    g->tensor_index_[r.info.name] = g->tensors_.size();
    g->tensors_.push_back(std::move(r.info));
  }
  return g;
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

std::optional<int64_t> GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->kind == GgufValue::Kind::Int) return v->i;
  if (v->kind == GgufValue::Kind::UInt) return static_cast<int64_t>(v->u);
  return std::nullopt;
}

std::optional<double> GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->kind == GgufValue::Kind::Float) return v->f;
  if (auto i = get_int(key)) return static_cast<double>(*i);
  return std::nullopt;
}

std::optional<bool> GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v || v->kind != GgufValue::Kind::Bool) return std::nullopt;
  return v->b;
}

std::optional<std::string> GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v || v->kind != GgufValue::Kind::String) return std::nullopt;
  return v->s;
}

const std::vector<std::string>* GgufFile::get_string_array(const std::string& key) const {
  const GgufValue* v = find(key);
  return v && v->kind == GgufValue::Kind::Array ? &v->string_array : nullptr;
}

const std::vector<int64_t>* GgufFile::get_int_array(const std::string& key) const {
  const GgufValue* v = find(key);
  return v && v->kind == GgufValue::Kind::Array ? &v->int_array : nullptr;
}

const std::vector<double>* GgufFile::get_float_array(const std::string& key) const {
  const GgufValue* v = find(key);
  return v && v->kind == GgufValue::Kind::Array ? &v->float_array : nullptr;
}

std::vector<std::string> GgufFile::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, _] : kv_) out.push_back(k);
  return out;
}

const GgufTensorInfo* GgufFile::tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace dynamo
