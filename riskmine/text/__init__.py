"""Plain text helpers that the stages, the models and the graph import: no stage logic here."""
