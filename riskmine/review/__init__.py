"""Expert review: organisations, workflow, deadlines, publication and audit."""
