// Device list parsing and checks for --gpus, --prefill-gpus and --decode-gpus.
#include "core/engine/device_spec.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "core/util/errors.h"

namespace dynamo {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

int parse_index(const std::string& s, const std::string& text, const std::string& flag) {
  const std::string t = trim(s);
  if (t.empty() || t.size() > 6 || !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw ConfigError(flag + " '" + text + "': '" + t +
                      "' is not a device index; write a list of indices and ranges like 0,2-3");
  }
  return std::stoi(t);
}

}  // namespace

std::vector<int> parse_device_list(const std::string& text, const std::string& flag) {
  std::vector<int> out;
  if (trim(text).empty()) return out;
  std::set<int> seen;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(start, comma - start);
    const size_t dash = item.find('-');
    int lo, hi;
    if (dash == std::string::npos) {
      lo = hi = parse_index(item, text, flag);
    } else {
      lo = parse_index(item.substr(0, dash), text, flag);
      hi = parse_index(item.substr(dash + 1), text, flag);
      if (hi < lo) {
        throw ConfigError(flag + " '" + text + "': range '" + trim(item) + "' is reversed; write " +
                          std::to_string(hi) + "-" + std::to_string(lo));
      }
    }
    for (int d = lo; d <= hi; ++d) {
      if (!seen.insert(d).second) {
        throw ConfigError(flag + " '" + text + "': device " + std::to_string(d) + " is listed twice");
      }
      out.push_back(d);
    }
    start = comma + 1;
  }
  std::sort(out.begin(), out.end());
  return out;
}

void check_devices_exist(const std::vector<int>& devices, int device_count, const std::string& flag) {
  for (int d : devices) {
    if (d >= device_count) {
      throw ConfigError(flag + ": GPU " + std::to_string(d) + " does not exist (this machine has " +
                        std::to_string(device_count) + " CUDA device" + (device_count == 1 ? "" : "s") +
                        (device_count > 0 ? ", indices 0-" + std::to_string(device_count - 1) : "") + ")");
    }
  }
}

void check_disjoint(const std::vector<int>& prefill, const std::vector<int>& decode) {
  for (int d : prefill) {
    if (std::find(decode.begin(), decode.end(), d) != decode.end()) {
      throw ConfigError("GPU " + std::to_string(d) +
                        " is in both --prefill-gpus and --decode-gpus; a device belongs to one pool");
    }
  }
}

}  // namespace dynamo
