"""The Flask 3 reference for the logged-in page, written as the extensions' docs write it.

Flask-SQLAlchemy (SQLAlchemy 2) for the database, Flask-Login for who is
logged in, Flask-WTF for CSRF (``CSRFProtect`` and a ``FlaskForm`` login
form), Jinja2 templates that extend a base layout. Sessions are kept in the
database by Flask-Session's SQLAlchemy backend, or, with
``server_side_sessions=False``, in Flask's own signed cookie. The list view
reads 20 items with their owners in one query (``joinedload``), from the
tables the ``bench`` add-on maps.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, redirect, render_template, url_for
from flask_login import LoginManager, UserMixin, login_required, login_user, logout_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect, FlaskForm
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, joinedload, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "flask_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))


class Owner(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "bench_owners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Item(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "bench_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    price: Mapped[int]
    owner_id: Mapped[int] = mapped_column(ForeignKey("bench_owners.id"))
    owner: Mapped[Owner] = relationship(lazy="raise")


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def create_app(database_url: str, server_side_sessions: bool = True) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="benchmark secret key, not a secret",
        SQLALCHEMY_DATABASE_URI=database_url,
        # A request that changes nothing in its session writes nothing
        # (Flask would otherwise refresh a permanent session's expiry on
        # every request; Flask-Session would write it to the database).
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    db.init_app(app)
    CSRFProtect(app)
    if server_side_sessions:
        from flask_session import Session

        app.config.update(
            SESSION_TYPE="sqlalchemy",
            SESSION_SQLALCHEMY=db,
            SESSION_SQLALCHEMY_TABLE="flask_sessions",
        )
        Session(app)
    login_manager = LoginManager(app)
    login_manager.login_view = "login"

    @login_manager.user_loader  # type: ignore[untyped-decorator]
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id))

    @app.route("/auth/login", methods=["GET", "POST"])
    def login() -> Any:
        form = LoginForm()
        if form.validate_on_submit():
            user = db.session.scalar(select(User).where(User.email == form.email.data))
            if user is not None and check_password_hash(user.password_hash, form.password.data):
                login_user(user)
                return redirect(url_for("item_list"), code=303)
            flash("Wrong email or password.", "danger")
        return render_template("login.html", form=form, page_title="Log in")

    @app.post("/auth/logout")
    @login_required  # type: ignore[untyped-decorator]
    def logout() -> Any:
        logout_user()
        return redirect(url_for("login"), code=303)

    @app.get("/bench/list")
    @login_required  # type: ignore[untyped-decorator]
    def item_list() -> str:
        query = select(Item).options(joinedload(Item.owner)).order_by(Item.id).limit(20)
        items = db.session.scalars(query).all()
        return render_template("items.html", items=items, page_title="Items")

    return app


def prepare(database_url: str, email: str, password: str) -> None:
    """Create the reference's own tables (users, sessions) and the benchmark's user."""
    app = create_app(database_url)
    with app.app_context():
        db.create_all()
        db.session.add(User(email=email, password_hash=generate_password_hash(password)))
        db.session.commit()
