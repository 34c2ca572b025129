// Subcommand registration: each subcommand lives in its own file and adds itself to the CLI here.
#pragma once
#include <CLI/CLI.hpp>

namespace dynamo::app {

void add_generate_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_tokenize_commands(CLI::App& app);  // tokenize and detokenize
void add_render_template_command(CLI::App& app);  // render-template (chat templates)

// Every subcommand accepts --config FILE (TOML): each flag is also a key, the command line wins,
// an unknown key or a bad value stops start-up naming the key and the file.
void add_config_option(CLI::App& sub);

// Registers device backends compiled into this binary (CUDA when built with it).
void register_backends();

}  // namespace dynamo::app
