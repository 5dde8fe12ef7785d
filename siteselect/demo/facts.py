"""Real public facts embedded in the demo region, copied as constants.

Nothing here is read from disk at run time. Sources:

* Airports and runways: OurAirports (https://ourairports.com/data/), public
  domain; airports from the 2022 dump, runways from the 2026 dump. Values are the
  exact strings of ``airports.csv`` / ``runways.csv`` (``None`` = empty cell).
* Hospitals: US DHS HIFLD Open "Hospitals" layer (2018-2020 vintage), public
  domain. ``BEDS == -999`` means unknown, exactly as HIFLD publishes it.
* Faults: USGS National Seismic Hazard Model 2023 (NSHM23) fault sections,
  public domain: trace vertices (lon, lat) and attributes unchanged.
* US-Mexico border: the 1848 Treaty of Guadalupe Hidalgo line, straight in
  California from the Pacific to the Colorado/Gila confluence (approximate
  end points, to 1e-4 degree).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# The demo region: lon/lat bounding box (west, south, east, north), degrees.
REGION_BBOX: Final[tuple[float, float, float, float]] = (-117.29, 32.534, -116.90, 32.96)
REGION_NAME: Final[str] = "Demo region (San Diego-modelled)"

# US-Mexico border (1848 Treaty of Guadalupe Hidalgo): Pacific end and the
# Colorado/Gila confluence end of the straight line across California.
BORDER_PACIFIC: Final[tuple[float, float]] = (-117.1241, 32.5343)
BORDER_COLORADO: Final[tuple[float, float]] = (-114.7196, 32.7186)

AIRPORT_IDENTS: Final[tuple[str, ...]] = ("KSAN", "KNKX", "KNZY", "KMYF", "KSDM")

# OurAirports airports.csv columns, in file order (the first 15).
AIRPORT_COLUMNS: Final[tuple[str, ...]] = (
    "id", "ident", "type", "name", "latitude_deg", "longitude_deg", "elevation_ft",
    "continent", "iso_country", "iso_region", "municipality", "scheduled_service",
    "gps_code", "iata_code", "local_code",
)  # fmt: skip

# OurAirports rows. ``continent`` is "NA" (North America) in OurAirports; the
# GeoJSON extract we copied from had lost it to NA-as-missing parsing.
AIRPORTS: Final[tuple[dict[str, str | None], ...]] = (
    {"id": "3862", "ident": "KSAN", "type": "large_airport",
     "name": "San Diego International Airport", "latitude_deg": "32.7336006165",
     "longitude_deg": "-117.190002441", "elevation_ft": "17", "continent": "NA",
     "iso_country": "US", "iso_region": "US-CA", "municipality": "San Diego",
     "scheduled_service": "yes", "gps_code": "KSAN", "iata_code": "SAN", "local_code": "SAN"},
    {"id": "3733", "ident": "KNKX", "type": "medium_airport",
     "name": "Miramar Marine Corps Air Station - Mitscher Field",
     "latitude_deg": "32.86840057", "longitude_deg": "-117.1429977", "elevation_ft": "477",
     "continent": "NA", "iso_country": "US", "iso_region": "US-CA",
     "municipality": "San Diego", "scheduled_service": "no", "gps_code": "KNKX",
     "iata_code": "NKX", "local_code": "NKX"},
    {"id": "3743", "ident": "KNZY", "type": "medium_airport",
     "name": "North Island Naval Air Station-Halsey Field", "latitude_deg": "32.69919968",
     "longitude_deg": "-117.2149963", "elevation_ft": "26", "continent": "NA",
     "iso_country": "US", "iso_region": "US-CA", "municipality": "San Diego",
     "scheduled_service": "no", "gps_code": "KNZY", "iata_code": "NZY", "local_code": "NZY"},
    {"id": "20589", "ident": "KMYF", "type": "small_airport",
     "name": "Montgomery-Gibbs Executive Airport", "latitude_deg": "32.8157",
     "longitude_deg": "-117.139999", "elevation_ft": "427", "continent": "NA",
     "iso_country": "US", "iso_region": "US-CA", "municipality": "San Diego",
     "scheduled_service": "no", "gps_code": "KMYF", "iata_code": "MYF", "local_code": "MYF"},
    {"id": "3874", "ident": "KSDM", "type": "medium_airport",
     "name": "Brown Field Municipal Airport", "latitude_deg": "32.572299957275",
     "longitude_deg": "-116.98000335693", "elevation_ft": "526", "continent": "NA",
     "iso_country": "US", "iso_region": "US-CA", "municipality": "San Diego",
     "scheduled_service": "no", "gps_code": "KSDM", "iata_code": "SDM", "local_code": "SDM"},
)  # fmt: skip

# OurAirports runways.csv columns, in file order.
RUNWAY_COLUMNS: Final[tuple[str, ...]] = (
    "id", "airport_ref", "airport_ident", "length_ft", "width_ft", "surface", "lighted",
    "closed", "le_ident", "le_latitude_deg", "le_longitude_deg", "le_elevation_ft",
    "le_heading_degT", "le_displaced_threshold_ft", "he_ident", "he_latitude_deg",
    "he_longitude_deg", "he_elevation_ft", "he_heading_degT", "he_displaced_threshold_ft",
)  # fmt: skip

# Text columns (quoted in OurAirports CSV); the others are numbers.
RUNWAY_TEXT_COLUMNS: Final[frozenset[str]] = frozenset(
    {"airport_ident", "surface", "le_ident", "he_ident"}
)
AIRPORT_TEXT_COLUMNS: Final[frozenset[str]] = frozenset(
    {"ident", "type", "name", "continent", "iso_country", "iso_region", "municipality",
     "scheduled_service", "gps_code", "iata_code", "local_code"}
)  # fmt: skip

# fmt: off
_RUNWAY_ROWS: Final[tuple[tuple[str | None, ...], ...]] = (
    ("240187", "20589", "KMYF", "3400", "75", "ASP", "0", "0", "05", "32.814856", "-117.146029",
     "417", "65", "389", "23", "32.818812", "-117.135995", "425", "245", None),
    ("240189", "20589", "KMYF", "4598", "150", "ASP", "1", "0", "10L", "32.818172", "-117.144698",
     "414", "115", None, "28R", "32.81283", "-117.131134", "422", "295", None),
    ("240188", "20589", "KMYF", "3401", "60", "ASP", "1", "0", "10R", "32.816923", "-117.14539",
     "414", "115", None, "28L", "32.812977", "-117.135357", "421", "295", None),
    ("608943", "3733", "KNKX", "1000", "100", "concrete", "1", "0", "06H", "32.863325",
     "-117.130082", None, None, None, "24H", "32.864012", "-117.126928", None, None, None),
    ("241176", "3733", "KNKX", "12000", "200", "CON", "1", "0", "06L", "32.864566", "-117.164848",
     "425", "75", None, "24R", "32.872875", "-117.127031", "475", "255", None),
    ("241175", "3733", "KNKX", "8001", "200", "PEM", "1", "0", "06R", "32.865474", "-117.151675",
     "430", "75", None, "24L", "32.871013", "-117.126455", "478", "255", None),
    ("241177", "3733", "KNKX", "2800", "200", "CON", "1", "1", "10", "32.868401", "-117.136002",
     "461", "111", None, "28", "32.8657", "-117.126999", "473", "291", None),
    ("242338", "3743", "KNZY", "7501", "200", "PEM", "1", "0", "11", "32.70230103", "-117.2210007",
     "19", "122", None, "29", "32.69139862", "-117.2009964", "26", "302", None),
    ("242339", "3743", "KNZY", "8001", "200", "PEM", "1", "0", "18", "32.70999908", "-117.211998",
     "19", "195.5", None, "36", "32.68880081", "-117.2190018", "10", "15.5", None),
    ("244186", "3862", "KSAN", "9401", "200", "ASP", "1", "0", "09", "32.737129", "-117.204371",
     "14", "106", "1000", "27", "32.730004", "-117.17499", "13", "286", "1806"),
    ("242992", "3874", "KSDM", "7972", "150", "PEM", "1", "0", "08L", "32.57379913330078",
     "-116.99299621582031", "526", "95.6", None, "26R", "32.57170104980469",
     "-116.96800231933594", "508", "275.6", None),
    ("242991", "3874", "KSDM", "3185", "75", "ASP", "0", "0", "08R", "32.57160187",
     "-116.9840012", "521", "95.6", None, "26L", "32.5707016", "-116.973999", "505", "275.6",
     None),
)
# fmt: on

RUNWAYS: Final[tuple[dict[str, str | None], ...]] = tuple(
    dict(zip(RUNWAY_COLUMNS, row, strict=True)) for row in _RUNWAY_ROWS
)


def runway_ends() -> tuple[tuple[float, float, float, float], ...]:
    """Runway end coordinates ``(le_lon, le_lat, he_lon, he_lat)``, degrees."""
    return tuple(
        (
            float(str(r["le_longitude_deg"])),
            float(str(r["le_latitude_deg"])),
            float(str(r["he_longitude_deg"])),
            float(str(r["he_latitude_deg"])),
        )
        for r in RUNWAYS
    )


# HIFLD hospital columns kept in hospitals.geojson, in this order.
HOSPITAL_COLUMNS: Final[tuple[str, ...]] = (
    "NAME", "ADDRESS", "CITY", "TYPE", "STATUS", "BEDS", "OWNER", "TRAUMA", "HELIPAD",
    "LATITUDE", "LONGITUDE",
)  # fmt: skip

# fmt: off
_HOSPITAL_ROWS: Final[tuple[tuple[str | int | float, ...], ...]] = (
    ("KAISER FND HOSP - SAN DIEGO", "4647 ZION AVENUE", "SAN DIEGO", "GENERAL ACUTE CARE",
     "OPEN", 414, "NON-PROFIT", "NOT AVAILABLE", "N", 32.7915625750001, -117.095159549),
    ("SHARP MEMORIAL HOSPITAL", "7901 FROST STREET", "SAN DIEGO", "GENERAL ACUTE CARE", "OPEN",
     656, "NON-PROFIT", "LEVEL II", "Y", 32.799284347, -117.154472839),
    ("SCRIPPS MERCY HOSPITAL", "4077 FIFTH AVENUE", "SAN DIEGO", "GENERAL ACUTE CARE", "OPEN",
     501, "NON-PROFIT", "LEVEL I", "Y", 32.7514306150001, -117.160053593),
    ("UC SAN DIEGO HEALTH HILLCREST - HILLCREST MEDICAL CENTER", "200 WEST ARBOR DRIVE",
     "SAN DIEGO", "GENERAL ACUTE CARE", "OPEN", 390, "NON-PROFIT", "LEVEL I", "Y",
     32.754770233, -117.165731384),
    ("GROSSMONT HOSPITAL", "5555 GROSSMONT CENTER DRIVE", "LA MESA", "GENERAL ACUTE CARE",
     "OPEN", 528, "NON-PROFIT", "NOT AVAILABLE", "Y", 32.7805704360001, -117.006781525),
    ("SHARP CHULA VISTA MEDICAL CENTER", "751 MEDICAL CENTER COURT", "CHULA VISTA",
     "GENERAL ACUTE CARE", "OPEN", 343, "NON-PROFIT", "NOT AVAILABLE", "N", 32.6189760670001,
     -117.023185612),
    ("SCRIPPS MERCY HOSPITAL - CHULA VISTA", "435 H STREET", "CHULA VISTA",
     "GENERAL ACUTE CARE", "OPEN", 183, "NON-PROFIT", "NOT AVAILABLE", "N", 32.6337464600001,
     -117.083258728),
    ("PARADISE VALLEY HOSPITAL", "2400 EAST FOURTH STREET", "NATIONAL CITY",
     "GENERAL ACUTE CARE", "OPEN", 227, "PROPRIETARY", "NOT AVAILABLE", "N", 32.6853405530001,
     -117.082336705),
    ("SCRIPPS MEMORIAL HOSPITAL - LA JOLLA", "9888 GENESEE AVENUE", "LA JOLLA",
     "GENERAL ACUTE CARE", "OPEN", 444, "NON-PROFIT", "LEVEL II", "Y", 32.8851845070001,
     -117.225460206),
    ("ALVARADO HOSPITAL MEDICAL CENTER", "6655 ALVARADO ROAD", "SAN DIEGO",
     "GENERAL ACUTE CARE", "OPEN", 226, "PROPRIETARY", "NOT AVAILABLE", "N", 32.7765863870001,
     -117.057064596),
    ("RADY CHILDREN'S HOSPITAL - SAN DIEGO", "3020 CHILDREN'S WAY", "SAN DIEGO", "CHILDREN",
     "OPEN", 522, "NON-PROFIT", "LEVEL II PEDIATRIC", "Y", 32.7979585250001, -117.151301032),
    ("NAVAL MEDICAL CENTER SAN DIEGO", "34800 BOB WILSON DR", "SAN DIEGO", "MILITARY", "OPEN",
     -999, "GOVERNMENT - FEDERAL", "NOT AVAILABLE", "Y", 32.7275202280001, -117.145937292),
)
# fmt: on

HOSPITALS: Final[tuple[dict[str, str | int | float], ...]] = tuple(
    dict(zip(HOSPITAL_COLUMNS, row, strict=True)) for row in _HOSPITAL_ROWS
)

# NSHM23 fault-section attributes kept in faults.geojson, in this order.
FAULT_COLUMNS: Final[tuple[str, ...]] = (
    "FaultID", "FaultName", "DipDeg", "Rake", "LowDepth", "UpDepth",
)  # fmt: skip


@dataclass(frozen=True)
class FaultSection:
    """One NSHM23 fault section: attributes (named as NSHM23 columns) and trace."""

    FaultID: int
    FaultName: str
    DipDeg: int
    Rake: int
    LowDepth: float
    UpDepth: float
    trace: tuple[tuple[float, float], ...]

    def attributes(self) -> dict[str, int | float | str]:
        """The attribute columns of :data:`FAULT_COLUMNS`."""
        return {c: getattr(self, c) for c in FAULT_COLUMNS}


# fmt: off
FAULTS: Final[tuple[FaultSection, ...]] = (
    FaultSection(234, "Rose Canyon", 90, 180, 7.7, 0.0, (
        (-117.14623, 32.53385), (-117.15052, 32.60327), (-117.16544, 32.64777),
        (-117.16209, 32.70989), (-117.17044, 32.72904), (-117.1976, 32.75951),
        (-117.20996, 32.80108), (-117.24129, 32.83548), (-117.26357, 32.85454),
        (-117.29432514704125, 32.93672288506928), (-117.32515, 33.01888),
        (-117.399, 33.105), (-117.41, 33.124), (-117.42485, 33.14787), (-117.4288, 33.15559),
    )),
    FaultSection(55, "Coronado Bank", 90, 180, 8.6, 0.0, (
        (-117.6257, 33.00228), (-117.57043, 32.9228), (-117.53117, 32.88249),
        (-117.52, 32.8655), (-117.4705, 32.81587), (-117.433, 32.7235),
        (-117.38846, 32.67916), (-117.344, 32.6238), (-117.315, 32.594),
        (-117.298, 32.5519), (-117.266, 32.4949), (-117.19451175810329, 32.394258190230445),
        (-117.12321977894743, 32.293546550039764), (-117.05212333572342, 32.19276499597305),
        (-116.98122170472386, 32.091913443510585), (-116.9105141653302, 31.99099180706871),
        (-116.84, 31.89),
    )),
)
# fmt: on

# Margin (degrees) around REGION_BBOX to which fault traces are clipped.
FAULT_CLIP_MARGIN_DEG: Final[float] = 0.1
