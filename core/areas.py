"""Where a place is: the area of a prefecture, for checking that a point a provider gives lies in it.

Each prefecture's area is its bounding box (緯度 south to north, 経度 west to east), in decimal degrees on
JGD2011 (the same as WGS 84 at this precision), rounded outward to 0.01° so that every point of the
prefecture lies inside. The extremes are those of the Geospatial Information Authority of Japan's table
「都道府県の東西南北端点の経緯度（世界測地系）」 (国土地理院), which gives each
prefecture's easternmost, westernmost, southernmost and northernmost points, its islands included (東京都
reaches 沖ノ鳥島 and 南鳥島, 島根県 竹島). They were transcribed from a published copy of that table into
decimal degrees; the 国土数値情報 行政区域 (N03) polygons would be the exact boundary and are not shipped.

A box is honest about what it checks: a point outside it is certainly outside the prefecture (Seoul is
outside Kumamoto's box), a point inside it may still be in a neighbouring prefecture or at sea. No
municipality's boundary is shipped, so no check is made at the municipality's level (:data:`MUNICIPAL_BOUNDARIES`).
"""

from __future__ import annotations

from typing import NamedTuple

from core import codes


class Box(NamedTuple):
    """A prefecture's bounding box: its name and its south, north, west and east edges in degrees."""

    name_ja: str
    south: float
    north: float
    west: float
    east: float

    def contains(self, latitude: float, longitude: float) -> bool:
        return self.south <= latitude <= self.north and self.west <= longitude <= self.east

    @property
    def extent(self) -> str:
        """緯度 32.09〜33.20・経度 129.94〜131.33."""
        return f"緯度 {self.south:.2f}〜{self.north:.2f}・経度 {self.west:.2f}〜{self.east:.2f}"

    @property
    def extent_en(self) -> str:
        return f"latitude {self.south:.2f} to {self.north:.2f}, longitude {self.west:.2f} to {self.east:.2f}"


# The prefecture number (the first two digits of a 全国地方公共団体コード) -> its box (see the module's docstring).
PREFECTURE_BOXES: dict[str, Box] = {
    "01": Box("北海道", 41.35, 45.56, 139.33, 148.90),
    "02": Box("青森県", 40.21, 41.56, 139.49, 141.69),
    "03": Box("岩手県", 38.74, 40.46, 140.65, 142.08),
    "04": Box("宮城県", 37.77, 39.01, 140.27, 141.68),
    "05": Box("秋田県", 38.87, 40.52, 139.69, 141.00),
    "06": Box("山形県", 37.73, 39.21, 139.52, 140.65),
    "07": Box("福島県", 36.79, 37.98, 139.16, 141.05),
    "08": Box("茨城県", 35.73, 36.95, 139.68, 140.86),
    "09": Box("栃木県", 36.19, 37.16, 139.32, 140.30),
    "10": Box("群馬県", 35.98, 37.06, 138.39, 139.67),
    "11": Box("埼玉県", 35.75, 36.29, 138.71, 139.91),
    "12": Box("千葉県", 34.89, 36.11, 139.73, 140.88),
    "13": Box("東京都", 20.42, 35.90, 136.06, 153.99),
    "14": Box("神奈川県", 35.12, 35.68, 138.91, 139.80),
    "15": Box("新潟県", 36.73, 38.56, 137.63, 139.90),
    "16": Box("富山県", 36.27, 36.99, 136.76, 137.77),
    "17": Box("石川県", 36.06, 37.86, 136.24, 137.37),
    "18": Box("福井県", 35.34, 36.30, 135.44, 136.84),
    "19": Box("山梨県", 35.16, 35.98, 138.18, 139.14),
    "20": Box("長野県", 35.19, 37.04, 137.32, 138.74),
    "21": Box("岐阜県", 35.13, 36.47, 136.27, 137.66),
    "22": Box("静岡県", 34.57, 35.65, 137.47, 139.18),
    "23": Box("愛知県", 34.57, 35.43, 136.67, 137.84),
    "24": Box("三重県", 33.72, 35.26, 135.85, 136.99),
    "25": Box("滋賀県", 34.79, 35.71, 135.76, 136.46),
    "26": Box("京都府", 34.70, 35.78, 134.85, 136.06),
    "27": Box("大阪府", 34.27, 35.06, 135.09, 135.75),
    "28": Box("兵庫県", 34.15, 35.68, 134.25, 135.47),
    "29": Box("奈良県", 33.85, 34.79, 135.53, 136.23),
    "30": Box("和歌山県", 33.43, 34.39, 134.99, 136.02),
    "31": Box("鳥取県", 35.05, 35.62, 133.13, 134.52),
    "32": Box("島根県", 34.30, 37.25, 131.66, 133.39),
    "33": Box("岡山県", 34.29, 35.36, 133.26, 134.42),
    "34": Box("広島県", 34.03, 35.11, 132.03, 133.48),
    "35": Box("山口県", 33.71, 34.80, 130.77, 132.50),
    "36": Box("徳島県", 33.53, 34.26, 133.66, 134.83),
    "37": Box("香川県", 34.01, 34.57, 133.44, 134.45),
    "38": Box("愛媛県", 32.88, 34.31, 132.01, 133.70),
    "39": Box("高知県", 32.70, 33.89, 132.47, 134.32),
    "40": Box("福岡県", 33.00, 34.25, 129.98, 131.20),
    "41": Box("佐賀県", 32.95, 33.62, 129.73, 130.55),
    "42": Box("長崎県", 31.98, 34.73, 128.10, 130.39),
    "43": Box("熊本県", 32.09, 33.20, 129.94, 131.33),
    "44": Box("大分県", 32.71, 33.75, 130.82, 132.18),
    "45": Box("宮崎県", 31.36, 32.84, 130.70, 131.89),
    "46": Box("鹿児島県", 27.01, 32.32, 128.39, 131.21),
    "47": Box("沖縄県", 24.04, 27.89, 122.93, 131.34),
}

# Municipal boundaries renkei ships: none (the 行政区域 polygons are not shipped). A point is checked against its
# prefecture only, and the verdict says so.
MUNICIPAL_BOUNDARIES: dict[str, Box] = {}


def prefecture_box(code: str | None) -> Box | None:
    """The box of the prefecture a local-government code is in (430005 and 431001 -> 熊本県), or None."""
    if not code or len(code) < 2 or not code[:2].isdigit():
        return None
    return PREFECTURE_BOXES.get(codes.prefecture_of(code))
