"""The API benchmark's list on Flask hardened to hello.py's protections
(flask_hardened.py): the first page of 20 tasks, each with its assignee's username, and
the count, read through SQLAlchemy's ORM from the tables hello.py's models made, as the
JSON DRF's TaskSerializer gives."""

from flask import jsonify, request

# The same engine, pool and app as the Fortunes page's.
from flask_fortunes import Base, engine
from flask_hardened import app
from sqlalchemy import Date, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

STATUS = {1: "Not Started", 2: "In Progress", 3: "Testing", 4: "Done"}


class User(Base):
    __tablename__ = "auth_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150))


class Task(Base):
    __tablename__ = "hello_task"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str]
    sprint_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[int]
    order: Mapped[int]
    assigned_id: Mapped[int | None] = mapped_column(ForeignKey("auth_user.id"))
    assigned: Mapped[User | None] = relationship(lazy="joined")
    started = mapped_column(Date)
    due = mapped_column(Date)
    completed = mapped_column(Date)


def day(value):
    return value.isoformat() if value else None


@app.route("/api/tasks/")
def tasks():
    base = request.host_url  # https://, by ProxyFix, behind the router
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(Task))
        page = session.scalars(select(Task).order_by(Task.id).limit(20)).all()
        results = [
            {
                "url": f"{base}api/tasks/{task.id}/",
                "id": task.id,
                "name": task.name,
                "description": task.description,
                "sprint": task.sprint_id and f"{base}api/sprints/{task.sprint_id}/",
                "status": task.status,
                "status_display": STATUS[task.status],
                "order": task.order,
                "assigned": task.assigned and task.assigned.username,
                "started": day(task.started),
                "due": day(task.due),
                "completed": day(task.completed),
            }
            for task in page
        ]
    following = f"{base}api/tasks/?page=2" if count > 20 else None
    return jsonify(count=count, next=following, previous=None, results=results)
