// Word list for synthetic prompts: words that are one token each in common Llama-family tokenizers.
#pragma once
#include <span>
#include <string_view>

namespace dynamo::bench {

std::span<const std::string_view> word_list();

}  // namespace dynamo::bench
