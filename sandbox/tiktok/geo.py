"""Country-level location ids as TikTok's `/tool/region/` returns them (GeoNames country ids).

US = "6252001" and SA = "102358" are confirmed in official examples; the rest are the GeoNames ids
for the same countries. Product code must not import the sandbox: the production mapper resolves
location ids through `/tool/region/` (served by the sandbox from this table) or keeps its own table.
More locations can be seeded (`locations` in the seed).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    location_id: str
    country_code: str
    name: str
    level: str = "COUNTRY"


COUNTRIES: tuple[Location, ...] = (
    Location("6252001", "US", "United States"),
    Location("2635167", "GB", "United Kingdom"),
    Location("2921044", "DE", "Germany"),
    Location("3017382", "FR", "France"),
    Location("6251999", "CA", "Canada"),
    Location("2077456", "AU", "Australia"),
    Location("1861060", "JP", "Japan"),
    Location("3469034", "BR", "Brazil"),
    Location("1269750", "IN", "India"),
    Location("2510769", "ES", "Spain"),
    Location("3175395", "IT", "Italy"),
    Location("2750405", "NL", "Netherlands"),
    Location("102358", "SA", "Saudi Arabia"),
    Location("290557", "AE", "United Arab Emirates"),
    Location("3996063", "MX", "Mexico"),
    Location("1835841", "KR", "South Korea"),
    Location("1643084", "ID", "Indonesia"),
    Location("1605651", "TH", "Thailand"),
    Location("1562822", "VN", "Vietnam"),
    Location("1694008", "PH", "Philippines"),
    Location("1733045", "MY", "Malaysia"),
    Location("1880251", "SG", "Singapore"),
    Location("1668284", "TW", "Taiwan"),
    Location("298795", "TR", "Turkey"),
    Location("357994", "EG", "Egypt"),
    Location("953987", "ZA", "South Africa"),
    Location("294640", "IL", "Israel"),
    Location("285570", "KW", "Kuwait"),
    Location("289688", "QA", "Qatar"),
    Location("798544", "PL", "Poland"),
    Location("2661886", "SE", "Sweden"),
    Location("3144096", "NO", "Norway"),
    Location("2623032", "DK", "Denmark"),
    Location("660013", "FI", "Finland"),
    Location("2802361", "BE", "Belgium"),
    Location("2782113", "AT", "Austria"),
    Location("2658434", "CH", "Switzerland"),
    Location("2963597", "IE", "Ireland"),
    Location("2264397", "PT", "Portugal"),
    Location("2186224", "NZ", "New Zealand"),
    Location("3865483", "AR", "Argentina"),
    Location("3686110", "CO", "Colombia"),
    Location("3895114", "CL", "Chile"),
    Location("3932488", "PE", "Peru"),
)

# Where 13-17 targeting is refused with 40065: US, EEA, UK, Switzerland, Canada, Latin America.
_EEA = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
    "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
}  # fmt: skip
_LATAM = {
    "MX",
    "BR",
    "AR",
    "CO",
    "CL",
    "PE",
    "VE",
    "EC",
    "BO",
    "PY",
    "UY",
    "CR",
    "PA",
    "GT",
    "DO",
    "SV",
    "HN",
}
MINOR_RESTRICTED_COUNTRIES = frozenset({"US", "GB", "CH", "CA"} | _EEA | _LATAM)


def default_locations() -> dict[str, Location]:
    return {loc.location_id: loc for loc in COUNTRIES}
