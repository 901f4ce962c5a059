"""Reference token ids for the TypeScript CLIP BPE tokenizer (@a2i/imagebind ClipTokenizer).

    /usr/bin/python3 models/recipes/reference_text.py demo
        Ids of TRICKY_TEXTS with the demo pack's tokenizer (models/demo/tokenizer/vocab.json +
        merges.txt), computed by clip_bpe.ClipBpeTokenizer (CLIP's algorithm, no ftfy), into
        models/demo/reference/text/tokens.json.
    /usr/bin/python3 models/recipes/reference_text.py real --bpe PATH/bpe_simple_vocab_16e6.txt.gz \
            [--clip-tokenizer PATH/simple_tokenizer.py]
        CLIP's real vocabulary (openai/CLIP or facebookresearch/ImageBind, a local copy: never
        committed) converted to vocab.json + merges.txt the way SimpleTokenizer builds its
        vocabulary, into .cache/reference/real-vocab/tokenizer/; ids of TRICKY_TEXTS by
        clip_bpe.ClipBpeTokenizer and, when --clip-tokenizer is given, by CLIP's own
        SimpleTokenizer loaded from that file with ftfy.fix_text replaced by the identity
        (ftfy is not packaged in Debian; the TypeScript side does not apply it either), into
        .cache/reference/real-vocab/tokens.json. Texts the two disagree on are listed.

Texts: TRICKY_TEXTS (unicode, emoji, numbers, apostrophes, entities, whitespace, a 200-word
truncation) and RANDOM_COUNT seeded random strings over the characters the cleaning and split
treat specially.

tokens.json: {"contextLength", "startId", "endId", "padId", "texts": [...], "ids": [[...]]},
each ids row without its trailing padding; the demo's also holds the sha256 of the vocab.json
and merges.txt it was made with ("tokenizerSha256").
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clip_bpe import END, START, ClipBpeTokenizer, byte_to_unicode  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONTEXT_LENGTH = 77  # CLIP's and ImageBind's context length (manifest: tokenizer.contextLength)

LONG_TEXT = " ".join(f"word{i % 7} dog{i}" if i % 3 else "the cat" for i in range(200))  # 200 "words": truncated

TRICKY_TEXTS = [
    "a dog barking",
    "A Dog BARKING loudly!!!",
    "",
    "   \t\n  ",
    "  extra   spaces\tand\ttabs\n\nand new lines  ",
    "don't stop, we're here; they'll see what you've done (I'd, I'm)",
    "don’t use curly quotes",             # ftfy would straighten the apostrophe: CLIP's ids differ
    "numbers 1234567 and 3.14159, 1e-9",
    "emoji 🐶🔥👍🏽 and flags 🇫🇷",
    "café naïve résumé Ölfarbe straße",
    "İstanbul ΟΔΟΣ Σίσυφος",                 # special lower-casing: dotted I, final sigma
    "日本語のテキスト 中文 한국어",
    "Ω≈ç√∫˜µ≤≥÷ ¡™£¢∞§¶•ªº–≠",
    "html &amp; entities &lt;3 &#39;quoted&#39; &amp;lt; AT&T &copy",
    "url https://example.com/path?q=1&x=y#frag",
    "a\u00a0non-breaking\u2003em-space\u3000ideographic",
    "zero\u200bwidth\u200dJoiner\ufeffbom",
    "control\x1cchars\x1fhere\x85next",
    "mixed CASE WithCamelCase and snake_case_words",
    "!!!???...,,,;;;:::---___",
    "a" * 100,
    "greek \u03b1\u0345\u03b2 ypogegrammeni",  # U+0345 matches no split alternative under IGNORECASE
    LONG_TEXT,
]


def random_texts(count: int, seed: int = 7) -> list[str]:
    """Seeded random strings over an alphabet of the characters the cleaning and split treat
    specially (Python's whitespace classes, contractions, entities, scripts, emoji)."""
    import random

    rng = random.Random(seed)
    alphabet = (
        list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789     ''\u2019\".,;:!?-_/\\()[]{}<>|@#$%^&*+=~`")
        + list("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\u200b")
        + list("\u00e9\u00e8\u00ea\u00eb\u00e0\u00e2\u00e4\u00f4\u00f6\u00fb\u00fc\u00e7\u00f1\u00df\u00f8\u00e5\u00e6\u0153\u00c9\u00c0\u00d6\u00dc\u0130\u0131\u03a3\u03c3\u03c2\u039f\u0394\u0345")
        + list("\u65e5\u672c\u8a9e\u4e2d\u6587\ud55c\uad6d\uc5b4\u30c6\u30ad\u30b9\u30c8")
        + ["\U0001f436", "\U0001f525", "\U0001f44d\U0001f3fd", "\U0001f1eb\U0001f1f7", "\u0301", "\u0308", "\u00b2", "\u00bd", "\u216b", "\u0663", "\u0966"]
        + ["&amp;", "&lt;", "&#39;", "&#x27;", "&copy", "&nbsp;", "&#128;", "&#0;", "'s", "'LL", "'d"]
    )
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(count)]


RANDOM_COUNT = 300

# CLIP turns its start / end token strings typed in the text into those tokens (its BPE cache
# maps them to themselves); clip_bpe.ClipBpeTokenizer BPE-encodes them as text instead, so
# these are checked against CLIP's own tokenizer only.
SPECIAL_TEXTS = [
    "before <|endoftext|> after",
    "<|startoftext|>Hello",
]


def write_tokens(path: Path, tokenizer_ids: np.ndarray, texts: list[str], start_id: int, end_id: int, extra: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Rows without their trailing padding (pad id 0; the end token, never 0, is the last kept).
    rows = []
    for row in tokenizer_ids:
        values = [int(v) for v in row]
        while values and values[-1] == 0:
            values.pop()
        rows.append(values)
    out = {"contextLength": CONTEXT_LENGTH, "startId": start_id, "endId": end_id, "padId": 0,
           "note": "ids rows omit their trailing padding", "texts": texts, "ids": rows}
    if extra:
        out.update(extra)
    path.write_text(json.dumps(out, ensure_ascii=False, indent=None, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {len(texts)} texts to {path}")


def run_demo(tokenizer_dir: Path, out: Path) -> None:
    vocab, merges = tokenizer_dir / "vocab.json", tokenizer_dir / "merges.txt"
    if not vocab.exists():
        sys.exit(f"no demo tokenizer at {tokenizer_dir} (build the demo pack first)")
    tok = ClipBpeTokenizer.from_files(vocab, merges)
    texts = TRICKY_TEXTS + random_texts(RANDOM_COUNT)
    # The files' checksums, so a test can tell a rebuilt vocabulary from a tokenizer bug.
    files = {"vocab.json": hashlib.sha256(vocab.read_bytes()).hexdigest(), "merges.txt": hashlib.sha256(merges.read_bytes()).hexdigest()}
    write_tokens(out, tok.tokenize(texts, CONTEXT_LENGTH), texts, tok.start_id, tok.end_id,
                 {"source": "clip_bpe.ClipBpeTokenizer", "tokenizerSha256": files})


def convert_real_vocab(bpe_gz: Path, out_dir: Path) -> None:
    """vocab.json + merges.txt from CLIP's bpe file, in SimpleTokenizer's order."""
    lines = gzip.open(bpe_gz).read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1 : 49152 - 256 - 2 + 1]]
    chars = list(byte_to_unicode().values())
    # SimpleTokenizer lists the byte characters in bytes_to_unicode's insertion order (printable
    # first); byte_to_unicode() here is sorted by byte, so rebuild that order.
    chars = [c for c in chars if ord(c) < 256] + [c for c in chars if ord(c) >= 256]
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + [START, END]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False), encoding="utf-8")
    (out_dir / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    print(f"converted {bpe_gz} -> {out_dir} ({len(tokens)} tokens, {len(merges)} merges)")


def load_clip_simple_tokenizer(source: Path, bpe_gz: Path):
    """CLIP's SimpleTokenizer from a local copy of simple_tokenizer.py, ftfy stubbed out."""
    sys.modules.setdefault("ftfy", types.SimpleNamespace(fix_text=lambda text: text))
    spec = importlib.util.spec_from_file_location("clip_simple_tokenizer", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SimpleTokenizer(str(bpe_gz))


def clip_tokenize(tok, texts: list[str]) -> np.ndarray:
    """openai/CLIP clip.tokenize(texts, truncate=True), as ImageBind's SimpleTokenizer.__call__."""
    sot, eot = tok.encoder[START], tok.encoder[END]
    out = np.zeros((len(texts), CONTEXT_LENGTH), dtype=np.int64)
    for i, text in enumerate(texts):
        ids = ([sot] + tok.encode(text))[: CONTEXT_LENGTH - 1] + [eot]
        out[i, : len(ids)] = ids
    return out


def run_real(bpe_gz: Path, clip_source: Path | None, out_dir: Path) -> None:
    tokenizer_dir = out_dir / "tokenizer"
    convert_real_vocab(bpe_gz, tokenizer_dir)
    ours = ClipBpeTokenizer.from_files(tokenizer_dir / "vocab.json", tokenizer_dir / "merges.txt")
    texts = TRICKY_TEXTS + random_texts(RANDOM_COUNT)
    ids = ours.tokenize(texts, CONTEXT_LENGTH)
    extra: dict = {}
    if clip_source is not None:
        clip = load_clip_simple_tokenizer(clip_source, bpe_gz)
        checked = texts
        texts = texts + SPECIAL_TEXTS
        clip_ids = clip_tokenize(clip, texts)
        differ = [t for t, a, b in zip(checked, ids, clip_ids) if not np.array_equal(a, b)]
        print(f"clip_bpe vs CLIP SimpleTokenizer (ftfy stubbed): {len(checked) - len(differ)}/{len(checked)} identical")
        for t in differ:
            print("  differs:", repr(t[:60]))
        ids = clip_ids  # CLIP's own ids are the reference
        extra = {"source": "CLIP SimpleTokenizer (ftfy.fix_text stubbed as identity)", "clipBpeDiffers": differ}
    else:
        extra = {"source": "clip_bpe.ClipBpeTokenizer"}
    write_tokens(out_dir / "tokens.json", ids, texts, ours.start_id, ours.end_id, extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=["demo", "real"])
    parser.add_argument("--tokenizer", type=Path, default=ROOT / "models" / "demo" / "tokenizer")
    parser.add_argument("--bpe", type=Path, help="CLIP's bpe_simple_vocab_16e6.txt.gz (a local copy)")
    parser.add_argument("--clip-tokenizer", type=Path, help="openai/CLIP clip/simple_tokenizer.py (a local copy)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.which == "demo":
        run_demo(args.tokenizer, args.out or ROOT / "models" / "demo" / "reference" / "text" / "tokens.json")
    else:
        if args.bpe is None:
            sys.exit("real: --bpe PATH/bpe_simple_vocab_16e6.txt.gz is required")
        run_real(args.bpe, args.clip_tokenizer, args.out or ROOT / ".cache" / "reference" / "real-vocab")


if __name__ == "__main__":
    main()
