// Tokenizer for the Jinja subset used by chat templates, reproducing jinja2's lexer under
// Hugging Face's settings (trim_blocks, lstrip_blocks, newline normalisation, no trailing newline).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dynamo::chat {

enum class TokenKind { kData, kBlockBegin, kBlockEnd, kVarBegin, kVarEnd, kName, kString, kInt, kFloat, kOp, kEof };

struct Token {
  TokenKind kind;
  std::string text;  // data, name, operator, decoded string literal
  int line = 1;
  int64_t int_value = 0;
  double float_value = 0;
};

// Throws ChatTemplateError(kSyntax) with the line of the offending text.
std::vector<Token> tokenize(std::string_view source);

// Throws a kSyntax error "chat template line N: message".
[[noreturn]] void syntax_error(int line, const std::string& message);

}  // namespace dynamo::chat
