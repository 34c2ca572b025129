// The engine's command-line flags (also TOML keys through --config), shared by every subcommand that
// starts an engine (serve, generate).
#pragma once
#include <CLI/CLI.hpp>

#include "core/engine/engine_options.h"

namespace dynamo::app {

// Binds the flags to `opts` (defaults are opts' current values). Values are checked by make_engine.
void add_engine_flags(CLI::App& sub, EngineOptions& opts);

}  // namespace dynamo::app
