// jinja2's frame analysis (idtracking.py), reduced to what changes rendered output: a name that a
// frame assigns unconditionally before any read in that frame, and that no enclosing frame
// mentions, starts that frame as undefined; so loop bodies, macros and block sets that run before
// the assignment see Undefined instead of a template variable of the same name.
#pragma once

#include "core/chat/ast.h"

namespace dynamo::chat {

// Fills Program::root_locals and every Stmt's body_locals / else_locals.
void analyze_scopes(Program& program);

}  // namespace dynamo::chat
