"""Risk models: corpus, baseline, evaluation, versioned artifacts (registry) and the grading rules."""
