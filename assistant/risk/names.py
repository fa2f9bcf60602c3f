"""Name normalisation, comparison and candidate extraction for restricted-party screening.

Names are compared in a folded form: case-folded, without accents, other alphabets (Cyrillic, Greek,
Arabic, Persian, ...) written in Latin by anyascii, without punctuation, honorifics and legal-form
words at the edges, so that "Šarović Telekom d.o.o." and "SAROVIC TELEKOM LLC" become the same tokens.
The word lists live in corpus/risk/name_words.yaml. Similarity is rapidfuzz on those forms, with
a guard that keeps generic words ("Security Solutions") and lone tokens ("Farhad") from matching a
listed party on their own.

Free text is cut into tokens and candidate spans (n-grams of up to six tokens inside runs of name-like
words), which the screening back-ends compare with listed names.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from anyascii import anyascii
from rapidfuzz import fuzz

from .name_words import NameWords, shipped_name_words

MAX_SPAN_TOKENS = 6
"""Longest candidate span, in tokens, cut from free text."""

TOKEN_MATCH = 80.0
"""Two tokens count as the same word at this rapidfuzz ratio (covers transliteration variants)."""

_MIN_LONE_TOKEN_CHARS = 4
_MIN_KEPT_IDENTITY_CHARS = 5
_MIN_SKELETON_CHARS = 4
_SKELETON_WEIGHT = 0.95
_FUZZY_KEY_MIN_CHARS = 5
# One-letter deletions of shorter skeletons (3 consonants or fewer) would lead to too many unrelated names.
_MIN_DELETION_SKELETON = 5
_MIN_SKELETON_WORD = 3
_SKELETON_WORD_WEIGHT = 0.96
_INITIAL_SCORE = 92.0
_MISSING_NAME_COST = 0.06


def _words() -> NameWords:
    """The matcher's word lists (corpus/risk/name_words.yaml), read on first use."""
    return shipped_name_words(fold)


def _is_transliterated_char(ch: str) -> bool:
    """Letters of alphabets and abjads other than Latin (Cyrillic, Greek, Arabic, Hebrew, ...): anyascii
    writes them in Latin. Scripts without spaces (Han, kana, Thai) stay as written, so that a name can
    be found inside a longer run of them; `romanized` gives their Latin reading separately."""
    return ord(ch) >= 0x250 and ch.isalpha() and not _is_unspaced_char(ch)


# A word, possibly with inner dots, apostrophes or slashes (S.A., d.o.o., O'Neil, A/S) and a final dot.
_TOKEN_RE = re.compile(r"\w+(?:[.'’ʼ/]\w+)*\.?")
_POSSESSIVE_RE = re.compile(r"(?<=\w\w)['’ʼ]s$")
_INITIAL_RE = re.compile(r"[^\W\d_a-z]\.?|[^\W\d_]\.")
_INITIALS_RUN_RE = re.compile(r"(?:[^\W\d_]\.){2,}")
# Characters allowed between two tokens of one name: spaces, hyphens, commas ("Gholizandi, Farhad").
_JOINING_GAP_RE = re.compile(r"[\s\-‐‑–,&]*")


def _is_unspaced_char(ch: str) -> bool:
    """Scripts written without spaces between words (Han, kana, Thai, ...)."""
    code = ord(ch)
    return (
        0x3040 <= code <= 0x30FF
        or 0x3400 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x2FFFF
        or 0x0E00 <= code <= 0x0E7F
    )


def is_unspaced(text: str) -> bool:
    """True when the text is written in a script without spaces between words (e.g. Chinese)."""
    return any(_is_unspaced_char(ch) for ch in text)


def fold(text: str) -> str:
    """Case-fold, strip accents and write other alphabets in Latin (anyascii); punctuation is left alone.

    >>> fold("Šarović"), fold("Шаровић"), fold("Πυραλέων")
    ('sarovic', 'sharovic', 'pyraleon')
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) not in {"Mn", "Me", "Cf"})
    kept = unicodedata.normalize("NFC", kept)
    if any(ord(ch) >= 0x80 for ch in kept):
        kept = "".join(anyascii(ch).lower() if _needs_ascii(ch) else ch for ch in kept)
    return kept


def _needs_ascii(ch: str) -> bool:
    # Latin letters NFKD leaves alone (ø, ł, ı, æ, ß) and other alphabets; never Han, kana or Thai.
    return ord(ch) >= 0x80 and not _is_unspaced_char(ch) and (ch.isalpha() or ch.isdigit())


def romanized(text: str) -> str:
    """The text with runs of scripts written without spaces given their Latin reading, one word per
    syllable ("郝云琢" -> "Hao Yun Zuo"); '' when the text has none. Used to compare such names with
    listed names written only in Latin letters."""
    if not is_unspaced(text):
        return ""
    out = []
    for ch in text:
        if _is_unspaced_char(ch):
            out.append(" " + anyascii(ch) + " ")
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def _fold_token(raw: str) -> str:
    without_possessive = _POSSESSIVE_RE.sub("", raw)
    # anyascii writes some letters as punctuation (Arabic ʿayn as a backtick): only letters and digits stay.
    return "".join(ch for ch in fold(without_possessive) if ch.isalnum())


@dataclass(frozen=True)
class Token:
    """One word of a text: as written, folded, and where it sits in the (cleaned) text."""

    raw: str
    folded: str
    start: int
    end: int


@dataclass(frozen=True)
class TokenizedText:
    """A text cleaned of invisible format characters, and its tokens (offsets into `text`)."""

    text: str
    tokens: tuple[Token, ...]


def tokenize(text: str) -> TokenizedText:
    """Cut a text into word tokens; hyphens separate tokens, inner dots and apostrophes do not."""
    # Zero-width joiners (common in Persian names) are dropped so both spellings tokenise alike.
    cleaned = "".join(ch for ch in unicodedata.normalize("NFC", text) if unicodedata.category(ch) != "Cf")
    tokens = []
    for match in _TOKEN_RE.finditer(cleaned):
        folded = _fold_token(match.group())
        if _INITIALS_RUN_RE.fullmatch(match.group()) and not is_legal_form(folded):
            # "O.V." is two initials; "S.A." stays one token, a legal form.
            for offset in range(match.start(), match.end(), 2):
                tokens.append(Token(cleaned[offset : offset + 2], _fold_token(cleaned[offset]), offset, offset + 2))
        elif folded:
            tokens.append(Token(match.group(), folded, match.start(), match.end()))
    return TokenizedText(cleaned, tuple(tokens))


@dataclass(frozen=True)
class NormalizedName:
    """A name reduced to comparable tokens, remembering the legal forms that were removed."""

    original: str
    tokens: tuple[str, ...]
    removed_forms: tuple[str, ...] = ()
    initials: frozenset[str] = frozenset()
    """Single letters written as initials ("A." or a capital "A"), which may stand for a listed word."""

    @property
    def text(self) -> str:
        """Folded tokens in their written order, joined by spaces."""
        return " ".join(self.tokens)

    @property
    def key(self) -> str:
        """Folded tokens in sorted order: equal for the same words in any order."""
        return " ".join(sorted(self.tokens))

    @property
    def compact(self) -> str:
        """Folded tokens without spaces: equal for "Ombre-Lune" and "Ombrelune"."""
        return "".join(self.tokens)

    @property
    def is_empty(self) -> bool:
        """True when nothing comparable is left (the name had no letters or digits)."""
        return not self.tokens


def _strip_legal_forms(tokens: list[Token]) -> tuple[list[str], list[str]]:
    """Remove honorifics and legal forms at the start, legal forms at the end; return (remaining folded
    tokens, removed raw spellings). The last remaining word is never removed."""
    words = _words()
    folded = [t.folded for t in tokens]
    raws = [t.raw for t in tokens]
    head: list[str] = []
    tail: list[str] = []
    while len(folded) > 1 and (folded[0] in words.legal_prefixes or folded[0] in words.honorifics):
        head.append(raws.pop(0))
        folded.pop(0)
    stripped = True
    while stripped:
        stripped = False
        for form in words.multi_word_legal_forms:
            size = len(form)
            if len(folded) > size and tuple(folded[-size:]) == form:
                tail[:0] = raws[-size:]
                del folded[-size:], raws[-size:]
                stripped = True
                break
        if not stripped and len(folded) > 1 and folded[-1] in words.legal_suffixes:
            tail.insert(0, raws.pop())
            folded.pop()
            stripped = True
    if folded and is_unspaced(folded[-1]):
        for suffix in words.unspaced_legal_forms:
            last = folded[-1]
            if last.endswith(suffix) and len(last) > len(suffix):
                folded[-1] = last[: -len(suffix)]
                tail.insert(0, suffix)
                break
    return folded, head + tail


def name_from_tokens(original: str, tokens: Sequence[Token]) -> NormalizedName:
    """Normalise a name already cut into tokens (e.g. a span of a longer text)."""
    folded, removed = _strip_legal_forms(list(tokens))
    initials = frozenset(t.folded for t in tokens if _INITIAL_RE.fullmatch(t.raw))
    return NormalizedName(original, tuple(folded), tuple(removed), initials)


def normalize_name(name: str) -> NormalizedName:
    """Normalise one name: fold, drop punctuation and legal forms at the edges, keep the words.

    >>> normalize_name("Šarović Telekom d.o.o.").text
    'sarovic telekom'
    >>> normalize_name("Talmarov, Yevgeny").key == normalize_name("Yevgeny Talmarov").key
    True
    """
    return name_from_tokens(name, tokenize(name).tokens)


def is_legal_form(token: str) -> bool:
    """Whether a folded token is a legal form ("llc", "gmbh", "ooo", ...)."""
    words = _words()
    return token in words.legal_suffixes or token in words.legal_prefixes


def is_distinctive(token: str) -> bool:
    """Whether a folded token can help identify a party (not generic, a legal form or a number)."""
    words = _words()
    if token in words.common_words or token in words.legal_suffixes or token in words.legal_prefixes:
        return False
    if token.isdigit():
        return False
    return len(token) >= (3 if token.isascii() else 2)


def can_stand_alone(name: NormalizedName) -> bool:
    """Whether a name may be screened at all: it needs a distinctive word, and a lone word must be long.

    A single short or generic word ("Vision", "Hao", "LLC") never identifies a party on its own.
    """
    if not any(is_distinctive(t) for t in name.tokens):
        return False
    if len(name.tokens) == 1:
        token = name.tokens[0]
        return not token.isascii() or len(token) >= _MIN_LONE_TOKEN_CHARS
    return True


@functools.lru_cache(maxsize=1 << 18)
def token_similarity(a: str, b: str) -> float:
    """How alike two folded words are (0-100): spelling, or the same consonants in another transliteration
    ("wolkanow"/"volkanov", "zhdankoff"/"zhdankov")."""
    score = fuzz.ratio(a, b)
    if score < 100 and a.isascii() and b.isascii():
        for j_as_vowel in (False, True):
            skel_a, skel_b = skeleton(a, j_as_vowel=j_as_vowel), skeleton(b, j_as_vowel=j_as_vowel)
            if len(skel_a) >= _MIN_SKELETON_WORD and len(skel_b) >= _MIN_SKELETON_WORD:
                score = max(score, fuzz.ratio(skel_a, skel_b) * _SKELETON_WORD_WEIGHT)
    return score


def _covered(token: str, candidate_tokens: Sequence[str]) -> bool:
    return any(token_similarity(token, other) >= TOKEN_MATCH for other in candidate_tokens)


def aligned_similarity(candidate: NormalizedName, listed: NormalizedName, *, person: bool = False) -> float:
    """Word-by-word score: every candidate word paired with its own listed word (a close spelling, a
    transliteration, or an initial for a word it begins), averaged. For a person listed with three or more
    names, one listed name may be missing (a patronymic or middle name), at a cost; otherwise every listed
    word must be paired. Needs two candidate words, one of them a whole word."""
    ours, theirs = list(candidate.tokens), list(listed.tokens)
    if len(ours) < 2 or len(ours) > len(theirs):
        return 0.0
    missing = len(theirs) - len(ours)
    if missing > (1 if person and len(theirs) >= 3 else 0):
        return 0.0
    free = list(range(len(theirs)))
    scores = []
    whole = [t for t in ours if not (len(t) == 1 and t in candidate.initials)]
    if not whole:
        return 0.0
    for token in sorted(whole, key=len, reverse=True):
        best = max(free, key=lambda i: token_similarity(token, theirs[i]))
        best_score = token_similarity(token, theirs[best])
        if best_score < TOKEN_MATCH:
            return 0.0
        scores.append(best_score)
        free.remove(best)
    for initial in (t for t in ours if len(t) == 1 and t in candidate.initials):
        starts = [i for i in free if theirs[i].startswith(initial)]
        if not starts:
            return 0.0
        scores.append(_INITIAL_SCORE)
        free.remove(starts[0])
    return sum(scores) / len(scores) * (1 - _MISSING_NAME_COST * missing)


def unmatched_tokens(name: NormalizedName, other: NormalizedName) -> tuple[str, ...]:
    """Tokens of `name` without a close counterpart (same word or spelling variant) in `other`."""
    return tuple(t for t in name.tokens if not _covered(t, other.tokens))


def shares_identity(candidate: NormalizedName, listed: NormalizedName) -> bool:
    """Whether the candidate keeps every distinctive word of the listed name (for partial matches).

    A shortened or extended name ("Quillomarca Optica" for "Quillomarca Optica Avanzada") may only
    drop or add generic words; a listed name made only of generic words must be present in full. What
    is kept must hold a word long enough to be a name rather than an ordinary short word ("Cold Wind"
    is not "Cold Wind Research Institute"), unless nothing was dropped.
    """
    distinctive = [t for t in listed.tokens if is_distinctive(t)] or list(listed.tokens)
    if not all(_covered(t, candidate.tokens) for t in distinctive):
        return False
    if len(candidate.tokens) >= len(listed.tokens):
        return True
    return any(len(t) >= _MIN_KEPT_IDENTITY_CHARS or not t.isascii() for t in distinctive)


def similarity(candidate: NormalizedName, listed: NormalizedName, *, person: bool = False) -> float:
    """Score 0-100 for how well a candidate name matches a listed name (or alias).

    The whole-name score is the best of token-sorted and space-free comparisons, so word order,
    hyphens and spacing do not matter. Partial matches (rapidfuzz WRatio: a name inside a longer
    one, or a shortened name) count only for candidates of several words that share the listed
    name's identity (see `shares_identity`). A lone candidate word must be able to stand alone.
    Word by word (`aligned_similarity`), transliterated spellings, initials and, for a person, one missing
    middle name or patronymic are allowed. When one side is written in an abjad (Arabic, Persian, Hebrew:
    vowels mostly unwritten) and the other is not, their consonant skeletons are compared too, a little
    below a literal match.
    """
    if candidate.is_empty or listed.is_empty:
        return 0.0
    if len(candidate.tokens) == 1 and not can_stand_alone(candidate):
        return 0.0
    whole = max(fuzz.ratio(candidate.key, listed.key), fuzz.ratio(candidate.compact, listed.compact))
    if len(candidate.tokens) > 1 and shares_identity(candidate, listed):
        whole = max(whole, fuzz.WRatio(candidate.text, listed.text))
    if is_abjad(candidate.original) != is_abjad(listed.original):
        whole = max(whole, consonant_similarity(candidate, listed))
    if whole < 100:
        whole = max(whole, aligned_similarity(candidate, listed, person=person))
    return whole


@functools.lru_cache(maxsize=1 << 14)
def is_abjad(text: str) -> bool:
    """Whether the text has letters of Arabic-script or Hebrew alphabets (vowels mostly unwritten)."""
    return any(0x0590 <= ord(ch) <= 0x06FF or 0x0750 <= ord(ch) <= 0x08FF or 0xFB1D <= ord(ch) <= 0xFEFF for ch in text)


def consonant_similarity(candidate: NormalizedName, listed: NormalizedName) -> float:
    """Similarity of the two names' consonant skeletons, word order aside, capped below a literal match.

    Transliterations of Arabic-script names differ mostly in vowels ("Farhad"/"frhd"); the skeleton
    comparison finds them, and the cap keeps it from reading as certain.
    """
    ours = [skeleton(t) for t in candidate.tokens if not is_legal_form(t)]
    theirs = [skeleton(t) for t in listed.tokens if not is_legal_form(t)]
    if not ours or not theirs or sum(map(len, ours)) < _MIN_SKELETON_CHARS:
        return 0.0
    score = max(
        fuzz.ratio(" ".join(sorted(ours)), " ".join(sorted(theirs))), fuzz.ratio("".join(ours), "".join(theirs))
    )
    return score * _SKELETON_WEIGHT


# Spellings that transliterations of one sound alternate between, reduced to one letter ("Zhdankoff",
# "Jdankov" and "Schdankow" all end up as "jdnkv").
_SOUND_RULES: tuple[tuple[str, str], ...] = (
    ("sch", "s"), ("kh", "h"), ("gh", "g"), ("ph", "f"), ("th", "t"), ("sh", "s"), ("ch", "c"), ("zh", "j"),
    ("dj", "j"), ("dzh", "j"), ("ck", "k"), ("q", "k"), ("c", "k"), ("x", "ks"), ("z", "s"), ("w", "v"),
    ("f", "v"),
)  # fmt: skip
_VOWELS = frozenset("aeiouy")


@functools.lru_cache(maxsize=1 << 16)
def skeleton(token: str, *, j_as_vowel: bool = False) -> str:
    """A folded token's consonants after evening out common transliteration variants, doubled letters
    collapsed: "yevgeny" and "evgenii" -> "vgn", "qolizandi" and "qlyzndy" -> "klsnd". With `j_as_vowel`,
    a 'j' counts as the vowel it is in German or Polish spellings ("Jurij" for "Yuriy")."""
    out = token
    for spelling, sound in _SOUND_RULES:
        out = out.replace(spelling, sound)
    if j_as_vowel:
        out = out.replace("j", "y")
    kept = [ch for ch in out if ch not in _VOWELS]
    collapsed = [ch for i, ch in enumerate(kept) if i == 0 or ch != kept[i - 1]]
    return "".join(collapsed)


def index_keys(token: str) -> set[str]:
    """Lookup keys of a folded token: the token, its consonant skeleton and, for longer words, the
    skeleton with one letter deleted. Two tokens sharing a key are spelling or transliteration variants
    worth comparing (a deletion on both sides is one substituted letter)."""
    keys = {token}
    if not token.isascii() or token.isdigit():
        return keys
    for skel in {skeleton(token), skeleton(token, j_as_vowel=True)}:
        if len(skel) >= 2:
            keys.add("~" + skel)
        if len(token) >= _FUZZY_KEY_MIN_CHARS and len(skel) >= _MIN_DELETION_SKELETON:
            keys.update("~" + skel[:i] + skel[i + 1 :] for i in range(len(skel)))
    return keys


@dataclass(frozen=True)
class NameSpan:
    """A candidate name cut from free text: the words as written, where, and normalised."""

    text: str
    start: int
    end: int
    first_token: int
    last_token: int
    name: NormalizedName


def _name_like(token: Token) -> bool:
    first = token.raw[0]
    if first.isupper():
        return True
    if first.isalpha() and not first.islower():
        return True  # scripts without letter case: Arabic, Han, ...
    return is_legal_form(token.folded)


def extends_name(tokenized: TokenizedText, first: int, last: int, listed: NormalizedName) -> bool:
    """Does the span of tokens first..last sit inside a longer written name that is not `listed`?

    "Northern Star Bakery" is a name of its own, so its span "Northern Star" must not be read as the
    shortened "Northern Star Shipping Services"; "Mr Ali Reza Nourbakhshian" is another person than "Hamid
    Reza Nourbakhshian". A neighbour counts when it is capitalised and joined to the span by spaces only,
    unless it opens the text or a sentence (where any word is capitalised), is a legal form, an honorific
    or a connector, or is a word of `listed`.
    """
    tokens = tokenized.tokens
    words = _words()
    for position, gap_start, gap_end in (
        (first - 1, first - 1, first),
        (last + 1, last, last + 1),
    ):
        if not 0 < position < len(tokens):
            continue
        token = tokens[position]
        gap = tokenized.text[tokens[gap_start].end : tokens[gap_end].start]
        if gap.strip() or "\n" in gap or not token.raw[:1].isupper():
            continue
        opening = tokenized.text[tokens[position - 1].end : token.start]
        if any(mark in opening for mark in ".!?:;\n"):
            continue
        if token.folded in words.honorifics or token.folded in words.connectors or is_legal_form(token.folded):
            continue
        if not _covered(token.folded, listed.tokens):
            return True
    return False


def _runs(tokenized: TokenizedText, require_capitals: bool) -> Iterator[tuple[int, int]]:
    """Yield [first, last] token index pairs of runs that may hold a name."""
    tokens = tokenized.tokens
    run_start: int | None = None
    for i, token in enumerate(tokens):
        usable = not require_capitals or _name_like(token) or token.folded in _words().connectors
        joined = (
            run_start is not None
            and _JOINING_GAP_RE.fullmatch(tokenized.text[tokens[i - 1].end : token.start]) is not None
        )
        if run_start is not None and not (usable and joined):
            yield from _trimmed(tokens, run_start, i - 1, require_capitals)
            run_start = None
        if run_start is None and usable:
            run_start = i
    if run_start is not None:
        yield from _trimmed(tokens, run_start, len(tokens) - 1, require_capitals)


def _trimmed(tokens: Sequence[Token], first: int, last: int, require_capitals: bool) -> Iterator[tuple[int, int]]:
    if require_capitals:
        while first <= last and tokens[first].folded in _words().connectors and not _name_like(tokens[first]):
            first += 1
        while last >= first and tokens[last].folded in _words().connectors and not _name_like(tokens[last]):
            last -= 1
    if first <= last:
        yield first, last


def candidate_spans(
    tokenized: TokenizedText,
    *,
    require_capitals: bool = True,
    max_tokens: int = MAX_SPAN_TOKENS,
    focus: Callable[[int], bool] | None = None,
) -> Iterator[NameSpan]:
    """Yield every n-gram of 1..max_tokens tokens inside the runs of name-like words of a text.

    With `require_capitals` a run is a sequence of capitalised (or caseless-script) words, legal
    forms and inner connectors such as "de" or "van"; without it, any words not separated by
    punctuation other than spaces, hyphens and commas. `focus` keeps only spans holding a token
    for which it returns True, which lets a caller with a token index skip hopeless spans.
    """
    tokens = tokenized.tokens
    for first, last in _runs(tokenized, require_capitals):
        for i in range(first, last + 1):
            for j in range(i, min(last, i + max_tokens - 1) + 1):
                if focus is not None and not any(focus(k) for k in range(i, j + 1)):
                    continue
                start, end = tokens[i].start, tokens[j].end
                raw = tokenized.text[start:end].rstrip(".")
                if tokens[j].folded in _words().legal_suffixes:
                    raw = tokenized.text[start:end]  # keep the dot of "S.A." or "Ltd."
                yield NameSpan(raw, start, end, i, j, name_from_tokens(raw, tokens[i : j + 1]))


def extract_name_spans(text: str, *, max_tokens: int = MAX_SPAN_TOKENS) -> list[NameSpan]:
    """Candidate names in free text: n-grams of capitalised runs that can stand alone, one per normal form.

    This is what a screening back-end without a local index (yente) sends as queries.
    """
    seen: set[str] = set()
    spans = []
    for span in candidate_spans(tokenize(text), max_tokens=max_tokens):
        if span.name.key in seen or not can_stand_alone(span.name):
            continue
        seen.add(span.name.key)
        spans.append(span)
    return spans
