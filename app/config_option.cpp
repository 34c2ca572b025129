// --config FILE for every subcommand: TOML keys are the command's long flags, the command line wins,
// an unknown key or a bad value stops start-up naming the key and the file.
#include <string>

#include "app/commands.h"
#include "core/util/errors.h"

namespace dynamo::app {
namespace {

// CLI11 2.1 reads config files for the main app only (App::_process_config_file), so a subcommand
// applies its own file here. This runs as --config's option callback, which CLI11 calls before the
// callbacks of options declared after it: values added here reach their variables like flags do.
void apply_config_file(CLI::App& sub, const std::string& path) {
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_file(path);
  } catch (const CLI::Error& e) {
    throw ConfigError("--config " + path + ": " + e.what());
  }
  for (const CLI::ConfigItem& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    if (!item.parents.empty() && !(item.parents.size() == 1 && item.parents[0] == sub.get_name()))
      throw ConfigError("--config " + path + ": section [" + item.parents[0] + "] is not '" + sub.get_name() +
                        "' (put keys at the top level or under [" + sub.get_name() + "])");
    CLI::Option* opt = sub.get_option_no_throw("--" + item.name);
    if (opt == nullptr || item.name == "config")
      throw ConfigError("--config " + path + ": unknown key '" + item.name + "' (keys are the long flags of `" +
                        sub.get_name() + "`, see --help)");
    if (opt->count() > 0) continue;  // the command line wins
    try {
      opt->add_result(item.inputs);
    } catch (const CLI::Error& e) {
      throw ConfigError("--config " + path + ": key '" + item.name + "': " + e.what());
    }
  }
}

}  // namespace

void add_config_option(CLI::App& sub) {
  sub.add_option_function<std::string>(
         "--config", [&sub](const std::string& path) { apply_config_file(sub, path); },
         "TOML file whose keys are this command's flags (flags win)")
      ->check(CLI::ExistingFile);
}

}  // namespace dynamo::app
