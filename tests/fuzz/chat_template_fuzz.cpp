// Fuzzes the chat-template interpreter two ways (first input byte): (a) client input — messages/tools/kwargs
// JSON rendered through the real templates in tests/data/chat_templates (what a request controls); (b) the
// template source itself (what a model file controls), rendered with fixed messages under tight limits.
// Invariant: the only exception that may escape is ChatTemplateError, and output respects max_output_bytes.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/chat/chat_template.h"
#include "tests/fuzz/fuzz_check.h"

using namespace dynamo::chat;
namespace fs = std::filesystem;

namespace {

ChatTemplateLimits fuzz_limits() {
  ChatTemplateLimits l;
  l.max_output_bytes = 1u << 20;
  l.max_steps = 200'000;  // keeps one input well under libFuzzer's timeout
  return l;
}

// Every template under tests/data/chat_templates, compiled once.
const std::vector<std::unique_ptr<ChatTemplate>>& real_templates() {
  static const auto templates = [] {
    std::vector<std::unique_ptr<ChatTemplate>> out;
    for (const auto& e : fs::directory_iterator(fs::path(DYNAMO_SOURCE_DIR) / "tests/data/chat_templates")) {
      if (e.path().extension() != ".jinja") continue;
      std::ifstream in(e.path(), std::ios::binary);
      const std::string src{std::istreambuf_iterator<char>(in), {}};
      out.push_back(std::make_unique<ChatTemplate>(src, fuzz_limits()));
    }
    FUZZ_CHECK(!out.empty());
    return out;
  }();
  return templates;
}

void render_checked(const ChatTemplate& t, std::string_view messages, std::string_view tools, bool gen,
                    std::string_view kwargs) {
  try {
    const std::string out = t.render(messages, tools, gen, kwargs, "<s>", "</s>");
    FUZZ_CHECK(out.size() <= fuzz_limits().max_output_bytes);
  } catch (const ChatTemplateError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  const bool gen = data[1] & 1;
  if (data[0] & 1) {  // (b) the template source
    try {
      ChatTemplate t(rest, fuzz_limits());
      render_checked(t, R"([{"role":"system","content":"s"},{"role":"user","content":"hi"},)"
                        R"({"role":"assistant","content":"yo"}])", "", gen, "");
    } catch (const ChatTemplateError&) {
    }
    return 0;
  }
  // (a) client JSON: messages, then tools and kwargs after 0x00 separators.
  std::string_view parts[3];
  std::string_view r = rest;
  for (int i = 0; i < 3; ++i) {
    const size_t cut = i < 2 ? r.find('\0') : std::string_view::npos;
    parts[i] = r.substr(0, cut);
    r = cut == std::string_view::npos ? std::string_view() : r.substr(cut + 1);
  }
  const auto& templates = real_templates();
  render_checked(*templates[(data[0] >> 1) % templates.size()], parts[0], parts[1], gen, parts[2]);
  return 0;
}
