// TOML config files -> command-line flags (toml++ from Debian).
#include "core/util/config_file.h"

#include <algorithm>
#include <charconv>

#include <toml++/toml.h>

#include "core/util/errors.h"

namespace dynamo {
namespace {

std::string scalar_text(const toml::node& node, const std::string& where) {
  if (auto s = node.as_string()) return s->get();
  if (auto i = node.as_integer()) return std::to_string(i->get());
  if (auto b = node.as_boolean()) return b->get() ? "true" : "false";
  if (auto f = node.as_floating_point()) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, f->get());
    return std::string(buf, r.ptr);
  }
  throw ConfigError(where + ": expected a string, number, boolean or a list of those");
}

bool given_on_command_line(const std::vector<std::string>& args, const std::string& flag) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
    return a == flag || a.rfind(flag + "=", 0) == 0;
  });
}

}  // namespace

ExpandedArgs expand_config_file(const CLI::App& app, const std::vector<std::string>& args) {
  ExpandedArgs result{args, "", {}};
  auto it = std::find_if(args.begin(), args.end(), [](const std::string& a) {
    return a == "--config" || a.rfind("--config=", 0) == 0;
  });
  if (args.empty() || it == args.end()) return result;
  std::string file = it->size() > 9 ? it->substr(9) : (it + 1 != args.end() ? *(it + 1) : "");
  if (file.empty()) throw ConfigError("--config needs a file name");
  const CLI::App* sub = nullptr;
  for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (s->check_name(args[0])) sub = s;
  }
  if (sub == nullptr) return result;  // CLI11 reports the unknown subcommand
  result.file = file;

  toml::table table;
  try {
    table = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    throw ConfigError(file + ": " + std::string(e.description()) + " (line " +
                      std::to_string(e.source().begin.line) + ")");
  }
  for (const auto& [key_view, node] : table) {
    std::string key(key_view.str());
    std::replace(key.begin(), key.end(), '_', '-');
    const std::string flag = "--" + key;
    const std::string where = file + ": key '" + std::string(key_view.str()) + "'";
    if (key == "config") throw ConfigError(where + ": a config file cannot name another");
    const CLI::Option* opt = sub->get_option_no_throw(flag);
    if (opt == nullptr) {
      throw ConfigError(where + " is not a flag of '" + args[0] + "' (see dynamo-serve " + args[0] + " --help)");
    }
    if (given_on_command_line(args, flag)) continue;  // the command line wins
    std::string value;
    if (const toml::array* arr = node.as_array()) {
      for (const auto& el : *arr) value += (value.empty() ? "" : ",") + scalar_text(el, where);
    } else if (node.is_table()) {
      throw ConfigError(where + ": tables are not supported; write flags as top-level keys");
    } else {
      value = scalar_text(node, where);
    }
    result.args.push_back(flag + "=" + value);
    result.from_file.push_back(flag);
  }
  return result;
}

std::string explain_parse_error(const ExpandedArgs& expanded, const std::string& message) {
  for (const std::string& flag : expanded.from_file) {
    if (message.find(flag) != std::string::npos) {
      return expanded.file + ": key '" + flag.substr(2) + "': " + message;
    }
  }
  return message;
}

}  // namespace dynamo
