// Reads safetensors files (single or sharded through model.safetensors.index.json) into a WeightStore
// by memory mapping; every header offset and size is checked against the file before use.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/model/weight_store.h"

namespace dynamo {

// Adds every tensor of one .safetensors file to `store`. Throws ModelError naming the file.
void read_safetensors_file(const std::filesystem::path& file, WeightStore& store);

// The same parse over bytes in memory (copied into the store's ownership); `label` names the
// source in error messages. For fuzzers and tests.
void read_safetensors_bytes(std::string_view bytes, const std::string& label, WeightStore& store);

// Loads model.safetensors, or the shards listed by model.safetensors.index.json, from a folder.
std::shared_ptr<WeightStore> load_safetensors_folder(const std::filesystem::path& folder);

}  // namespace dynamo
