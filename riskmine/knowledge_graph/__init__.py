"""Linking signals into candidate risks (and, later, the product knowledge graph)."""

from riskmine.knowledge_graph.candidates import build_candidates

__all__ = ["build_candidates"]
