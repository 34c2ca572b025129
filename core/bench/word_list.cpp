// The fixed word list synthetic bench prompts are drawn from: 476 common English words, each of
// which is exactly one token (with its leading space) in the Llama 3, Qwen3, Mistral and SmolLM2
// tokenizers, so N random words separated by spaces tokenize to N tokens (checked in docs/BENCH.md).
#include "core/bench/word_list.h"

namespace dynamo::bench {

namespace {
constexpr std::string_view kWords[] = {
    "the", "of", "and", "to", "in", "is", "was", "for", "on", "that", "with", "as", "by", "at",
    "from", "his", "it", "an", "were", "are", "which", "this", "be", "has", "had", "not", "but",
    "or", "have", "their", "its", "one", "new", "first", "after", "who", "they", "been", "two",
    "her", "she", "also", "more", "other", "all", "time", "would", "year", "when", "there", "some",
    "can", "into", "most", "world", "city", "during", "we", "only", "over", "three", "many",
    "states", "school", "under", "state", "film", "may", "years", "where", "then", "while",
    "however", "about", "up", "out", "him", "used", "between", "later", "such", "these", "since",
    "both", "known", "than", "being", "season", "through", "made", "before", "national", "part",
    "each", "did", "could", "several", "no", "well", "team", "number", "war", "people", "day",
    "way", "man", "thing", "woman", "life", "child", "government", "work", "system", "program",
    "question", "country", "company", "area", "group", "problem", "fact", "hand", "place", "case",
    "week", "point", "home", "water", "room", "mother", "money", "story", "month", "night", "lot",
    "right", "study", "book", "eye", "job", "word", "business", "issue", "side", "kind", "head",
    "house", "service", "friend", "father", "power", "hour", "game", "line", "end", "member", "law",
    "car", "community", "name", "president", "minute", "idea", "kid", "body", "information", "back",
    "parent", "face", "others", "level", "office", "door", "health", "person", "art", "history",
    "party", "result", "change", "morning", "reason", "research", "girl", "guy", "moment", "air",
    "teacher", "force", "education", "foot", "boy", "age", "policy", "music", "market", "sense",
    "nation", "plan", "college", "interest", "death", "experience", "effect", "use", "class",
    "control", "care", "field", "development", "role", "effort", "rate", "heart", "drug", "show",
    "leader", "light", "voice", "wife", "police", "mind", "price", "report", "decision", "son",
    "view", "relationship", "town", "road", "arm", "difference", "value", "building", "action",
    "model", "society", "tax", "director", "position", "player", "record", "paper", "space",
    "ground", "form", "event", "official", "matter", "center", "couple", "site", "project",
    "activity", "star", "table", "need", "court", "oil", "situation", "cost", "industry", "figure",
    "street", "image", "phone", "data", "picture", "practice", "piece", "land", "product", "doctor",
    "wall", "patient", "worker", "news", "test", "movie", "north", "love", "support", "technology",
    "step", "baby", "computer", "type", "attention", "tree", "source", "organization", "hair",
    "window", "evidence", "population", "culture", "energy", "period", "course", "summer", "chance",
    "sound", "south", "west", "east", "bed", "river", "sea", "island", "mountain", "forest",
    "garden", "bank", "church", "hospital", "hotel", "station", "train", "plane", "ship", "boat",
    "bridge", "tower", "castle", "village", "farm", "park", "lake", "hill", "valley", "desert",
    "stone", "glass", "gold", "silver", "iron", "wood", "cloth", "bread", "milk", "tea", "coffee",
    "wine", "beer", "fruit", "apple", "orange", "lemon", "rice", "meat", "fish", "bird", "dog",
    "cat", "horse", "cow", "animal", "flower", "grass", "leaf", "seed", "rain", "snow", "wind",
    "storm", "cloud", "sun", "moon", "sky", "fire", "heat", "cold", "color", "red", "blue", "green",
    "yellow", "black", "white", "brown", "gray", "small", "large", "big", "little", "long", "short",
    "high", "low", "old", "young", "good", "bad", "great", "best", "better", "early", "late",
    "hard", "easy", "fast", "slow", "strong", "weak", "happy", "sad", "rich", "poor", "full",
    "empty", "open", "close", "clean", "dark", "bright", "free", "simple", "real", "true", "false",
    "certain", "clear", "common", "general", "public", "private", "special", "local", "social",
    "political", "economic", "human", "natural", "physical", "final", "major", "minor", "main",
    "central", "personal", "whole", "recent", "similar", "different", "important", "possible",
    "available", "likely", "able", "ready", "sure", "quick", "quiet", "loud", "warm", "cool", "hot",
    "dry", "wet", "soft", "heavy", "deep", "wide", "thin", "thick", "sweet", "safe", "huge", "tiny",
    "rare", "wild", "brave", "proud", "calm", "fair", "wise",
};
}  // namespace

std::span<const std::string_view> word_list() { return kWords; }

}  // namespace dynamo::bench
