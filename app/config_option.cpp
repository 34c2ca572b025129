// The --config FILE option every subcommand carries; the file itself is read by config_file.cpp.
#include "app/commands.h"

namespace dynamo::app {

void add_config_option(CLI::App& sub) {
  sub.add_option("--config", "TOML file whose keys are this command's flags (command-line flags win)")
      ->check(CLI::ExistingFile);
}

}  // namespace dynamo::app
