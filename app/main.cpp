// dynamo-serve entry point: builds the CLI from the subcommand files and runs the chosen one.
#include <cstdio>
#include <algorithm>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/commands.h"
#include "core/util/config_file.h"
#include "core/util/errors.h"

int main(int argc, char** argv) {
  CLI::App app{"dynamo-serve: serve Llama-family LLMs over an OpenAI-compatible API, with "
               "disaggregated prefill and decode pools"};
  app.require_subcommand(1);
  dynamo::app::add_generate_command(app);
  dynamo::app::add_serve_command(app);
  dynamo::app::add_bench_command(app);
  dynamo::app::add_tokenize_commands(app);
  dynamo::app::add_render_template_command(app);
  dynamo::ExpandedArgs expanded;
  try {
    dynamo::app::register_backends();
    expanded = dynamo::expand_config_file(app, std::vector<std::string>(argv + 1, argv + argc));
    std::vector<std::string> args = expanded.args;
    std::reverse(args.begin(), args.end());  // CLI11 takes them last-first
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (expanded.file.empty()) return app.exit(e);
    std::fprintf(stderr, "dynamo-serve: error: %s\n", dynamo::explain_parse_error(expanded, e.what()).c_str());
    return e.get_exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dynamo-serve: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
