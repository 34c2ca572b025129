// ChatTemplate: compiles once, renders with transformers' variables and globals (see
// chat_template.h). Errors raised while rendering get the template line prefixed.
#include "core/chat/chat_template.h"

#include <ctime>

#include "core/chat/interpreter.h"
#include "core/chat/json_value.h"
#include "core/chat/parser.h"

namespace dynamo::chat {

namespace {

Value make_namespace(Interpreter& in, CallArgs& a) {
  auto d = std::make_shared<DictData>();
  in.track_namespace(d);
  for (const auto& p : a.positional) {
    if (!p.is_dict()) render_error("namespace() positional argument must be a mapping");
    for (const auto& [k, v] : p.dict().items()) d->set(k, v);
  }
  for (const auto& [k, v] : a.keyword) d->set(k, v);
  return Value::new_namespace(std::move(d));
}

Value make_range(Interpreter& in, CallArgs& a) {
  std::vector<int64_t> n;
  for (const auto& v : a.positional) {
    if (!v.is_int() && !v.is_bool()) render_error("range() arguments must be integers");
    n.push_back(v.as_int());
  }
  if (n.empty() || n.size() > 3) render_error("range expected 1 to 3 arguments");
  int64_t start = n.size() == 1 ? 0 : n[0], stop = n.size() == 1 ? n[0] : n[1], step = n.size() == 3 ? n[2] : 1;
  if (step == 0) render_error("range() arg 3 must not be zero");
  std::vector<Value> items;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    in.step();
    items.push_back(Value::integer(i));
  }
  return Value::list(std::move(items));
}

Value strftime_now(CallArgs& a) {
  if (a.positional.empty() || !a.positional[0].is_string()) render_error("strftime_now() needs a format string");
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[512];
  size_t n = std::strftime(buf, sizeof buf, a.positional[0].str().c_str(), &tm);
  return Value::string(std::string(buf, n));
}

void add_globals(Scope& g) {
  g.set("raise_exception", Value::callable("raise_exception", [](Interpreter&, CallArgs& a) -> Value {
    std::string msg = a.positional.empty() ? std::string() : a.positional[0].to_str();
    throw ChatTemplateError(ChatTemplateErrorKind::kRaised, msg);
  }));
  g.set("strftime_now", Value::callable("strftime_now", [](Interpreter&, CallArgs& a) { return strftime_now(a); }));
  g.set("namespace", Value::callable("namespace", [](Interpreter& in, CallArgs& a) { return make_namespace(in, a); }));
  g.set("range", Value::callable("range", [](Interpreter& in, CallArgs& a) { return make_range(in, a); }));
  g.set("dict", Value::callable("dict", [](Interpreter& in, CallArgs& a) {
    Value ns = make_namespace(in, a);
    auto d = std::make_shared<DictData>(ns.namespace_data());
    return Value::dict(std::move(d));
  }));
}

}  // namespace

ChatTemplate::ChatTemplate(std::string_view source, ChatTemplateLimits limits)
    : program_(std::make_shared<const Program>(parse_template(source))), limits_(limits) {}

const std::vector<std::string>& ChatTemplate::warnings() const { return program_->warnings; }

std::string ChatTemplate::render(std::string_view messages_json, std::string_view tools_json,
                                 bool add_generation_prompt, std::string_view extra_vars_json,
                                 const std::string& bos_token, const std::string& eos_token) const {
  Value messages = parse_json(messages_json, "messages");
  if (!messages.is_list()) throw ChatTemplateError(ChatTemplateErrorKind::kInput, "messages must be a JSON array");
  Value tools = tools_json.empty() ? Value::none() : parse_json(tools_json, "tools");
  if (!tools.is_list() && !tools.is_none())
    throw ChatTemplateError(ChatTemplateErrorKind::kInput, "tools must be a JSON array");
  Value extra = extra_vars_json.empty() ? Value() : parse_json(extra_vars_json, "chat_template_kwargs");
  if (!extra.is_undefined() && !extra.is_dict())
    throw ChatTemplateError(ChatTemplateErrorKind::kInput, "chat_template_kwargs must be a JSON object");

  Scope globals;
  add_globals(globals);
  globals.set("bos_token", Value::string(bos_token));
  globals.set("eos_token", Value::string(eos_token));
  if (extra.is_dict()) {
    for (const auto& [k, v] : extra.dict().items()) {
      if (k == "messages" || k == "tools" || k == "documents" || k == "add_generation_prompt")
        throw ChatTemplateError(ChatTemplateErrorKind::kInput, "chat_template_kwargs may not set '" + k + "'");
      globals.set(k, v);
    }
  }
  globals.set("messages", messages);
  globals.set("tools", tools);
  globals.set("documents", Value::none());
  globals.set("add_generation_prompt", Value::boolean(add_generation_prompt));

  Interpreter in(*program_, limits_);
  try {
    return in.render(globals);
  } catch (const ChatTemplateError& e) {
    if (e.kind() == ChatTemplateErrorKind::kRaised) throw;
    throw ChatTemplateError(e.kind(), "chat template error, line " + std::to_string(in.line_) + ": " + e.what());
  }
}

}  // namespace dynamo::chat
