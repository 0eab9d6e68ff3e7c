"""A networkx ``DiGraph`` whose signal nodes live in compact arrays (issue 18: a million signals in bounded memory).

A plain ``DiGraph`` spends about 3.5 KB on a signal: its id, an attribute dict of interned strings, a successor
dict of ~10 entries each holding a fresh edge-data dict, and one entry in each target's predecessor dict.
:class:`CompactDiGraph` keeps each signal as one slot in parallel arrays: its day (an ordinal), source type and
flags (risk, failed spot check), its targets as entity codes in one shared ``array`` and, per entity, the slots
of the signals naming it (the first inline, more in an ``array``): about 250 bytes a signal. Entity nodes
(products, brands, enterprises, regions, hazards, ...) get a code, their type and label in arrays (other
attributes, rare, in a dict) and the edges among them in dicts sharing one read-only empty edge-data mapping.

Every read networkx makes (``G.nodes[n]``, ``G.successors``, ``G.predecessors``, ``G.degree``, ``G.has_edge``,
``G.edges``, ``subgraph_view``, ``to_undirected(as_view=True)``, the algorithms) goes through the mappings
below, which present the signal nodes as if they were stored: a signal's attributes are rebuilt on demand as a
read-only mapping (``type``, ``when``, ``source_type``, ``risk``, ``failed``, as before), its out-edges from its
targets, an entity's in-edges as its entity predecessors followed by its signals. Edges carry no data.

Changes go through :meth:`CompactDiGraph.add_node`, :meth:`~CompactDiGraph.add_edge` (entities) and
:meth:`~CompactDiGraph.set_signal` / :meth:`~CompactDiGraph.remove_signal`; each is recorded in
:attr:`CompactDiGraph.journal` while it is a list, so that the persisted graph can be brought up to date by
appending the changes (see :mod:`riskmine.knowledge_graph.graph`) instead of rewriting a million signals.
"""

from __future__ import annotations

import pickle
from array import array
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from types import MappingProxyType
from typing import Any, SupportsIndex

import networkx as nx

from riskmine.schema.errors import RiskmineError

SIGNAL = "signal:"
_P = len(SIGNAL)
RISK, FAILED = 1, 2  # flag bits

# The data of every signal edge and the predecessors of every signal: nothing, read-only.
NO_DATA: Mapping[str, Any] = MappingProxyType({})
_NONE: Mapping[str, Any] = MappingProxyType({})

# A journal entry: ("n", node, attrs) an entity node added or updated, ("e", u, v, attrs) an entity edge,
# ("s", signal id, day ordinal, source type, flags, target node ids) a signal set, ("r", signal id) one removed.
Op = tuple[Any, ...]


class CompactGraphError(RiskmineError, ValueError):
    """A change the compact graph cannot make (a signal node added as an entity, an edge out of a signal, ...)."""

    code = "graph_invalid"
    status = 500


def _is_signal(n: object) -> bool:
    return type(n) is str and n.startswith(SIGNAL)


class _Nodes(Mapping[str, Mapping[str, Any]]):
    """``G._node``: entity attribute dicts, then signals' attributes rebuilt read-only."""

    __slots__ = ("g",)

    def __init__(self, g: CompactDiGraph) -> None:
        self.g = g

    def __getitem__(self, n: str) -> Mapping[str, Any]:
        if _is_signal(n):
            i = self.g._sig_index.get(n[_P:])
            if i is None:
                raise KeyError(n)
            return self.g._signal_attrs(i)
        return self.g._entity_attrs(self.g._ent_code[n])

    def __contains__(self, n: object) -> bool:
        if _is_signal(n):
            return n[_P:] in self.g._sig_index  # type: ignore[index]
        return n in self.g._ent_code

    def __iter__(self) -> Iterator[str]:
        yield from self.g._ent_code
        for sid in self.g._sig_index:
            yield SIGNAL + sid

    def __len__(self) -> int:
        return len(self.g._ent_code) + len(self.g._sig_index)


class _Succ(_Nodes):
    """``G._succ`` (and ``G._adj``): an entity's successor dict; a signal's targets, rebuilt read-only."""

    __slots__ = ()

    def __getitem__(self, n: str) -> Mapping[str, Any]:
        if _is_signal(n):
            i = self.g._sig_index.get(n[_P:])
            if i is None:
                raise KeyError(n)
            ids = self.g._ent_ids
            return MappingProxyType({ids[c]: NO_DATA for c in self.g._targets(i)})
        nbrs = self.g._ent_succ.get(n)
        if nbrs is None:
            if n not in self.g._ent_code:
                raise KeyError(n)
            return _NONE
        return nbrs


class _Pred(_Nodes):
    """``G._pred``: a signal has none; an entity's are its entity predecessors, then the signals naming it."""

    __slots__ = ()

    def __getitem__(self, n: str) -> Mapping[str, Any]:
        if _is_signal(n):
            if n[_P:] not in self.g._sig_index:
                raise KeyError(n)
            return _NONE
        return _EntityPreds(self.g, n)


class _EntityPreds(Mapping[str, Mapping[str, Any]]):
    __slots__ = ("code", "ents", "g")

    def __init__(self, g: CompactDiGraph, n: str) -> None:
        self.g = g
        self.code = g._ent_code[n]
        self.ents = g._ent_pred.get(n, _NONE)

    def __getitem__(self, u: str) -> Mapping[str, Any]:
        if _is_signal(u):
            if u in self:
                return NO_DATA
            raise KeyError(u)
        return self.ents[u]

    def __contains__(self, u: object) -> bool:
        if _is_signal(u):
            i = self.g._sig_index.get(u[_P:])  # type: ignore[index]
            return i is not None and self.code in self.g._targets(i)
        return u in self.ents

    def __iter__(self) -> Iterator[str]:
        yield from self.ents
        ids = self.g._sig_ids
        for i in self.g._members(self.code):
            yield SIGNAL + ids[i]  # type: ignore[operator]

    def __len__(self) -> int:
        return len(self.ents) + self.g._member_count(self.code)


_SEP, _NONE_MARK = "\x00", "\x01"


def _pack(strings: list[str] | list[str | None]) -> tuple[str, int] | list[str | None]:
    """A list of strings (or None) as one string and its length, unless one holds the separator or the marker."""
    marked = [_NONE_MARK if x is None else x for x in strings]
    joined = _SEP.join(marked)
    nones = sum(1 for x in strings if x is None)
    if marked and (joined.count(_SEP) != len(marked) - 1 or marked.count(_NONE_MARK) != nones):
        return list(strings)
    return joined, len(marked)


def _unpack(packed: tuple[str, int] | list[str | None]) -> list[str | None]:
    if isinstance(packed, list):
        return packed
    joined, n = packed
    if not n:
        return []
    out: list[str | None] = list(joined.split(_SEP))
    if _NONE_MARK in joined:
        out = [None if x == _NONE_MARK else x for x in out]
    return out


def _array(typecode: str, value: Any) -> array[int]:
    """An array as pickled: itself, or its buffer's bytes (protocol 5)."""
    if isinstance(value, array):
        return value
    out = array(typecode)
    out.frombytes(value)
    return out


def _restore(state: dict[str, Any]) -> CompactDiGraph:
    g = CompactDiGraph.__new__(CompactDiGraph)
    g.__setstate__(state)
    return g


class CompactDiGraph(nx.DiGraph):
    """A DiGraph of entity nodes in dicts and signal nodes in arrays (see the module docstring)."""

    def __init__(self, incoming_graph_data: Any = None, **attr: Any) -> None:
        super().__init__(None, **attr)
        self._init_tables()
        if incoming_graph_data is not None:
            raise CompactGraphError("a CompactDiGraph is built with add_node, add_edge and set_signal")

    def _init_tables(self) -> None:
        # an entity's attributes: its type (a code into _types; 0 none), label, and any others (rare)
        self._ent_type = bytearray()
        self._ent_label: list[str | None] = []
        self._ent_extra: dict[int, dict[str, Any]] = {}
        self._types: list[str] = [""]
        self._type_code: dict[str, int] = {}
        # an entity's successors and entity predecessors, with the edge data (NO_DATA: edges carry none);
        # only for entities that have some (most products have no predecessor)
        self._ent_succ: dict[str, dict[str, Mapping[str, Any]]] = {}
        self._ent_pred: dict[str, dict[str, Mapping[str, Any]]] = {}
        self._ent_code: dict[str, int] = {}  # entity node id → code
        self._ent_ids: list[str] = []  # code → node id ("" once removed: codes are never reused)
        # code → slots of the signals naming the entity, in order set: the first inline (-1: none), the others
        # in an array only for entities with two or more (most products have one)
        self._ent_first = array("i")
        self._ent_more: dict[int, array[int]] = {}
        self._sig_index: dict[str, int] = {}  # signal id → slot
        self._sig_ids: list[str | None] = []  # slot → signal id (None once removed)
        self._sig_day = array("i")  # date ordinal
        self._sig_kind = bytearray()  # index into _kinds
        self._sig_flags = bytearray()
        self._sig_start = array("q")  # where the slot's targets start in _sig_data
        self._sig_len = array("H")
        self._sig_data = array("i")  # entity codes (a replaced signal's old targets stay as garbage)
        self._kinds: list[str] = []
        self._kind_code: dict[str, int] = {}
        self._days: dict[int, str] = {}
        self._sig_edges = 0
        self.journal: list[Op] | None = None
        self._node = _Nodes(self)
        self._succ = _Succ(self)
        self._pred = _Pred(self)

    # ------------------------------------------------------------------ reading helpers

    def _is_base(self) -> bool:
        """Whether this is the graph itself (not a networkx view built on it, whose mappings are filters)."""
        return isinstance(self.__dict__.get("_node"), _Nodes)

    def _targets(self, i: int) -> array[int]:
        start = self._sig_start[i]
        return self._sig_data[start : start + self._sig_len[i]]

    def _signal_attrs(self, i: int) -> Mapping[str, Any]:
        day = self._sig_day[i]
        when = self._days.get(day)
        if when is None:
            when = self._days[day] = date.fromordinal(day).isoformat()
        attrs: dict[str, Any] = {"type": "signal", "when": when, "source_type": self._kinds[self._sig_kind[i]]}
        flags = self._sig_flags[i]
        if flags & RISK:
            attrs["risk"] = True
        if flags & FAILED:
            attrs["failed"] = True
        return MappingProxyType(attrs)

    @property
    def signal_total(self) -> int:
        return len(self._sig_index)

    def entity_items(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """(node id, attributes) of every entity node, without walking the signals."""
        for n, c in self._ent_code.items():
            yield n, self._entity_attrs(c)

    def entity_ids(self) -> Iterator[str]:
        return iter(self._ent_code)

    def _entity_attrs(self, c: int) -> Mapping[str, Any]:
        attrs: dict[str, Any] = {}
        kind = self._ent_type[c]
        if kind:
            attrs["type"] = self._types[kind]
        label = self._ent_label[c]
        if label is not None:
            attrs["label"] = label
        extra = self._ent_extra.get(c)
        if extra:
            attrs.update(extra)
        return MappingProxyType(attrs)

    def _set_attrs(self, c: int, attr: dict[str, Any]) -> None:
        for k, v in attr.items():
            if k == "type" and isinstance(v, str) and v:
                kind = self._type_code.get(v)
                if kind is None:
                    if len(self._types) >= 256:
                        raise CompactGraphError(f"too many node types (at {v!r})")
                    kind = self._type_code[v] = len(self._types)
                    self._types.append(v)
                self._ent_type[c] = kind
            elif k == "label" and isinstance(v, str):
                self._ent_label[c] = v
            else:
                self._ent_extra.setdefault(c, {})[k] = v

    def entity_signal_count(self, n: str) -> int:
        """How many signals name the entity ``n``."""
        return self._member_count(self._ent_code[n])

    def signal_edge_counts(self) -> Iterator[tuple[str, int]]:
        """(entity node id, how many signals name it) for every entity."""
        for n, c in self._ent_code.items():
            yield n, self._member_count(c)

    def _members(self, c: int) -> Iterator[int]:
        first = self._ent_first[c]
        if first >= 0:
            yield first
            yield from self._ent_more.get(c, ())

    def _member_count(self, c: int) -> int:
        if self._ent_first[c] < 0:
            return 0
        more = self._ent_more.get(c)
        return 1 + (len(more) if more is not None else 0)

    def _add_member(self, c: int, i: int) -> None:
        if self._ent_first[c] < 0:
            self._ent_first[c] = i
        else:
            more = self._ent_more.get(c)
            if more is None:
                more = self._ent_more[c] = array("i")
            more.append(i)

    def _remove_member(self, c: int, i: int) -> None:
        more = self._ent_more.get(c)
        if self._ent_first[c] == i:
            self._ent_first[c] = more.pop(0) if more else -1
        elif more is not None:
            more.remove(i)
        if more is not None and not more:
            del self._ent_more[c]

    def entity_edges(self) -> Iterator[tuple[str, str]]:
        for u, nbrs in self._ent_succ.items():
            for v in nbrs:
                yield u, v

    def number_of_edges(self, u: Any = None, v: Any = None) -> int:
        if u is None and self._is_base():
            return sum(len(nbrs) for nbrs in self._ent_succ.values()) + self._sig_edges
        return int(super().number_of_edges(u, v))

    # ------------------------------------------------------------------ entity changes

    def add_node(self, node_for_adding: str, **attr: Any) -> None:
        n = node_for_adding
        if _is_signal(n):
            raise CompactGraphError(f"signal node {n!r}: set it with set_signal")
        c = self._ent_code.get(n)
        if c is None:
            c = self._ent_code[n] = len(self._ent_ids)
            self._ent_ids.append(n)
            self._ent_type.append(0)
            self._ent_label.append(None)
            self._ent_first.append(-1)
        elif not attr:
            return
        self._set_attrs(c, attr)
        if self.journal is not None:
            self.journal.append(("n", n, attr))
        nx._clear_cache(self)

    def add_nodes_from(self, nodes_for_adding: Iterable[Any], **attr: Any) -> None:
        for n in nodes_for_adding:
            if isinstance(n, tuple):
                self.add_node(n[0], **{**attr, **n[1]})
            else:
                self.add_node(n, **attr)

    def add_edge(self, u_of_edge: str, v_of_edge: str, **attr: Any) -> None:
        u, v = u_of_edge, v_of_edge
        if _is_signal(u) or _is_signal(v):
            raise CompactGraphError(f"edge {u!r} → {v!r}: a signal's edges are set with set_signal")
        for n in (u, v):
            if n not in self._ent_code:
                self.add_node(n)
        u, v = self._ent_ids[self._ent_code[u]], self._ent_ids[self._ent_code[v]]  # the stored strings, not copies
        succ = self._ent_succ.get(u)
        if succ is None:
            succ = self._ent_succ[u] = {}
        old = succ.get(v)
        if old is not None and not attr:
            return
        data: Mapping[str, Any] = {**(old or {}), **attr} if attr else NO_DATA
        succ[v] = data
        self._ent_pred.setdefault(v, {})[u] = data
        if self.journal is not None:
            self.journal.append(("e", u, v, attr))
        nx._clear_cache(self)

    def add_edges_from(self, ebunch_to_add: Iterable[Any], **attr: Any) -> None:
        for e in ebunch_to_add:
            self.add_edge(e[0], e[1], **{**attr, **(e[2] if len(e) > 2 else {})})

    def remove_edge(self, u: str, v: str) -> None:
        if _is_signal(u):
            raise CompactGraphError(f"edge {u!r} → {v!r}: a signal's edges are set with set_signal")
        try:
            del self._ent_succ[u][v]
            del self._ent_pred[v][u]
        except KeyError as exc:
            raise nx.NetworkXError(f"The edge {u}-{v} not in graph.") from exc
        if self.journal is not None:
            self.journal.append(("x", u, v))
        nx._clear_cache(self)

    def remove_node(self, n: str) -> None:
        if _is_signal(n):
            if not self.remove_signal(n[_P:]):
                raise nx.NetworkXError(f"The node {n} is not in the digraph.")
            return
        if n not in self._ent_code:
            raise nx.NetworkXError(f"The node {n} is not in the digraph.")
        if self._member_count(self._ent_code[n]):
            raise CompactGraphError(f"entity {n!r} is named by signals: remove or replace those signals first")
        for v in list(self._ent_succ.get(n, ())):
            self.remove_edge(n, v)
        for u in list(self._ent_pred.get(n, ())):
            self.remove_edge(u, n)
        self._ent_succ.pop(n, None)
        self._ent_pred.pop(n, None)
        c = self._ent_code.pop(n)
        self._ent_ids[c] = ""
        self._ent_label[c] = None
        self._ent_type[c] = 0
        self._ent_extra.pop(c, None)
        if self.journal is not None:
            self.journal.append(("d", n))
        nx._clear_cache(self)

    def remove_nodes_from(self, nodes: Iterable[str]) -> None:
        for n in list(nodes):
            if n in self._node:
                self.remove_node(n)

    # ------------------------------------------------------------------ signal changes

    def set_signal(self, sid: str, day: int, source_type: str, flags: int, targets: Iterable[str]) -> bool:
        """Set the signal ``sid``: its day (a date ordinal), source type, flags and the entity nodes it links to
        (one not there yet is added without attributes, as networkx's add_edge does); replaces what it had.
        Returns whether the signal is new."""
        targets = list(dict.fromkeys(targets))
        for t in targets:
            if t not in self._ent_code:
                self.add_node(t)
        codes = [self._ent_code[t] for t in targets]
        i = self._sig_index.get(sid)
        new = i is None
        if i is None:
            i = self._sig_index[sid] = len(self._sig_ids)
            self._sig_ids.append(sid)
            self._sig_day.append(day)
            self._sig_kind.append(0)
            self._sig_flags.append(0)
            self._sig_start.append(0)
            self._sig_len.append(0)
        else:
            self._unlink(i)
        kind = self._kind_code.get(source_type)
        if kind is None:
            kind = self._kind_code[source_type] = len(self._kinds)
            self._kinds.append(source_type)
        self._sig_day[i] = day
        self._sig_kind[i] = kind
        self._sig_flags[i] = flags
        self._sig_start[i] = len(self._sig_data)
        self._sig_len[i] = len(codes)
        self._sig_data.extend(codes)
        for c in codes:
            self._add_member(c, i)
        self._sig_edges += len(codes)
        if self.journal is not None:
            ids = self._ent_ids
            self.journal.append(("s", sid, day, source_type, flags, tuple(ids[c] for c in codes)))
        nx._clear_cache(self)
        return new

    def _unlink(self, i: int) -> None:
        for c in self._targets(i):
            self._remove_member(c, i)
        self._sig_edges -= self._sig_len[i]
        self._sig_len[i] = 0

    def remove_signal(self, sid: str) -> bool:
        """Remove the signal ``sid`` and its edges; returns whether it was there."""
        i = self._sig_index.pop(sid, None)
        if i is None:
            return False
        self._unlink(i)
        self._sig_ids[i] = None
        if self.journal is not None:
            self.journal.append(("r", sid))
        nx._clear_cache(self)
        return True

    def apply(self, ops: Iterable[Op]) -> None:
        """Replay journal entries (see :data:`Op`); replaying one twice changes nothing."""
        for op in ops:
            tag = op[0]
            if tag == "s":
                self.set_signal(*op[1:])
            elif tag == "n":
                self.add_node(op[1], **op[2])
            elif tag == "e":
                self.add_edge(op[1], op[2], **op[3])
            elif tag == "r":
                self.remove_signal(op[1])
            elif tag == "x":
                if op[2] in self._ent_succ.get(op[1], {}):
                    self.remove_edge(op[1], op[2])
            elif tag == "d":
                if op[1] in self._ent_code:
                    self.remove_node(op[1])
            else:
                raise CompactGraphError(f"unknown journal entry {tag!r}")

    # ------------------------------------------------------------------ pickling

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        """Pickled through :meth:`__getstate__`; with protocol 5 its arrays go out as buffers, written as they
        are instead of copied to bytes first (a million signals' arrays are tens of MB)."""
        state = self.__getstate__()
        if int(protocol) >= 5:
            for key in ("sig_day", "sig_len", "sig_data"):
                state[key] = pickle.PickleBuffer(state[key])
            state["ent_edges"] = (*map(pickle.PickleBuffer, state["ent_edges"][:2]), state["ent_edges"][2])
            state["ent_sigs"] = tuple(map(pickle.PickleBuffer, state["ent_sigs"]))
        return _restore, (state,)

    def __getstate__(self) -> dict[str, Any]:
        if not self._is_base():
            raise CompactGraphError("a view of the graph is not saved; save the graph itself")
        live = [i for i, sid in enumerate(self._sig_ids) if sid is not None]
        if len(live) == len(self._sig_ids) and len(self._sig_data) == self._sig_edges:
            sig_ids, day, kind, flags, lens, data = (
                self._sig_ids,
                self._sig_day,
                self._sig_kind,
                self._sig_flags,
                self._sig_len,
                self._sig_data,
            )
            remap = None
        else:  # drop removed slots and replaced targets
            remap = array("i", [-1]) * len(self._sig_ids)
            for j, i in enumerate(live):
                remap[i] = j
            sig_ids = [self._sig_ids[i] for i in live]
            day = array("i", (self._sig_day[i] for i in live))
            kind = bytearray(self._sig_kind[i] for i in live)
            flags = bytearray(self._sig_flags[i] for i in live)
            lens = array("H", (self._sig_len[i] for i in live))
            data = array("i")
            for i in live:
                data.extend(self._targets(i))
        # a million strings or arrays pickle as one object each (the pickler's memo of every object it wrote
        # would otherwise cost more than the graph): strings joined, arrays concatenated
        code = self._ent_code
        edge_u, edge_v, edge_data = array("i"), array("i"), {}
        for u, nbrs in self._ent_succ.items():
            for v, d in nbrs.items():
                if d:
                    edge_data[len(edge_u)] = dict(d)
                edge_u.append(code[u])
                edge_v.append(code[v])
        counts, sets = array("i"), array("i")
        for c in range(len(self._ent_ids)):
            counts.append(self._member_count(c))
            sets.extend(self._members(c) if remap is None else (remap[i] for i in self._members(c)))
        return {
            "graph": self.graph,
            "ent_ids": _pack(self._ent_ids),
            "ent_type": bytes(self._ent_type),
            "ent_label": _pack(self._ent_label),
            "ent_extra": self._ent_extra,
            "types": self._types,
            "ent_edges": (edge_u, edge_v, edge_data),
            "ent_sigs": (counts, sets),
            "kinds": self._kinds,
            "sig_ids": _pack(sig_ids),
            "sig_day": day,
            "sig_kind": bytes(kind),
            "sig_flags": bytes(flags),
            "sig_len": lens,
            "sig_data": data,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        nx.DiGraph.__init__(self)
        self._init_tables()
        self.graph = state["graph"]
        self._ent_ids = _unpack(state["ent_ids"])  # type: ignore[assignment]  # no None: removed ones are ""
        self._ent_type = bytearray(state["ent_type"])
        self._ent_label = _unpack(state["ent_label"])
        self._ent_extra = state["ent_extra"]
        self._types = state["types"]
        self._type_code = {t: i for i, t in enumerate(self._types) if i}
        lens, sets = (_array("i", x) for x in state["ent_sigs"])
        self._ent_first = array("i", [-1]) * len(lens)
        pos = 0
        for c, length in enumerate(lens):
            if length:
                self._ent_first[c] = sets[pos]
                if length > 1:
                    self._ent_more[c] = sets[pos + 1 : pos + length]
            pos += length
        ids = self._ent_ids
        for c, n in enumerate(ids):
            if n:
                self._ent_code[n] = c
        edge_u, edge_v, edge_data = state["ent_edges"]
        edge_u, edge_v = _array("i", edge_u), _array("i", edge_v)
        for j, (cu, cv) in enumerate(zip(edge_u, edge_v, strict=True)):
            u, v = ids[cu], ids[cv]
            data = edge_data.get(j, NO_DATA)
            self._ent_succ.setdefault(u, {})[v] = self._ent_pred.setdefault(v, {})[u] = data
        self._kinds = state["kinds"]
        self._kind_code = {k: i for i, k in enumerate(self._kinds)}
        sig_ids = _unpack(state["sig_ids"])  # removed slots are dropped when saved: no None here
        self._sig_ids = sig_ids
        self._sig_index = {sid: i for i, sid in enumerate(sig_ids)}  # type: ignore[misc]
        self._sig_day = _array("i", state["sig_day"])
        self._sig_kind = bytearray(state["sig_kind"])
        self._sig_flags = bytearray(state["sig_flags"])
        self._sig_len = _array("H", state["sig_len"])
        self._sig_data = _array("i", state["sig_data"])
        starts = array("q", [0]) * len(self._sig_len)
        pos = 0
        for i, length in enumerate(self._sig_len):
            starts[i] = pos
            pos += length
        self._sig_start = starts
        self._sig_edges = pos
