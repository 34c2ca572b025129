// `dynamo-serve render-template`: renders a chat template from files, as the server would, for
// checking templates by hand and for the differential test against Python jinja2 (--batch).
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "app/commands.h"
#include "core/chat/chat_template.h"
#include "core/chat/json_value.h"

namespace dynamo::app {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const char* kind_name(chat::ChatTemplateErrorKind k) {
  switch (k) {
    case chat::ChatTemplateErrorKind::kSyntax: return "syntax";
    case chat::ChatTemplateErrorKind::kRender: return "render";
    case chat::ChatTemplateErrorKind::kRaised: return "raised";
    case chat::ChatTemplateErrorKind::kLimit: return "limit";
    case chat::ChatTemplateErrorKind::kInput: return "input";
  }
  return "error";
}

struct Options {
  std::string template_file, messages_file, tools_file, kwargs_file, batch_file;
  bool add_generation_prompt = false;
  std::string bos, eos;
};

std::string field_text(const chat::Value& c, const char* key) {
  const chat::Value* v = c.dict().find(key);
  return v && v->is_string() ? v->str() : std::string();
}

// Batch: a JSON array of {template, messages, tools, kwargs (JSON texts or null),
// add_generation_prompt, bos_token, eos_token}; prints a JSON array of {ok, text | kind, error}.
int run_batch(const Options& o) {
  chat::Value cases = chat::parse_json(read_file(o.batch_file), o.batch_file);
  if (!cases.is_list()) throw std::runtime_error(o.batch_file + ": expected a JSON array of cases");
  std::map<std::string, std::unique_ptr<chat::ChatTemplate>> templates;
  std::map<std::string, std::string> template_errors;
  std::string out = "[";
  for (size_t i = 0; i < cases.items().size(); ++i) {
    const chat::Value& c = cases.items()[i];
    if (!c.is_dict()) throw std::runtime_error("case " + std::to_string(i) + " is not an object");
    if (i) out += ",\n";
    std::string path = field_text(c, "template");
    try {
      if (!templates.count(path) && !template_errors.count(path)) {
        try {
          templates[path] = std::make_unique<chat::ChatTemplate>(read_file(path));
        } catch (const chat::ChatTemplateError& e) {
          template_errors[path] = e.what();
        }
      }
      if (template_errors.count(path))
        throw chat::ChatTemplateError(chat::ChatTemplateErrorKind::kSyntax, template_errors[path]);
      const chat::Value* agp = c.dict().find("add_generation_prompt");
      std::string text = templates[path]->render(field_text(c, "messages"), field_text(c, "tools"),
                                                 agp && agp->truthy(), field_text(c, "kwargs"),
                                                 field_text(c, "bos_token"), field_text(c, "eos_token"));
      out += "{\"ok\": true, \"text\": ";
      chat::append_json_string(out, text, true);
      out += "}";
    } catch (const chat::ChatTemplateError& e) {
      out += std::string("{\"ok\": false, \"kind\": \"") + kind_name(e.kind()) + "\", \"error\": ";
      chat::append_json_string(out, e.what(), true);
      out += "}";
    }
  }
  out += "]\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int run_single(const Options& o) {
  if (o.template_file.empty() || o.messages_file.empty())
    throw std::runtime_error("render-template needs --template and --messages (or --batch)");
  try {
    chat::ChatTemplate t(read_file(o.template_file));
    std::string text = t.render(read_file(o.messages_file), o.tools_file.empty() ? "" : read_file(o.tools_file),
                                o.add_generation_prompt, o.kwargs_file.empty() ? "" : read_file(o.kwargs_file),
                                o.bos, o.eos);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  } catch (const chat::ChatTemplateError& e) {
    std::fprintf(stderr, "dynamo-serve render-template: %s error: %s\n", kind_name(e.kind()), e.what());
    return 3;
  }
}

}  // namespace

void add_render_template_command(CLI::App& app) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand("render-template", "Render a chat template (Jinja) to stdout, as the server would");
  sub->add_option("--template", opts->template_file, "Jinja chat template file");
  sub->add_option("--messages", opts->messages_file, "JSON file with the messages array");
  sub->add_option("--tools", opts->tools_file, "JSON file with the tools array (default: None)");
  sub->add_option("--kwargs", opts->kwargs_file, "JSON file with extra template variables (chat_template_kwargs)");
  sub->add_flag("--add-generation-prompt", opts->add_generation_prompt, "End with the assistant turn's header");
  sub->add_option("--bos", opts->bos, "bos_token value");
  sub->add_option("--eos", opts->eos, "eos_token value");
  sub->add_option("--batch", opts->batch_file, "JSON array of cases; prints a JSON array of results");
  sub->callback([opts] {
    int rc = opts->batch_file.empty() ? run_single(*opts) : run_batch(*opts);
    if (rc != 0) std::exit(rc);
  });
}

}  // namespace dynamo::app
