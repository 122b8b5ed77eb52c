"""TechEmpower's Fortunes test on Flask hardened to hello.py's protections
(flask_hardened.py): every row of the fortune table through SQLAlchemy's ORM, one more
added in memory, sorted by message and rendered by a Jinja template, escaped.
"""

import os

from flask import render_template
from flask_hardened import app
from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

# One pooled connection a gunicorn thread, kept between requests, as hello.py's
# database recipe keeps Django's; checked before use, as its conn_health_checks.
url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql+psycopg://", 1)
engine = create_engine(url, pool_size=5, pool_pre_ping=True)


class Base(DeclarativeBase):
    pass


class Fortune(Base):
    __tablename__ = "fortune"
    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str] = mapped_column(String(2048))


@app.route("/fortunes")
def fortunes():
    with Session(engine) as session:
        rows = list(session.scalars(select(Fortune)))
        session.expunge_all()
    rows.append(Fortune(id=0, message="Additional fortune added at request time."))
    rows.sort(key=lambda fortune: fortune.message)
    return render_template("fortunes.html", fortunes=rows)
