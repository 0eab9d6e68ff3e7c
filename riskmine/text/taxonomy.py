"""The product category tree (categories.tsv): names, codes, parents, aliases, and an automaton over them."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from riskmine.text.matching import TermIndex, case_variants
from riskmine.text.tsv import Row, read_tsv, split_aliases


@dataclass(frozen=True)
class Category:
    name: str
    code: str
    parent: str | None  # parent code
    aliases: tuple[str, ...]
    kind: str  # "product" or "service"
    path: tuple[str, ...] = ()  # names from the root down to this one

    @property
    def depth(self) -> int:
        return len(self.path)

    @property
    def is_product(self) -> bool:
        return self.kind == "product"


class Taxonomy:
    """The product category tree and an automaton over every category's surface terms."""

    def __init__(self, categories: Sequence[Category]) -> None:
        self.by_name = {c.name: c for c in categories}
        self.by_code = {c.code: c for c in categories}
        terms: dict[str, str] = {}
        for c in categories:
            for term in (c.name, *c.aliases):
                for variant in case_variants(term):
                    terms.setdefault(variant, c.name)
        self.index: TermIndex[str] = TermIndex(terms)

    def __len__(self) -> int:
        return len(self.by_name)

    def __iter__(self) -> Iterator[Category]:
        return iter(self.by_name.values())

    def get(self, name_or_code: str) -> Category | None:
        return self.by_name.get(name_or_code) or self.by_code.get(name_or_code)

    def ancestors(self, name: str) -> list[Category]:
        """The category and its ancestors, most specific first."""
        cat = self.by_name.get(name)
        return [self.by_name[n] for n in reversed(cat.path)] if cat else []

    def lookup(self, term: str) -> Category | None:
        """The category whose name or alias is exactly ``term``."""
        name = self.index.get(term.strip())
        return self.by_name[name] if name else None


def load_categories(path: Path) -> Taxonomy:
    rows = read_tsv(path, ["name", "code", "parent", "aliases", "kind"])
    raw: dict[str, tuple[Row, Category]] = {}
    names: dict[str, int] = {}
    owner: dict[str, tuple[str, int]] = {}
    for row in rows:
        name, code = row["name"], row["code"]
        if not re.fullmatch(r"[a-z][a-z0-9_]*", code):
            raise row.error(f"code {code!r} must be lower-case ascii letters, digits and _")
        if code in raw:
            raise row.error(f"duplicate code {code!r} (first at row {raw[code][0].line})")
        if name in names:
            raise row.error(f"duplicate category name {name!r} (first at row {names[name]})")
        kind = row["kind"] or "product"
        if kind not in ("product", "service"):
            raise row.error(f"kind must be product or service, got {kind!r}")
        aliases = tuple(a for a in split_aliases(row["aliases"]) if a != name)
        for term in (name, *aliases):
            if len(term) < 2:
                raise row.error(f"term {term!r} is shorter than 2 characters (too ambiguous to match)")
            if term in owner and owner[term][0] != name:
                raise row.error(f"term {term!r} already belongs to {owner[term][0]!r} (row {owner[term][1]})")
            owner[term] = (name, row.line)
        names[name] = row.line
        raw[code] = (row, Category(name, code, row["parent"] or None, aliases, kind))
    resolved: dict[str, Category] = {}

    def resolve(code: str, seen: tuple[str, ...]) -> Category:
        if code in resolved:
            return resolved[code]
        row, cat = raw[code]
        if cat.parent is None:
            path: tuple[str, ...] = (cat.name,)
        else:
            if cat.parent not in raw:
                raise row.error(f"parent {cat.parent!r} is not a category code")
            if cat.parent in seen:
                raise row.error(f"parent chain of {code!r} loops through {cat.parent!r}")
            path = (*resolve(cat.parent, (*seen, code)).path, cat.name)
        resolved[code] = Category(cat.name, cat.code, cat.parent, cat.aliases, cat.kind, path)
        return resolved[code]

    return Taxonomy([resolve(code, ()) for code in raw])
