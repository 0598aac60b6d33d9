"""The ``storage_files`` table and the helpers other add-ons attach files with.

A row describes one stored file; its ``key`` names the bytes in the storage
backend. Other add-ons point at rows with :func:`file_id_column` and
:func:`file_relationship`::

    class Attachment(Base):
        __tablename__ = "blog_attachments"
        id: Mapped[int] = mapped_column(primary_key=True)
        file_id: Mapped[int] = file_id_column(nullable=False)
        file: Mapped[StoredFile] = file_relationship()

and their migration declares ``depends_on = "storage@head"`` (or the
revision that creates ``storage_files``).
"""

from __future__ import annotations

import datetime
from typing import Any

from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone
from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pyramidion import Base

__all__ = ["StoredFile", "file_id_column", "file_relationship"]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def as_utc(value: datetime.datetime) -> datetime.datetime:
    """``value`` with UTC attached (SQLite returns naive datetimes)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


class StoredFile(Base):
    """A stored file: its bytes are in the backend under ``key``."""

    __tablename__ = "storage_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The backend key (32 hex digits); never derived from user input.
    key: Mapped[str] = mapped_column(String(32), unique=True)
    #: The sanitised name the file was uploaded with.
    filename: Mapped[str] = mapped_column(String(255))
    #: The content type, as checked against the file's first bytes.
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    #: Hex SHA-256 of the bytes; also the download's ETag.
    sha256: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: The user id of who owns the file, when someone does.
    owner_id: Mapped[str | None] = mapped_column(String(255), index=True)
    #: Whether anyone, logged in or not, may download the file.
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The kind of context that owns the file (for example ``"blog.post"``);
    #: the add-on that registered it with ``config.add_file_context`` decides
    #: who may download it.
    realm: Mapped[str | None] = mapped_column(String(100))
    #: While the file is a form's temporary upload: a hash of the token of
    #: the client that uploaded it. None once the file is kept.
    upload_token: Mapped[str | None] = mapped_column(String(64), index=True)
    #: When a temporary upload expires; None once the file is kept.
    expires_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<StoredFile {self.id} {self.key} {self.filename!r}>"

    @property
    def temporary(self) -> bool:
        """Whether the file is a form's temporary upload, not yet kept."""
        return self.upload_token is not None

    def acl(self, owner_principal: str = "user:{owner_id}") -> list[tuple[str, str, Any]]:
        """The default access rules: anyone may view a public file, its owner
        may view and delete it; temporary uploads are nobody's to download."""
        if self.temporary:
            return [(Deny, Everyone, ALL_PERMISSIONS)]
        rules: list[tuple[str, str, Any]] = []
        if self.public:
            rules.append((Allow, Everyone, "view"))
        if self.owner_id is not None:
            principal = owner_principal.format(owner_id=self.owner_id)
            rules.append((Allow, principal, ("view", "storage.delete")))
        return rules

    @property
    def __acl__(self) -> list[tuple[str, str, Any]]:
        return self.acl()


def file_id_column(*, nullable: bool = True, ondelete: str = "RESTRICT") -> Any:
    """A column holding the id of a :class:`StoredFile` row.

    ``ondelete="RESTRICT"`` (the default) keeps a file row, and so its bytes,
    as long as something refers to it; ``"SET NULL"`` or ``"CASCADE"`` let
    the file go first.
    """
    return mapped_column(
        ForeignKey("storage_files.id", ondelete=ondelete), nullable=nullable, index=True
    )


def file_relationship(foreign_key: str | None = None, **kwargs: Any) -> Any:
    """A many-to-one relationship to :class:`StoredFile`, loaded with its row.

    Name the column (``"Attachment.file_id"``) when the model has more than
    one foreign key to ``storage_files``.
    """
    options: dict[str, Any] = {"lazy": "joined", **kwargs}
    if foreign_key is not None:
        options["foreign_keys"] = foreign_key
    return relationship(StoredFile, **options)
