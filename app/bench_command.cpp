// `dynamo-serve bench`: placeholder until its issue lands; says so and exits non-zero.
#include <cstdio>

#include "app/commands.h"

namespace dynamo::app {

void add_bench_command(CLI::App& app) {
  auto* sub = app.add_subcommand("bench", "(not built yet)");
  add_config_option(*sub);
  sub->callback([] {
    std::fprintf(stderr, "dynamo-serve bench: not implemented in this build yet\n");
    std::exit(2);
  });
}

}  // namespace dynamo::app
