// Parses device lists given on the command line ("0-3", "4,6", "0,2-3") into sorted GPU indices.
// Pure functions; errors are ConfigError naming the flag and the bad text.
#pragma once
#include <string>
#include <vector>

namespace dynamo {

// flag: the flag's name for messages ("--prefill-gpus"). Empty text gives an empty list.
// Throws ConfigError on bad syntax, a reversed range, a negative or duplicated index.
std::vector<int> parse_device_list(const std::string& text, const std::string& flag);

// Checks that every index is below device_count; throws ConfigError naming the flag otherwise.
void check_devices_exist(const std::vector<int>& devices, int device_count, const std::string& flag);

// Throws ConfigError when a device is in both lists.
void check_disjoint(const std::vector<int>& prefill, const std::vector<int>& decode);

}  // namespace dynamo
