// safetensors: 8-byte little-endian header length, a JSON header of {name: {dtype, shape,
// data_offsets}}, then the raw data. Untrusted input: every size is checked before use.
#include "core/model/safetensors_loader.h"

#include <cstring>
#include <set>

#include <simdjson.h>

#include "core/util/errors.h"
#include "core/util/mapped_file.h"

namespace dynamo {
namespace {

namespace fs = std::filesystem;
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the format's own limit

DType parse_dtype(std::string_view s, const fs::path& file, std::string_view name) {
  if (s == "F32") return DType::F32;
  if (s == "F16") return DType::F16;
  if (s == "BF16") return DType::BF16;
  throw ModelError(file.string() + ": tensor '" + std::string(name) + "' has dtype " + std::string(s) +
                   ", expected BF16, F16 or F32");
}

void read_safetensors_mapping(const std::shared_ptr<const MappedFile>& mapped, WeightStore& store) {
  const fs::path& file = mapped->path();
  const std::string where = file.string();
  if (mapped->size() < 8) throw ModelError(where + ": truncated safetensors file (no header length)");
  uint64_t header_len;
  std::memcpy(&header_len, mapped->data(), 8);
  if (header_len > kMaxHeaderBytes || header_len > mapped->size() - 8) {
    throw ModelError(where + ": header length " + std::to_string(header_len) +
                     " exceeds the file size " + std::to_string(mapped->size()) + " (truncated file?)");
  }
  const auto* header = reinterpret_cast<const char*>(mapped->data() + 8);
  const std::byte* data_start = mapped->data() + 8 + header_len;
  const uint64_t data_len = mapped->size() - 8 - header_len;

  simdjson::dom::parser parser;
  simdjson::dom::object root;
  simdjson::padded_string padded(header, header_len);
  if (parser.parse(padded).get(root)) throw ModelError(where + ": safetensors header is not a JSON object");
  for (auto [key, value] : root) {
    if (key == "__metadata__") continue;
    simdjson::dom::object t;
    std::string_view dtype_s;
    simdjson::dom::array shape_a, offs_a;
    if (value.get_object().get(t) || t["dtype"].get_string().get(dtype_s) ||
        t["shape"].get_array().get(shape_a) || t["data_offsets"].get_array().get(offs_a) || offs_a.size() != 2) {
      throw ModelError(where + ": tensor '" + std::string(key) + "' has a malformed header entry");
    }
    TensorView v;
    v.dtype = parse_dtype(dtype_s, file, key);
    v.source = where;
    uint64_t numel = 1;
    for (auto d : shape_a) {
      int64_t dim;
      if (d.get_int64().get(dim) || dim < 0 || (dim > 0 && numel > (uint64_t(1) << 62) / uint64_t(dim))) {
        throw ModelError(where + ": tensor '" + std::string(key) + "' has a bad shape");
      }
      v.shape.push_back(dim);
      numel *= static_cast<uint64_t>(dim);
    }
    uint64_t begin, end;
    if (offs_a.at(0).get_uint64().get(begin) || offs_a.at(1).get_uint64().get(end) || begin > end ||
        end > data_len) {
      throw ModelError(where + ": tensor '" + std::string(key) + "' data_offsets lie outside the file (" +
                       std::to_string(data_len) + " data bytes; truncated file?)");
    }
    // Compare in elements first: numel * dtype size can wrap around 2^64 (a 2^62-element F32 tensor
    // would otherwise "fit" in 0 bytes; found by the fuzzer).
    if (numel > (end - begin) / dtype_size(v.dtype) || end - begin != numel * dtype_size(v.dtype)) {
      throw ModelError(where + ": tensor '" + std::string(key) + "' holds " + std::to_string(end - begin) +
                       " bytes, expected " + std::to_string(numel) + " x " + std::to_string(dtype_size(v.dtype)) +
                       " for shape " + shape_string(v.shape));
    }
    v.data = data_start + begin;
    v.nbytes = end - begin;
    store.add(std::string(key), std::move(v), mapped);
  }
}

}  // namespace

void read_safetensors_file(const fs::path& file, WeightStore& store) {
  read_safetensors_mapping(MappedFile::open(file), store);
}

void read_safetensors_bytes(std::string_view bytes, const std::string& label, WeightStore& store) {
  read_safetensors_mapping(MappedFile::from_bytes(bytes, label), store);
}

std::shared_ptr<WeightStore> load_safetensors_folder(const fs::path& folder) {
  auto store = std::make_shared<WeightStore>();
  const fs::path single = folder / "model.safetensors";
  const fs::path index = folder / "model.safetensors.index.json";
  if (fs::exists(index)) {
    simdjson::dom::parser parser;
    simdjson::dom::object map;
    simdjson::dom::element doc;
    if (parser.load(index.string()).get(doc) || doc["weight_map"].get_object().get(map)) {
      throw ModelError(index.string() + ": expected a JSON object with a 'weight_map' object");
    }
    std::set<std::string> shards;
    for (auto [name, file] : map) {
      std::string_view f;
      if (file.get_string().get(f) || f.find('/') != std::string_view::npos || f.find("..") != std::string_view::npos) {
        throw ModelError(index.string() + ": tensor '" + std::string(name) + "' maps to a bad shard file name");
      }
      shards.insert(std::string(f));
    }
    std::string desc;
    for (const auto& s : shards) {
      if (!fs::exists(folder / s)) throw ModelError((folder / s).string() + ": shard listed in " + index.string() + " is missing");
      read_safetensors_file(folder / s, *store);
      desc += (desc.empty() ? "" : ", ") + (folder / s).string();
    }
    store->set_description(desc);
  } else if (fs::exists(single)) {
    read_safetensors_file(single, *store);
    store->set_description(single.string());
  } else {
    throw ModelError(folder.string() + ": no model.safetensors or model.safetensors.index.json "
                     "(use --load-format dummy to run without weights)");
  }
  return store;
}

}  // namespace dynamo
