// `dynamo-serve generate`: placeholder until the foundation's CPU executor lands.
#include <cstdio>

#include "app/commands.h"

namespace dynamo::app {

void add_generate_command(CLI::App& app) {
  auto* sub = app.add_subcommand("generate", "(not built yet)");
  add_config_option(*sub);
  sub->callback([] {
    std::fprintf(stderr, "dynamo-serve generate: not implemented in this build yet\n");
    std::exit(2);
  });
}

}  // namespace dynamo::app
