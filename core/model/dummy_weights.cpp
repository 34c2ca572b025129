// Random weights of a config's shapes, for --load-format dummy on the CPU and for tests.
#include <random>

#include "core/model/model.h"

namespace dynamo {

std::shared_ptr<const WeightStore> make_dummy_weights(const ModelConfig& config, uint64_t seed) {
  auto store = std::make_shared<WeightStore>();
  store->set_description("dummy weights (seed " + std::to_string(seed) + ")");
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (const WeightSpec& spec : weight_specs(config)) {
    int64_t n = 1;
    for (auto d : spec.shape) n *= d;
    std::vector<float> values(static_cast<size_t>(n));
    switch (spec.init) {
      case WeightSpec::Init::Normal:
        for (auto& v : values) v = normal(rng);
        break;
      case WeightSpec::Init::Ones:
        for (auto& v : values) v = 1.0f + normal(rng);
        break;
      case WeightSpec::Init::Zeros:
        break;
    }
    store->add_owned_f32(spec.name, spec.shape, std::move(values), "dummy");
  }
  return store;
}

}  // namespace dynamo
