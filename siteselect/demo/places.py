"""Hand-placed, approximate place knowledge that shapes the synthetic layers.

All coordinates are (longitude, latitude), degrees, from general knowledge of
San Diego, good to a few hundred metres at best. They steer where the synthetic
generator puts dense streets, industry, canyons, vacant land and wealth; none
of it is an official boundary.
"""

from __future__ import annotations

from typing import Final

# Community labels for parcel situs names: (name, lon, lat). Nearest wins.
# fmt: off
COMMUNITIES: Final[tuple[tuple[str, float, float], ...]] = (
    ("La Jolla", -117.272, 32.842), ("Torrey Pines", -117.243, 32.905),
    ("Del Mar Heights", -117.240, 32.950), ("Carmel Valley", -117.212, 32.943),
    ("Pacific Highlands Ranch", -117.190, 32.952), ("Del Mar Mesa", -117.165, 32.935),
    ("University City", -117.215, 32.865), ("Sorrento Valley", -117.200, 32.900),
    ("Mira Mesa", -117.145, 32.915), ("Rancho Penasquitos", -117.115, 32.950),
    ("Sabre Springs", -117.085, 32.950), ("Scripps Ranch", -117.090, 32.905),
    ("Pacific Beach", -117.240, 32.800), ("Mission Beach", -117.252, 32.775),
    ("Clairemont", -117.195, 32.830), ("Bay Park", -117.205, 32.785),
    ("Linda Vista", -117.170, 32.785), ("Kearny Mesa", -117.140, 32.830),
    ("Serra Mesa", -117.135, 32.805), ("Tierrasanta", -117.090, 32.825),
    ("Mission Valley", -117.150, 32.770), ("Ocean Beach", -117.245, 32.745),
    ("Point Loma", -117.240, 32.715), ("Midway", -117.205, 32.752),
    ("Old Town", -117.193, 32.756), ("Mission Hills", -117.180, 32.750),
    ("Hillcrest", -117.163, 32.750), ("Downtown", -117.160, 32.715),
    ("Golden Hill", -117.140, 32.720), ("North Park", -117.130, 32.745),
    ("Normal Heights", -117.115, 32.765), ("City Heights", -117.100, 32.745),
    ("Kensington", -117.100, 32.765), ("Grantville", -117.095, 32.790),
    ("Allied Gardens", -117.080, 32.800), ("San Carlos", -117.040, 32.805),
    ("Del Cerro", -117.065, 32.790), ("College Area", -117.070, 32.770),
    ("Rolando", -117.060, 32.755), ("La Mesa", -117.020, 32.765),
    ("Lemon Grove", -117.035, 32.740), ("Encanto", -117.065, 32.715),
    ("Southeastern San Diego", -117.100, 32.700), ("Barrio Logan", -117.140, 32.695),
    ("Logan Heights", -117.125, 32.705), ("Paradise Hills", -117.060, 32.680),
    ("National City", -117.100, 32.675), ("Bonita", -117.035, 32.660),
    ("Chula Vista", -117.080, 32.635), ("Eastlake", -116.975, 32.640),
    ("Otay Ranch", -116.970, 32.615), ("Otay Mesa", -116.985, 32.565),
    ("Otay Mesa West", -117.035, 32.575), ("San Ysidro", -117.040, 32.553),
    ("Nestor", -117.080, 32.570), ("Imperial Beach", -117.115, 32.580),
    ("Coronado", -117.180, 32.685), ("Silver Strand", -117.140, 32.630),
    ("Spring Valley", -116.990, 32.730), ("Casa de Oro", -116.970, 32.760),
    ("Mount Helix", -116.985, 32.765), ("El Cajon", -116.960, 32.795),
    ("Fletcher Hills", -116.995, 32.805), ("Granite Hills", -116.925, 32.800),
    ("Santee", -116.980, 32.850), ("Winter Gardens", -116.930, 32.835),
    ("Lakeside", -116.920, 32.860), ("Rancho San Diego", -116.930, 32.745),
    ("Jamacha", -116.950, 32.705), ("East Elliott", -117.015, 32.860),
    ("Fanita Ranch", -116.985, 32.890), ("Miramar", -117.150, 32.885),
)

# Urbanity bumps: (lon, lat, sigma_km, weight); combined as 1 - prod(1 - w k).
URBAN_CENTRES: Final[tuple[tuple[float, float, float, float], ...]] = (
    (-117.160, 32.718, 2.5, 1.00), (-117.118, 32.748, 3.5, 0.90),
    (-117.150, 32.772, 2.0, 0.75), (-117.075, 32.635, 3.5, 0.80),
    (-117.100, 32.677, 3.0, 0.80), (-116.960, 32.795, 3.0, 0.75),
    (-117.025, 32.762, 3.0, 0.60), (-117.240, 32.800, 2.0, 0.70),
    (-117.215, 32.870, 2.2, 0.70), (-117.190, 32.825, 3.0, 0.60),
    (-117.145, 32.915, 2.5, 0.60), (-117.040, 32.556, 1.8, 0.65),
    (-117.115, 32.580, 1.8, 0.55), (-116.985, 32.845, 2.5, 0.50),
    (-117.070, 32.770, 2.5, 0.60), (-117.065, 32.705, 3.0, 0.60),
    (-117.180, 32.750, 1.5, 0.70), (-117.250, 32.745, 1.5, 0.55),
    (-117.270, 32.840, 1.5, 0.50), (-117.180, 32.685, 1.2, 0.60),
    (-116.990, 32.730, 2.5, 0.50), (-117.090, 32.825, 2.0, 0.45),
    (-117.115, 32.950, 2.5, 0.45), (-116.975, 32.630, 2.5, 0.50),
)

# Industrial districts: (lon, lat, radius_km).
INDUSTRIAL_ZONES: Final[tuple[tuple[float, float, float], ...]] = (
    (-117.140, 32.832, 1.8), (-117.195, 32.893, 1.8), (-116.970, 32.560, 2.5),
    (-117.140, 32.690, 1.2), (-117.200, 32.762, 0.9), (-116.975, 32.830, 1.4),
    (-117.115, 32.660, 1.0), (-117.060, 32.815, 0.9), (-117.100, 32.620, 0.9),
    (-117.160, 32.890, 1.4), (-116.950, 32.810, 0.8),
)

# Where large vacant lots cluster: (lon, lat, sigma_km, weight, why).
VACANT_HOTSPOTS: Final[tuple[tuple[float, float, float, float, str], ...]] = (
    (-116.975, 32.560, 2.5, 1.00, "Otay Mesa, by Brown Field and the border"),
    (-116.955, 32.610, 2.5, 0.80, "Otay Ranch"),
    (-117.030, 32.568, 1.8, 0.60, "Otay Mesa West, near the border"),
    (-116.975, 32.880, 2.5, 0.90, "Fanita Ranch / north Santee"),
    (-117.020, 32.858, 1.8, 0.70, "East Elliott"),
    (-116.915, 32.845, 2.0, 0.60, "Lakeside / Winter Gardens"),
    (-116.915, 32.790, 2.0, 0.50, "El Cajon hills"),
    (-116.925, 32.722, 2.5, 0.70, "Rancho San Diego / Jamacha"),
    (-117.165, 32.897, 1.8, 0.70, "Mira Mesa / Carroll Canyon, by MCAS Miramar"),
    (-117.128, 32.826, 1.2, 0.60, "Kearny Mesa, by Montgomery Field"),
    (-117.180, 32.940, 2.5, 0.70, "Del Mar Mesa / Pacific Highlands Ranch"),
    (-117.085, 32.935, 2.0, 0.60, "Scripps Ranch / Sabre Springs fringe"),
    (-117.222, 32.856, 1.2, 0.60, "Rose Canyon / University City, on the fault"),
    (-117.205, 32.782, 1.0, 0.45, "Bay Park / Morena, near the fault"),
    (-117.203, 32.753, 0.9, 0.55, "Midway, near the fault and San Diego International"),
    (-117.100, 32.625, 1.2, 0.50, "Chula Vista bayfront"),
    (-117.020, 32.665, 1.8, 0.40, "Sweetwater / Bonita"),
    (-117.075, 32.842, 1.2, 0.40, "Tierrasanta fringe"),
)

# Demography anchors: (name, lon, lat, median household income k$, share 65+,
# persons per household). Interpolated by inverse distance to the 4th power.
DEMOGRAPHY_ANCHORS: Final[tuple[tuple[str, float, float, float, float, float], ...]] = (
    ("La Jolla", -117.272, 32.842, 150, 0.24, 2.2),
    ("Del Mar Heights", -117.245, 32.950, 170, 0.18, 2.7),
    ("Carmel Valley", -117.212, 32.943, 180, 0.11, 3.0),
    ("UTC", -117.220, 32.872, 95, 0.10, 2.3),
    ("Point Loma", -117.240, 32.720, 140, 0.22, 2.4),
    ("Coronado", -117.180, 32.685, 135, 0.25, 2.3),
    ("Mission Hills", -117.180, 32.750, 115, 0.17, 2.0),
    ("Pacific Beach", -117.240, 32.800, 95, 0.10, 2.1),
    ("Clairemont", -117.190, 32.825, 105, 0.16, 2.6),
    ("Scripps Ranch", -117.090, 32.905, 165, 0.15, 2.9),
    ("Mira Mesa", -117.145, 32.915, 112, 0.13, 3.0),
    ("Rancho Penasquitos", -117.115, 32.950, 140, 0.15, 3.0),
    ("Tierrasanta", -117.090, 32.825, 125, 0.12, 2.8),
    ("Kensington", -117.100, 32.765, 110, 0.17, 2.3),
    ("Downtown", -117.160, 32.715, 100, 0.12, 1.7),
    ("North Park", -117.130, 32.745, 82, 0.09, 1.9),
    ("City Heights", -117.100, 32.745, 48, 0.09, 3.1),
    ("Barrio Logan", -117.140, 32.695, 42, 0.10, 3.2),
    ("Encanto", -117.065, 32.710, 68, 0.14, 3.3),
    ("National City", -117.100, 32.675, 55, 0.13, 3.2),
    ("Chula Vista", -117.080, 32.635, 72, 0.15, 3.1),
    ("Eastlake", -116.970, 32.630, 128, 0.10, 3.3),
    ("San Ysidro", -117.040, 32.555, 50, 0.12, 3.5),
    ("Imperial Beach", -117.115, 32.580, 62, 0.12, 2.8),
    ("El Cajon", -116.960, 32.795, 55, 0.14, 2.9),
    ("La Mesa", -117.020, 32.765, 85, 0.18, 2.3),
    ("Santee", -116.980, 32.850, 100, 0.15, 2.8),
    ("Mount Helix", -116.985, 32.765, 135, 0.24, 2.7),
    ("Spring Valley", -116.990, 32.730, 88, 0.15, 3.1),
    ("Lemon Grove", -117.035, 32.740, 75, 0.14, 3.0),
    ("Mission Valley", -117.150, 32.772, 95, 0.10, 1.9),
    ("Linda Vista", -117.170, 32.785, 70, 0.13, 2.6),
    ("Allied Gardens", -117.065, 32.800, 108, 0.18, 2.4),
    ("College Area", -117.070, 32.770, 62, 0.08, 2.6),
    ("Paradise Hills", -117.060, 32.680, 88, 0.17, 3.3),
    ("Bonita", -117.035, 32.660, 118, 0.21, 2.9),
    ("Otay Mesa", -116.990, 32.565, 78, 0.09, 3.6),
    ("Rancho San Diego", -116.930, 32.745, 122, 0.19, 2.9),
    ("Lakeside", -116.920, 32.860, 90, 0.17, 2.7),
    ("Otay Ranch", -116.965, 32.612, 125, 0.09, 3.4),
)

# Parks and reserves where no local streets run (arterials still cross):
# (name, ring of lon/lat).
OPEN_SPACE_AREAS: Final[tuple[tuple[str, tuple[tuple[float, float], ...]], ...]] = (
    ("Balboa Park", ((-117.1570, 32.7235), (-117.1370, 32.7235), (-117.1365, 32.7300),
                     (-117.1420, 32.7420), (-117.1570, 32.7420))),
    ("Mission Trails Regional Park", ((-117.0720, 32.8060), (-117.0470, 32.8010),
                                      (-117.0230, 32.8120), (-117.0180, 32.8330),
                                      (-117.0400, 32.8370), (-117.0700, 32.8330))),
    ("Torrey Pines State Natural Reserve", ((-117.2600, 32.9000), (-117.2470, 32.9000),
                                            (-117.2440, 32.9330), (-117.2600, 32.9380))),
    ("Tijuana River Valley Regional Park", ((-117.1250, 32.5350), (-117.0620, 32.5400),
                                            (-117.0620, 32.5540), (-117.0900, 32.5590),
                                            (-117.1250, 32.5590))),
    ("Sweetwater Regional Park", ((-117.0200, 32.6760), (-116.9650, 32.6760),
                                  (-116.9600, 32.7180), (-117.0200, 32.7180))),
    ("Otay Lakes", ((-116.9420, 32.6050), (-116.8850, 32.6200), (-116.8850, 32.6520),
                    (-116.9250, 32.6660), (-116.9450, 32.6500))),
    ("Mount Soledad", ((-117.2560, 32.8330), (-117.2440, 32.8330), (-117.2440, 32.8430),
                       (-117.2560, 32.8430))),
)

# Canyons and river corridors: (name, centre line of lon/lat, width in metres).
CANYONS: Final[tuple[tuple[str, tuple[tuple[float, float], ...], float], ...]] = (
    ("Los Penasquitos Canyon", ((-117.2200, 32.9050), (-117.1900, 32.9200),
                                (-117.1500, 32.9330), (-117.1200, 32.9420)), 500.0),
    ("Rose Canyon", ((-117.2280, 32.8480), (-117.2050, 32.8520), (-117.1850, 32.8620)), 300.0),
    ("San Clemente Canyon", ((-117.2250, 32.8360), (-117.1850, 32.8350)), 260.0),
    ("Tecolote Canyon", ((-117.2010, 32.7700), (-117.1850, 32.7850), (-117.1750, 32.8000),
                         (-117.1700, 32.8200)), 380.0),
    ("Chollas Creek", ((-117.1200, 32.7000), (-117.0900, 32.7150), (-117.0700, 32.7350)), 220.0),
    ("Otay River Valley", ((-117.1100, 32.5900), (-117.0700, 32.5900), (-117.0300, 32.5950),
                           (-116.9900, 32.6000), (-116.9600, 32.6100)), 600.0),
    ("Sweetwater River", ((-117.1000, 32.6550), (-117.0600, 32.6650), (-117.0300, 32.6700),
                          (-117.0150, 32.6800)), 400.0),
    ("Carroll Canyon", ((-117.2050, 32.8830), (-117.1700, 32.8880), (-117.1300, 32.8930)), 250.0),
    ("San Diego River", ((-117.1950, 32.7620), (-117.1600, 32.7640), (-117.1250, 32.7700),
                         (-117.1000, 32.7850), (-117.0700, 32.8000)), 150.0),
)
# fmt: on
