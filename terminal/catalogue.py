"""Catalogues the server publishes (job openings, training courses, teacher housing), cached for
offline use, and citizens' registrations of interest queued for upload.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)

from terminal.db import begin_immediate


class CatalogueKind(enum.Enum):
    JOBS = "jobs"
    TRAINING = "training"
    HOUSING = "housing"


PROVINCE_WIDE = 0

metadata = MetaData()
items = Table(
    "catalogue_items",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("item_id", String(64), primary_key=True),
    Column("region", Integer, nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("agency", String(200), nullable=False),
    Column("location", String(200), nullable=False),
    Column("detail", String(1000), nullable=False),
    Column("deadline", Integer, nullable=True),
    Column("places", Integer, nullable=True),
)
meta = Table(
    "catalogue_meta",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("fetched_at", Float, nullable=False),
)
interests = Table(
    "interests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("card_serial", LargeBinary(8), nullable=False),
    Column("status_index", Integer, nullable=False),
    Column("region", Integer, nullable=False),
    Column("terminal_id", String(8), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("uploaded_at", Float, nullable=True, index=True),
)


@dataclass(frozen=True)
class CatalogueItem:
    kind: CatalogueKind
    item_id: str
    region: int
    title: str
    agency: str
    location: str
    detail: str
    deadline: int | None = None
    places: int | None = None


@dataclass(frozen=True)
class Interest:
    id: str
    kind: CatalogueKind
    item_id: str
    card_serial: bytes
    status_index: int
    region: int
    terminal_id: str
    created_at: float
    uploaded_at: float | None = None


class AlreadyRegistered(Exception):
    pass


class Catalogue:
    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock
        metadata.create_all(engine)

    def replace(self, kind: CatalogueKind, version: int, new_items: Iterable[CatalogueItem]) -> None:
        """Swap a whole catalogue atomically (as fetched from the server)."""
        rows = [{**i.__dict__, "kind": kind.value} for i in new_items if i.kind is kind]
        with begin_immediate(self.engine) as conn:
            conn.execute(delete(items).where(items.c.kind == kind.value))
            if rows:
                conn.execute(insert(items), rows)
            conn.execute(delete(meta).where(meta.c.kind == kind.value))
            conn.execute(insert(meta).values(kind=kind.value, version=version, fetched_at=self.clock()))

    def version(self, kind: CatalogueKind) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(meta.c.version).where(meta.c.kind == kind.value)).scalar_one_or_none()

    def for_region(self, kind: CatalogueKind, region: int) -> list[CatalogueItem]:
        """Items for the holder's regency/city, plus province-wide ones."""
        query = (
            select(items)
            .where(items.c.kind == kind.value, items.c.region.in_([region, PROVINCE_WIDE]))
            .order_by(items.c.deadline, items.c.title)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [CatalogueItem(**{**dict(r), "kind": CatalogueKind(r["kind"])}) for r in rows]

    def register_interest(
        self, item: CatalogueItem, *, card_serial: bytes, status_index: int, region: int, terminal_id: str
    ) -> Interest:
        """Queue a registration of interest (uploaded later); one per card and item."""
        with begin_immediate(self.engine) as conn:
            exists = conn.execute(
                select(interests.c.id).where(
                    interests.c.kind == item.kind.value,
                    interests.c.item_id == item.item_id,
                    interests.c.card_serial == card_serial,
                )
            ).first()
            if exists:
                raise AlreadyRegistered(item.item_id)
            interest = Interest(
                uuid.uuid4().hex,
                item.kind,
                item.item_id,
                card_serial,
                status_index,
                region,
                terminal_id,
                self.clock(),
            )
            conn.execute(insert(interests).values(**{**interest.__dict__, "kind": item.kind.value}))
        return interest

    def registered(self, card_serial: bytes) -> set[tuple[CatalogueKind, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(interests.c.kind, interests.c.item_id).where(interests.c.card_serial == card_serial)
            ).all()
        return {(CatalogueKind(k), i) for k, i in rows}

    def unsynced_interests(self) -> list[Interest]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(interests).where(interests.c.uploaded_at.is_(None))).mappings().all()
        return [Interest(**{**dict(r), "kind": CatalogueKind(r["kind"])}) for r in rows]

    def mark_interests_uploaded(self, ids: Iterable[str]) -> None:
        id_list = list(ids)
        if id_list:
            with self.engine.begin() as conn:
                conn.execute(
                    update(interests).where(interests.c.id.in_(id_list)).values(uploaded_at=self.clock())
                )
