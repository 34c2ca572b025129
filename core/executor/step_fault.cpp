// FailingStepExecutor and the --debug-fail-step parser.
#include "core/executor/step_fault.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "core/util/errors.h"

namespace dynamo {

std::vector<StepFault> parse_step_faults(const std::string& spec) {
  std::vector<StepFault> out;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t end = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, end - start);
    const size_t colon = item.rfind(':');
    StepFault f;
    if (colon != std::string::npos && colon > 0) {
      f.worker = item.substr(0, colon);
      const char* first = item.data() + colon + 1;
      const char* last = item.data() + item.size();
      const auto r = std::from_chars(first, last, f.step);
      if (r.ec != std::errc() || r.ptr != last) f.step = 0;
    }
    if (f.worker.empty() || f.step < 1) {
      throw ConfigError("--debug-fail-step '" + item + "': use WORKER:STEP with STEP >= 1, e.g. worker-1:5 "
                        "(comma-separated for several workers)");
    }
    out.push_back(std::move(f));
    start = end + 1;
  }
  return out;
}

FailingStepExecutor::FailingStepExecutor(Executor& inner, int64_t fail_at_step, std::string worker)
    : inner_(inner), fail_at_step_(fail_at_step), worker_(std::move(worker)) {}

StepResult FailingStepExecutor::step(const StepRequest& request) {
  if (++steps_ >= fail_at_step_) {
    throw std::runtime_error("injected fault at step " + std::to_string(steps_) + " of " + worker_ +
                             " (--debug-fail-step)");
  }
  return inner_.step(request);
}

}  // namespace dynamo
