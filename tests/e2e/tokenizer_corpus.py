"""Deterministic test strings for the tokenizer differential test: many scripts, code, emoji,
whitespace runs, numbers, special tokens inside text, NFC-sensitive sequences, long inputs, and
byte strings that are not valid UTF-8. Same seed, same strings, on every machine."""
import random

WORDS = {
    "en": "the quick brown fox jumps over lazy dog I'm you're we've they'll she'd it's don't "
          "HELLO World tokenizer Transformer GPU's kernel latency throughput".split(),
    "de": "Grüße aus Köln Straße Äpfel Übermut schön Fußgänger Mädchen".split(),
    "fr": "café naïve élève où à façon cœur déjà Noël".split(),
    "es": "niño mañana ¿qué tal? ¡hola! corazón".split(),
    "ru": "Привет мир как дела Москва ёлка съешь ещё этих мягких".split(),
    "el": "Καλημέρα κόσμε Ελληνικά αλφάβητο".split(),
    "ar": "مرحبا بالعالم العربية كتاب".split(),
    "he": "שלום עולם עברית ספר".split(),
    "hi": "नमस्ते दुनिया हिन्दी भाषा".split(),
    "zh": "你好 世界 中文 分词器 测试 東京 北京欢迎你".split(),
    "ja": "こんにちは 世界 カタカナ ひらがな 東京タワー ラーメン".split(),
    "ko": "안녕하세요 세계 한국어 토크나이저".split(),
    "th": "สวัสดี ชาวโลก ภาษาไทย".split(),
    "vi": "Xin chào thế giới Tiếng Việt".split(),
}
EMOJI = ["😀", "🦙", "🚀", "👍🏽", "👩‍👩‍👧", "🇯🇵", "🇺🇸", "❤️", "🏳️‍🌈", "🧑‍💻", "✨", "🤗", "©", "™", "∑", "√", "≠", "→", "€", "£"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "\u2009", "\u180e",
          "\u200b", "\u2028", "\f", "\v", "\u0085"]
CODE = [
    "def f(x):\n    return x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\n",
    "const x = await fetch(`/api/${id}`);\nconsole.log(x?.data ?? null);",
    "#include <vector>\nstd::vector<int> v{1, 2, 3};\n",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
    "if __name__ == '__main__':\n\tmain()\n",
    "<div class=\"a\">&nbsp;</div>",
    "{\"key\": [1, 2.5, -3e10, true, null]}",
    "    x = [i for i in range(10) if i % 2 == 0]\n",
    "fn main() { println!(\"{:?}\", vec![1u8; 3]); }",
]
NUMBERS = ["0", "7", "42", "1234", "3.14159", "1,000,000", "2024-11-22", "12:30:45", "１２３",
           "٣٤٥", "½", "¾", "10^9", "-0.001", "0x1F", "1e-7", "99999999999"]
COMBINING = ["e\u0301", "a\u0308", "o\u0302\u0323", "\u1100\u1161\u11a8", "n\u0303", "A\u030a",
             "\u212b", "\ufb01", "\u2126"]


def _rand_codepoint(rng):
    ranges = [(0x20, 0x7e), (0xa0, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x6ff),
              (0x900, 0x97f), (0xe00, 0xe7f), (0x1100, 0x11ff), (0x2000, 0x206f), (0x2100, 0x27bf),
              (0x3000, 0x30ff), (0x4e00, 0x9fff), (0xac00, 0xd7a3), (0xff00, 0xffef),
              (0x1f300, 0x1faff), (0x10000, 0x1007f), (0x20000, 0x2a6df), (0x0, 0x1f)]
    lo, hi = rng.choice(ranges)
    return chr(rng.randint(lo, hi))


def _sentence(rng):
    lang = rng.choice(list(WORDS))
    words = [rng.choice(WORDS[lang]) for _ in range(rng.randint(1, 12))]
    out = ""
    for w in words:
        out += w + rng.choice([" ", " ", " ", ", ", ". ", "! ", "? ", "", "\n", " - ", "'s "])
    return out.strip() if rng.random() < 0.5 else out


def _piece(rng, specials):
    kind = rng.random()
    if kind < 0.30:
        return _sentence(rng)
    if kind < 0.40:
        return rng.choice(CODE)
    if kind < 0.50:
        return "".join(rng.choice(SPACES) for _ in range(rng.randint(1, 6)))
    if kind < 0.58:
        return rng.choice(NUMBERS)
    if kind < 0.66:
        return "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 4)))
    if kind < 0.72:
        return rng.choice(COMBINING)
    if kind < 0.80 and specials:
        return rng.choice(specials)
    if kind < 0.90:
        return "".join(_rand_codepoint(rng) for _ in range(rng.randint(1, 12)))
    return "".join(chr(rng.randint(0x20, 0x7e)) for _ in range(rng.randint(1, 20)))


def strings(count, seed, specials=()):
    """count valid-Unicode test strings (a few long ones, a few empty or whitespace-only)."""
    rng = random.Random(seed)
    specials = list(specials)
    out = ["", " ", "\n", "   \n\n\t  ", " " * 100, "\n" * 30, "a" * 500, "🦙" * 50]
    while len(out) < count:
        n = rng.choice([1, 1, 2, 3, 4, 6, 10]) if rng.random() > 0.01 else rng.randint(100, 400)
        out.append("".join(_piece(rng, specials) for _ in range(n)))
    return out


def invalid_utf8(count, seed):
    """count byte strings that are not valid UTF-8 (stray, truncated, overlong, surrogates)."""
    rng = random.Random(seed)
    bad = [b"\x80", b"\xbf", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xff", b"\xfe", b"\xc0\xaf",
           b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xe0\x80\x80"]
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.5:
                parts.append(rng.choice(bad))
            else:
                parts.append(_piece(rng, []).encode("utf-8"))
        out.append(b"".join(parts))
    return out


BAD_BYTES = [b"\x80", b"\xbf", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xff", b"\xfe", b"\xc0\xaf",
             b"\xc1\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80",
             b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"l\xfc"]


def id_sequences(count, seed, byte_ids, vocab_size, special_ids, fragments):
    """count token id sequences mixing byte tokens (byte_ids[b] stands for byte b: byte-fallback or
    byte-level), invalid and truncated UTF-8 byte shapes, valid multi-byte characters spelled in byte
    tokens, uniform ids, special/added ids and slices of real encodings (fragments: id lists).
    Bytes whose byte_ids entry is None (not in the vocabulary) are left out."""
    rng = random.Random(seed)
    valid_chars = ["é", "你", "😀", "ß", "€", "🦙", "ก"]
    out = []
    for _ in range(count):
        ids = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.25:
                ids += [byte_ids[b] for b in rng.choice(BAD_BYTES)]
            elif r < 0.40:
                ids += [byte_ids[b] for b in rng.choice(valid_chars).encode("utf-8")]
            elif r < 0.55:  # loose bytes, mostly lead and continuation bytes
                ids += [byte_ids[rng.randint(0x80, 0xF7) if rng.random() < 0.8 else rng.randint(0, 255)]
                        for _ in range(rng.randint(1, 4))]
            elif r < 0.65:
                ids.append(rng.randrange(vocab_size))
            elif r < 0.75 and special_ids:
                ids.append(rng.choice(special_ids))
            else:
                frag = rng.choice(fragments)
                if frag:
                    a = rng.randrange(len(frag))
                    ids += frag[a:a + rng.randint(1, 6)]
        out.append([i for i in ids if i is not None])
    return out
