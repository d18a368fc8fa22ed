from __future__ import annotations

app_name = "deploy"
urlpatterns: list = []
