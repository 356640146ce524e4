"""Country names on the last line of a postal address, and the postage zone each one is sent in.

Royal Mail prices international letters by zone: `europe` or `rest-of-world`; the United Kingdom,
its constituent countries and the Crown Dependencies (which use UK postcodes) are `united-kingdom`.
A name matches whatever its case, accents, punctuation, a leading "The" and "&" for "and", so
"COTE D'IVOIRE" and "Côte d’Ivoire" are the same country. The tables are data, not a complete
gazetteer: a name not listed is not a country, and the address then needs a UK postcode.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["EUROPE", "REST_OF_WORLD", "UNITED_KINGDOM", "Country", "find_country"]

UNITED_KINGDOM = "united-kingdom"
EUROPE = "europe"
REST_OF_WORLD = "rest-of-world"


@dataclass(frozen=True)
class Country:
    """A country as printed on a letter, and the postage zone letters to it go in."""

    name: str
    postage_zone: str

    @property
    def is_uk(self) -> bool:
        """Whether letters to it go by inland post."""
        return self.postage_zone == UNITED_KINGDOM


# canonical name: other names it is written as
_UK: dict[str, tuple[str, ...]] = {
    "United Kingdom": ("UK", "U.K.", "Great Britain", "GB", "Britain", "England", "Scotland", "Wales", "Cymru",
                       "Northern Ireland", "United Kingdom of Great Britain and Northern Ireland",
                       "Jersey", "Guernsey", "Alderney", "Sark", "Isle of Man", "Channel Islands"),
}
_EUROPE: dict[str, tuple[str, ...]] = {
    "Albania": (), "Andorra": (), "Armenia": (), "Austria": ("Österreich",), "Azerbaijan": (),
    "Azores": (), "Balearic Islands": (), "Belarus": (), "Belgium": ("Belgique", "België"),
    "Bosnia and Herzegovina": ("Bosnia",), "Bulgaria": (), "Canary Islands": (), "Corsica": (),
    "Croatia": ("Hrvatska",), "Cyprus": (), "Czechia": ("Czech Republic",), "Denmark": ("Danmark",),
    "Estonia": (), "Faroe Islands": ("Faroes",), "Finland": ("Suomi",), "France": (), "Georgia": (),
    "Germany": ("Deutschland",), "Gibraltar": (), "Greece": ("Hellas",), "Greenland": (), "Hungary": (),
    "Iceland": (), "Ireland": ("Republic of Ireland", "Eire", "Éire"), "Italy": ("Italia",),
    "Kazakhstan": (), "Kosovo": (), "Kyrgyzstan": (), "Latvia": (), "Liechtenstein": (), "Lithuania": (),
    "Luxembourg": (), "Madeira": (), "Malta": (), "Moldova": ("Republic of Moldova",), "Monaco": (),
    "Montenegro": (), "Netherlands": ("Holland", "Nederland", "The Netherlands"),
    "North Macedonia": ("Macedonia",), "Norway": ("Norge",), "Poland": ("Polska",), "Portugal": (),
    "Romania": (), "Russia": ("Russian Federation",), "San Marino": (), "Serbia": (), "Slovakia": (),
    "Slovenia": (), "Spain": ("España",), "Sweden": ("Sverige",), "Switzerland": ("Schweiz", "Suisse"),
    "Tajikistan": (), "Turkey": ("Türkiye",), "Turkmenistan": (), "Ukraine": (), "Uzbekistan": (),
    "Vatican City": ("Holy See",),
}
_REST_OF_WORLD: dict[str, tuple[str, ...]] = {
    "Afghanistan": (), "Algeria": (), "Angola": (), "Anguilla": (), "Antigua and Barbuda": (),
    "Argentina": (), "Aruba": (), "Australia": (), "Bahamas": (), "Bahrain": (), "Bangladesh": (),
    "Barbados": (), "Belize": (), "Benin": (), "Bermuda": (), "Bhutan": (), "Bolivia": (), "Botswana": (),
    "Brazil": ("Brasil",), "British Virgin Islands": (), "Brunei": (), "Burkina Faso": (), "Burundi": (),
    "Cambodia": (), "Cameroon": (), "Canada": (), "Cape Verde": ("Cabo Verde",), "Cayman Islands": (),
    "Central African Republic": (), "Chad": (), "Chile": (), "China": ("People's Republic of China",),
    "Colombia": (), "Comoros": (), "Congo": ("Republic of the Congo",),
    "Congo (Democratic Republic)": ("Democratic Republic of the Congo", "DR Congo"), "Cook Islands": (),
    "Costa Rica": (), "Ivory Coast": ("Côte d'Ivoire",), "Cuba": (), "Djibouti": (), "Dominica": (),
    "Dominican Republic": (), "East Timor": ("Timor-Leste",), "Ecuador": (), "Egypt": (), "El Salvador": (),
    "Equatorial Guinea": (), "Eritrea": (), "Eswatini": ("Swaziland",), "Ethiopia": (),
    "Falkland Islands": (), "Fiji": (), "French Guiana": (), "French Polynesia": (), "Gabon": (),
    "The Gambia": ("Gambia",), "Ghana": (), "Grenada": (), "Guadeloupe": (), "Guatemala": (), "Guinea": (),
    "Guinea-Bissau": (), "Guyana": (), "Haiti": (), "Honduras": (), "Hong Kong": (), "India": (),
    "Indonesia": (), "Iran": (), "Iraq": (), "Israel": (), "Jamaica": (), "Japan": (), "Jordan": (),
    "Kenya": (), "Kiribati": (), "Kuwait": (), "Laos": (), "Lebanon": (), "Lesotho": (), "Liberia": (),
    "Libya": (), "Macao": ("Macau",), "Madagascar": (), "Malawi": (), "Malaysia": (), "Maldives": (),
    "Mali": (), "Marshall Islands": (), "Martinique": (), "Mauritania": (), "Mauritius": (), "Mexico": (),
    "Micronesia": (), "Mongolia": (), "Montserrat": (), "Morocco": (), "Mozambique": (),
    "Myanmar (Burma)": ("Myanmar", "Burma"), "Namibia": (), "Nauru": (), "Nepal": (), "New Caledonia": (),
    "New Zealand": ("Aotearoa",), "Nicaragua": (), "Niger": (), "Nigeria": (), "North Korea": (),
    "Oman": (), "Pakistan": (), "Palau": (), "Panama": (), "Papua New Guinea": (), "Paraguay": (),
    "Peru": (), "Philippines": (), "Pitcairn Islands": (), "Qatar": (), "Réunion": (), "Rwanda": (),
    "St Helena, Ascension and Tristan da Cunha": ("St Helena", "Saint Helena"),
    "St Kitts and Nevis": ("Saint Kitts and Nevis",), "St Lucia": ("Saint Lucia",),
    "St Vincent": ("Saint Vincent and the Grenadines", "St Vincent and the Grenadines"), "Samoa": (),
    "São Tomé and Príncipe": (), "Saudi Arabia": (), "Senegal": (), "Seychelles": (), "Sierra Leone": (),
    "Singapore": (), "Solomon Islands": (), "Somalia": (), "South Africa": (), "South Korea": ("Korea",),
    "South Sudan": (), "Sri Lanka": (), "Sudan": (), "Suriname": (), "Syria": (), "Taiwan": (),
    "Tanzania": (), "Thailand": (), "Togo": (), "Tonga": (), "Trinidad and Tobago": (), "Tunisia": (),
    "Turks and Caicos Islands": (), "Tuvalu": (), "Uganda": (), "United Arab Emirates": ("UAE",),
    "United States": ("USA", "U.S.A.", "US", "United States of America", "America"), "Uruguay": (),
    "Vanuatu": (), "Venezuela": (), "Vietnam": ("Viet Nam",), "Yemen": (), "Zambia": (), "Zimbabwe": (),
}


def _key(name: str) -> str:
    """A name reduced to what identifies it: no accents, case, punctuation or leading "the"."""
    unquoted = re.sub(r"['’‘`]", "", name)  # "d'Ivoire" and "d’Ivoire" alike
    plain = unicodedata.normalize("NFKD", unquoted).encode("ascii", "ignore").decode("ascii").lower()
    plain = re.sub(r"[^a-z0-9&]+", " ", plain.replace("&", " and ")).split()
    if plain and plain[0] == "the":
        plain = plain[1:]
    return " ".join(plain)


def _index() -> dict[str, Country]:
    index: dict[str, Country] = {}
    for table, zone in ((_UK, UNITED_KINGDOM), (_EUROPE, EUROPE), (_REST_OF_WORLD, REST_OF_WORLD)):
        for name, others in table.items():
            country = Country(name, zone)
            for written in (name, *others):
                index[_key(written)] = country
    return index


_COUNTRIES = _index()


def find_country(line: str) -> Country | None:
    """The country a line names, or None when it names none."""
    return _COUNTRIES.get(_key(line))
