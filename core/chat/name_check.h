// Load-time check of filter and test names, with jinja2's rule: unknown names are an error at
// load, except inside an if statement or conditional expression, where they fail only when run.
#pragma once

#include "core/chat/ast.h"

namespace dynamo::chat {

// Throws kSyntax for an unknown filter/test outside conditional code; records the others in
// Program::warnings.
void check_filter_and_test_names(Program& program);

}  // namespace dynamo::chat
