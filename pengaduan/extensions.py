"""Extension singletons, bound to the app in create_app()."""
import ipaddress

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm.exc import StaleDataError

from .errors import ConcurrentChange

# Named constraints let Alembic alter them later, on SQLite too (batch mode).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Session(FlaskSession):
    """The app's session. A versioned row (version_id_col) that someone else changed since it
    was read makes its UPDATE fail at flush (StaleDataError): wherever that flush happens (an
    autoflush, a service's flush, the commit), it is a ConcurrentChange, answered 409 by the
    API and as "changed meanwhile" by the pages."""

    def flush(self, objects=None) -> None:
        try:
            super().flush(objects)
        except StaleDataError as exc:
            raise ConcurrentChange() from exc


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def client_network() -> str:
    """The address rate limits count against. An IPv6 subscriber is handed a whole /64 (and
    often more), so one limit per address would hand an attacker billions of budgets."""
    address = get_remote_address()
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return address
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


limiter = Limiter(key_func=client_network)
