// dynamo-serve entry point: builds the CLI from the subcommand files and runs the chosen one.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "app/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"dynamo-serve: serve Llama-family LLMs over an OpenAI-compatible API, with "
               "disaggregated prefill and decode pools"};
  app.require_subcommand(1);
  dynamo::app::add_generate_command(app);
  dynamo::app::add_serve_command(app);
  dynamo::app::add_bench_command(app);
  dynamo::app::add_tokenize_commands(app);
  dynamo::app::add_render_template_command(app);
  try {
    dynamo::app::register_backends();
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dynamo-serve: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
