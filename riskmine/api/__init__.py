"""The HTTP layer: FastAPI app (``riskmine.api.app.create_app``), auth, routers and the review console."""
