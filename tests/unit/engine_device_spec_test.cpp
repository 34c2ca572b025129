// Device-list parsing and worker planning: pools, ranges, and the start-up errors for bad specs.
#include <doctest/doctest.h>

#include "core/engine/device_spec.h"
#include "core/engine/engine_options.h"
#include "core/util/errors.h"

using namespace dynamo;

TEST_CASE("engine device lists: indices, ranges and mixes") {
  CHECK(parse_device_list("0-3", "--gpus") == std::vector<int>{0, 1, 2, 3});
  CHECK(parse_device_list("4", "--gpus") == std::vector<int>{4});
  CHECK(parse_device_list("0,2-3", "--gpus") == std::vector<int>{0, 2, 3});
  CHECK(parse_device_list(" 6 , 4 ", "--gpus") == std::vector<int>{4, 6});
  CHECK(parse_device_list("", "--gpus").empty());
  for (const char* bad : {"a", "3-1", "0,0", "0-2,1", "-1", "1-", "1,,2", "0x1", "1.5"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_device_list(bad, "--prefill-gpus"), ConfigError);
  }
  try {
    parse_device_list("3-1", "--prefill-gpus");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("--prefill-gpus") != std::string::npos);
  }
}

TEST_CASE("engine worker plan: GPU pools") {
  EngineOptions o;
  o.device = "cuda";
  o.prefill_gpus = "0-3";
  o.decode_gpus = "4-7";
  auto w = plan_workers(o, 8, true);
  REQUIRE(w.size() == 8);
  CHECK(w[0].role == WorkerRole::Prefill);
  CHECK(w[0].device == "cuda:0");
  CHECK(w[4].role == WorkerRole::Decode);
  CHECK(w[7].device == "cuda:7");
  CHECK(w[7].name == "decode-3");

  o.decode_gpus = "3-4";  // GPU 3 in both pools
  CHECK_THROWS_AS(plan_workers(o, 8, true), ConfigError);
  o.decode_gpus = "4-8";  // GPU 8 does not exist
  CHECK_THROWS_WITH_AS(plan_workers(o, 8, true), doctest::Contains("GPU 8 does not exist"), ConfigError);
  o.decode_gpus = "";  // empty decode pool
  CHECK_THROWS_WITH_AS(plan_workers(o, 8, true), doctest::Contains("decode"), ConfigError);

  EngineOptions a;
  a.device = "cuda";
  a.gpus = "0-1";
  w = plan_workers(a, 2, true);
  REQUIRE(w.size() == 2);
  CHECK(w[1].role == WorkerRole::Aggregated);
  CHECK(w[1].device == "cuda:1");
  a.prefill_gpus = "0";
  CHECK_THROWS_AS(plan_workers(a, 2, true), ConfigError);  // --gpus with a split

  EngineOptions none;
  none.device = "cuda";
  CHECK_THROWS_AS(plan_workers(none, 0, true), ConfigError);   // no device visible
  CHECK_THROWS_AS(plan_workers(none, 2, false), ConfigError);  // no CUDA backend
  none.device = "auto";
  CHECK(plan_workers(none, 0, false).at(0).device == "cpu");
  CHECK(plan_workers(none, 2, true).at(0).device == "cuda:0");
}

TEST_CASE("engine worker plan: CPU and null workers") {
  EngineOptions o;
  o.device = "cpu";
  auto w = plan_workers(o, 0, false);
  REQUIRE(w.size() == 1);
  CHECK(w[0].role == WorkerRole::Aggregated);
  o.workers = 3;
  CHECK(plan_workers(o, 0, false).size() == 3);
  o.workers = 1;
  o.prefill_workers = 2;
  o.decode_workers = 1;
  w = plan_workers(o, 0, false);
  REQUIRE(w.size() == 3);
  CHECK(w[0].role == WorkerRole::Prefill);
  CHECK(w[2].role == WorkerRole::Decode);
  CHECK(w[2].device == "cpu");
  o.decode_workers = 0;
  CHECK_THROWS_WITH_AS(plan_workers(o, 0, false), doctest::Contains("decode pool is empty"), ConfigError);
  o.decode_workers = 1;
  o.gpus = "0";
  CHECK_THROWS_AS(plan_workers(o, 0, false), ConfigError);  // GPU flags on the CPU
  o.gpus = "";
  o.device = "tpu";
  CHECK_THROWS_AS(plan_workers(o, 0, false), ConfigError);
  o.device = "null";
  o.router_mode = "fastest";
  CHECK_THROWS_WITH_AS(plan_workers(o, 0, false), doctest::Contains("--router-mode"), ConfigError);
  o.router_mode = "kv";
  o.max_num_seqs = 0;
  CHECK_THROWS_WITH_AS(plan_workers(o, 0, false), doctest::Contains("--max-num-seqs"), ConfigError);
}

TEST_CASE("engine worker plan: tensor-parallel pools are cut into consecutive GPU groups") {
  EngineOptions o;
  o.device = "cuda";
  o.prefill_gpus = "0-3";
  o.prefill_tp = 2;
  o.decode_gpus = "4-7";
  o.decode_tp = 4;
  auto w = plan_workers(o, 8, true);
  REQUIRE(w.size() == 3);
  CHECK((w[0].device == "cuda:0,1" && w[0].role == WorkerRole::Prefill && w[0].name == "prefill-0"));
  CHECK(w[1].device == "cuda:2,3");
  CHECK((w[2].device == "cuda:4,5,6,7" && w[2].role == WorkerRole::Decode && w[2].name == "decode-0"));
  o.decode_tp = 1;
  w = plan_workers(o, 8, true);
  CHECK(w.size() == 6);
  CHECK(w[5].device == "cuda:7");

  EngineOptions a;
  a.device = "cuda";
  a.gpus = "0,2,5,7";
  a.tp = 2;
  w = plan_workers(a, 8, true);
  REQUIRE(w.size() == 2);
  CHECK((w[0].device == "cuda:0,2" && w[1].device == "cuda:5,7" && w[1].role == WorkerRole::Aggregated));
}

TEST_CASE("engine worker plan: tensor-parallel start-up errors name the flag") {
  EngineOptions o;
  o.device = "cuda";
  o.prefill_gpus = "0-2";
  o.prefill_tp = 2;
  o.decode_gpus = "3";
  CHECK_THROWS_WITH_AS(plan_workers(o, 8, true),
                       doctest::Contains("--prefill-gpus lists 3 GPU(s), not a multiple of --prefill-tp 2"), ConfigError);
  o.prefill_gpus = "0-1";
  o.decode_gpus = "2-4";
  o.decode_tp = 2;
  CHECK_THROWS_WITH_AS(plan_workers(o, 8, true), doctest::Contains("--decode-tp"), ConfigError);
  o.decode_gpus = "2-3";
  o.tp = 2;  // --tp is for --gpus
  CHECK_THROWS_WITH_AS(plan_workers(o, 8, true), doctest::Contains("--prefill-tp/--decode-tp"), ConfigError);

  EngineOptions a;
  a.device = "cuda";
  a.gpus = "0-2";
  a.tp = 2;
  CHECK_THROWS_WITH_AS(plan_workers(a, 8, true), doctest::Contains("not a multiple of --tp 2"), ConfigError);
  a.gpus = "0-3";
  a.decode_tp = 2;  // pool TP flags with --gpus
  CHECK_THROWS_WITH_AS(plan_workers(a, 8, true), doctest::Contains("with --gpus use --tp"), ConfigError);
  a.decode_tp = 1;
  a.tp = 0;
  CHECK_THROWS_WITH_AS(plan_workers(a, 8, true), doctest::Contains("--tp must be in 1..64"), ConfigError);

  EngineOptions cpu;
  cpu.device = "cpu";
  cpu.tp = 2;
  CHECK_THROWS_WITH_AS(plan_workers(cpu, 0, false), doctest::Contains("need --device cuda"), ConfigError);
  cpu.tp = 1;
  cpu.decode_tp = 2;
  CHECK_THROWS_AS(plan_workers(cpu, 0, false), ConfigError);
}
