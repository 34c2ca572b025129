// --config FILE for every subcommand: TOML through CLI11's config reader, unknown keys are errors.
#include <filesystem>
#include <string>

#include "app/commands.h"
#include "core/util/errors.h"

namespace dynamo::app {

void add_config_option(CLI::App& sub) {
  sub.set_config("--config", "", "TOML file whose keys are this command's flags (flags win)");
  sub.allow_config_extras(CLI::config_extras_mode::error);
}

}  // namespace dynamo::app
