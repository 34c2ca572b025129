// A std::unordered_map keyed by std::string that can be searched with a std::string_view
// (xxHash-hashed, transparent lookup), used for vocabularies and caches.
#pragma once
#include <xxhash.h>

#include <string>
#include <string_view>
#include <unordered_map>

namespace dynamo {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return XXH3_64bits(s.data(), s.size()); }
};

template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

}  // namespace dynamo
