// `dynamo-serve tokenize` / `detokenize`: placeholder until the tokenizer issue lands.
#include <cstdio>

#include "app/commands.h"

namespace dynamo::app {

void add_tokenize_commands(CLI::App& app) {
  for (const char* name : {"tokenize", "detokenize"}) {
    auto* sub = app.add_subcommand(name, "(not built yet)");
    sub->callback([name] {
      std::fprintf(stderr, "dynamo-serve %s: not implemented in this build yet\n", name);
      std::exit(2);
    });
  }
}

}  // namespace dynamo::app
