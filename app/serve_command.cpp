// `dynamo-serve serve`: placeholder until its issue lands; says so and exits non-zero.
#include <cstdio>

#include "app/commands.h"

namespace dynamo::app {

void add_serve_command(CLI::App& app) {
  auto* sub = app.add_subcommand("serve", "(not built yet)");
  add_config_option(*sub);
  sub->callback([] {
    std::fprintf(stderr, "dynamo-serve serve: not implemented in this build yet\n");
    std::exit(2);
  });
}

}  // namespace dynamo::app
