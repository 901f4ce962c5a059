"""CLIP's byte-level BPE tokenizer: training merges on a small corpus, and encoding.

The algorithm is the one CLIP uses (Radford et al. 2021; openai/CLIP simple_tokenizer.py,
also ImageBind's multimodal_preprocessors.SimpleTokenizer): text is cleaned (HTML
unescaped twice, whitespace collapsed), lower-cased, split by CLIP's regex with Unicode
classes, each piece is mapped byte by byte to printable characters (GPT-2's byte-to-unicode
table), the last character of a word carries "</w>", and merges are applied lowest rank
first. ftfy's mojibake repair is not applied (it is not packaged in Debian; the demo
captions are plain ASCII). Vocabulary order is CLIP's: 256 byte characters, the same with
"</w>", one entry per merge, then <|startoftext|> and <|endoftext|>.

Files: vocab.json ({token: id}) and merges.txt ("#version: 0.2" then "a b" per line), the
layout Hugging Face's CLIP tokenizers read.
"""
from __future__ import annotations

import collections
import html
import json
from pathlib import Path

import numpy as np
import regex

START = "<|startoftext|>"
END = "<|endoftext|>"
# CLIP's pre-tokenizer pattern (simple_tokenizer.py), case-insensitive.
SPLIT = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable unicode characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return dict(sorted(table.items()))


def clean_text(text: str) -> str:
    text = html.unescape(html.unescape(text)).strip()
    text = regex.sub(r"\s+", " ", text).strip()
    return text.lower()


def pre_tokenize(text: str) -> list[str]:
    """Cleaned, lower-cased pieces, each mapped byte by byte to unicode characters."""
    table = byte_to_unicode()
    return ["".join(table[b] for b in piece.encode("utf-8")) for piece in SPLIT.findall(clean_text(text))]


def word_symbols(piece: str) -> tuple[str, ...]:
    return tuple(piece[:-1]) + (piece[-1] + "</w>",)


def train_merges(corpus: list[str], max_merges: int = 2000, min_count: int = 2) -> list[tuple[str, str]]:
    """Learns BPE merges: repeatedly merge the most frequent adjacent pair (ties: first seen)."""
    words = collections.Counter(word_symbols(p) for text in corpus for p in pre_tokenize(text))
    merges: list[tuple[str, str]] = []
    vocab = dict(words)
    while len(merges) < max_merges:
        pairs: collections.Counter = collections.Counter()
        for symbols, count in vocab.items():
            for a, b in zip(symbols, symbols[1:]):
                pairs[(a, b)] += count
        if not pairs:
            break
        best, count = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        if count < min_count:
            break
        merges.append(best)
        merged = {}
        for symbols, c in vocab.items():
            out: list[str] = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            merged[tuple(out)] = c
        vocab = merged
    return merges


def vocab_from_merges(merges: list[tuple[str, str]]) -> dict[str, int]:
    chars = list(byte_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + [START, END]
    return {t: i for i, t in enumerate(tokens)}


def save(merges: list[tuple[str, str]], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "vocab.json").write_text(json.dumps(vocab_from_merges(merges), ensure_ascii=False, indent=0))
    (out_dir / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")


class ClipBpeTokenizer:
    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]):
        self.vocab = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.start_id = vocab[START]
        self.end_id = vocab[END]
        self.cache: dict[str, list[str]] = {}

    @classmethod
    def from_files(cls, vocab_json: str | Path, merges_txt: str | Path) -> "ClipBpeTokenizer":
        vocab = json.loads(Path(vocab_json).read_text(encoding="utf-8"))
        lines = Path(merges_txt).read_text(encoding="utf-8").split("\n")
        merges = [tuple(l.split(" ")) for l in lines[1:] if l.strip() and not l.startswith("#version")]
        return cls(vocab, merges)  # type: ignore[arg-type]

    def bpe(self, piece: str) -> list[str]:
        if piece in self.cache:
            return self.cache[piece]
        word = list(word_symbols(piece))
        while len(word) > 1:
            pairs = [(self.ranks.get((a, b), 1 << 60), i) for i, (a, b) in enumerate(zip(word, word[1:]))]
            rank, _ = min(pairs)
            if rank == 1 << 60:
                break
            first, second = next((a, b) for (a, b) in zip(word, word[1:]) if self.ranks.get((a, b)) == rank)
            out: list[str] = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == first and word[i + 1] == second:
                    out.append(first + second)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = out
        self.cache[piece] = word
        return word

    def encode(self, text: str) -> list[int]:
        return [self.vocab[t] for p in pre_tokenize(text) for t in self.bpe(p)]

    def tokenize(self, texts: list[str], context_length: int = 77) -> np.ndarray:
        """[N, context_length] int64: start, tokens, end, zero padding; over-long texts are
        truncated to context_length with the end token kept last."""
        out = np.zeros((len(texts), context_length), dtype=np.int64)
        for i, text in enumerate(texts):
            ids = [self.start_id] + self.encode(text) + [self.end_id]
            if len(ids) > context_length:
                ids = ids[:context_length]
                ids[-1] = self.end_id
            out[i, : len(ids)] = ids
        return out
