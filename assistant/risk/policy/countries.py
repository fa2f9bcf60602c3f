"""The compliance country table (countries.csv): one level per ISO 3166 country, with its basis."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pycountry

from assistant.errors import ConfigError

from .model import COUNTRY_LEVELS, Country

COUNTRY_COLUMNS = ("iso2", "name", "level", "basis", "last_reviewed")


def load_countries(path: Path) -> dict[str, Country]:
    """Read and validate the country table; keys are ISO 3166 alpha-2 codes."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the country table ({exc})") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(reader.fieldnames or ())
    missing = [c for c in COUNTRY_COLUMNS if c not in header]
    if missing:
        raise ConfigError(
            f"{path}, line 1: missing column(s) {', '.join(missing)} (expected {','.join(COUNTRY_COLUMNS)})"
        )
    countries: dict[str, Country] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            raise ConfigError(f"{path}, line {line}: more fields than the header has")
        values = {k: (row.get(k) or "").strip() for k in COUNTRY_COLUMNS}
        iso2 = values["iso2"].upper()
        if len(iso2) != 2 or pycountry.countries.get(alpha_2=iso2) is None:
            raise ConfigError(f"{path}, line {line}: '{values['iso2']}' is not an ISO 3166 alpha-2 country code")
        if iso2 in countries:
            raise ConfigError(f"{path}, line {line}: country {iso2} is listed twice")
        if values["level"] not in COUNTRY_LEVELS:
            raise ConfigError(
                f"{path}, line {line}: level '{values['level']}' is not one of {', '.join(COUNTRY_LEVELS)}"
            )
        if not values["name"]:
            raise ConfigError(f"{path}, line {line}: the name is empty")
        try:
            reviewed = date.fromisoformat(values["last_reviewed"])
        except ValueError as exc:
            raise ConfigError(
                f"{path}, line {line}: last_reviewed '{values['last_reviewed']}' is not a YYYY-MM-DD date"
            ) from exc
        countries[iso2] = Country(iso2, values["name"], values["level"], values["basis"], reviewed)
    if not countries:
        raise ConfigError(f"{path}: the country table has no rows")
    return countries
