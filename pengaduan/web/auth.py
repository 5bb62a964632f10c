"""Staff sessions: how Flask-Login finds the logged-in user."""
from __future__ import annotations

from ..extensions import db, login_manager
from ..models import User


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def init_app(app) -> None:
    login_manager.session_protection = "strong"
