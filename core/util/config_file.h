// --config FILE for every subcommand: the TOML file's keys become that subcommand's flags before
// CLI11 parses, so flags given on the command line win. CLI11 2.1's own config reader ignores
// subcommands, hence this.
#pragma once
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace dynamo {

struct ExpandedArgs {
  std::vector<std::string> args;
  std::string file;                     // the config file, "" when none
  std::vector<std::string> from_file;  // flags whose values came from the file
};

// args: argv without the program name. Returns args with the config's keys appended as flags for
// the subcommand named in args[0]. Throws ConfigError naming the key and the file for an unknown
// key, a table, or an unreadable file.
ExpandedArgs expand_config_file(const CLI::App& app, const std::vector<std::string>& args);

// Rewords a CLI11 error about a flag that came from the config file so that it names the file.
std::string explain_parse_error(const ExpandedArgs& expanded, const std::string& message);

}  // namespace dynamo
