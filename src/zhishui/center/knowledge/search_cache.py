"""The knowledge search index per bureau, built once and reused until something it holds changes.

One index holds the catalog's active matters (their online guides, read from the catalog) and the
bureau's published articles, ranked by the triage engine (:class:`zhishui.catalog.search.Index` with
the catalog's own fields), so an agent's question is understood the way the triage desk understands it.

Several server processes: each keeps its own indexes. Every search first reads two small things, the
bureau's row in ``kb_revision`` (by primary key) and the catalog's version aggregate; every change to
a bureau's articles bumps that row in the change's own transaction. So once a change commits, the next
search in *any* process sees a new revision and rebuilds that bureau's index once (under a per-process
lock); nothing has to be broadcast. The revision is read before the articles: a commit landing in
between leaves an index newer than its recorded revision, which costs one extra rebuild, never a stale
answer after the next search.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from zhishui.catalog.matcher import CATALOG_FIELDS, matter_fields
from zhishui.catalog.repository import CatalogVersion, MatterRepository
from zhishui.catalog.search import Index
from zhishui.catalog.service import matter_record
from zhishui.center.knowledge.policy import KIND_LABELS, ArticleKind, guide_text, split_tags
from zhishui.center.knowledge.repository import ArticleRepository, IndexedArticle, RevisionRepository

CATALOG_KIND = "catalog"  # a hit that is a catalog matter's online guide
MAX_CACHED_BUREAUS = 64


@dataclass(frozen=True, slots=True)
class Document:
    """A searchable entry: a catalog guide (``article_id`` None) or an article."""

    kind: str  # "catalog" | "guide" | "qa"
    article_id: int | None
    matter_code: str | None
    title: str
    answer: str


@dataclass(frozen=True, slots=True)
class KnowledgeIndex:
    index: Index
    documents: dict[str, Document]


def build_index(catalog: Iterable[dict[str, object]], articles: Iterable[IndexedArticle]) -> KnowledgeIndex:
    """Pure: the index over catalog records (the catalog's record dicts) and articles."""
    entries: list[tuple[str, dict[str, str]]] = []
    documents: dict[str, Document] = {}
    for record in catalog:
        if not record.get("active", True):
            continue
        code = str(record["code"])
        doc_id = f"m:{code}"
        entries.append((doc_id, matter_fields(record)))
        steps = record.get("guide_steps") or []
        documents[doc_id] = Document(
            kind=CATALOG_KIND,
            article_id=None,
            matter_code=code,
            title=str(record["name"]),
            answer=guide_text(
                str(record["name"]),
                str(record.get("guide_menu_path") or ""),
                [str(s) for s in steps] if isinstance(steps, list) else [],
                str(record.get("description") or ""),
            ),
        )
    for article in articles:
        doc_id = f"a:{article.id}"
        entries.append(
            (
                doc_id,
                {
                    "name": article.title,
                    "aliases": "\n".join(split_tags(article.tags)),
                    "category": KIND_LABELS.get(ArticleKind(article.kind), ""),
                    "body": article.body,
                },
            )
        )
        documents[doc_id] = Document(
            kind=article.kind,
            article_id=article.id,
            matter_code=article.matter_code,
            title=article.title,
            answer=article.body,
        )
    return KnowledgeIndex(Index(entries, CATALOG_FIELDS), documents)


_Key = tuple[CatalogVersion, int]


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engines: weakref.WeakKeyDictionary[Engine, OrderedDict[int, tuple[_Key, KnowledgeIndex]]] = (
            weakref.WeakKeyDictionary()
        )
        self.builds = 0  # how many indexes this process built (tests read it)

    def get(self, session: Session, bureau_id: int) -> KnowledgeIndex:
        key = (MatterRepository(session).version(), RevisionRepository(session).current(bureau_id))
        engine = session.get_bind().engine
        with self._lock:
            entries = self._engines.setdefault(engine, OrderedDict())
            entry = entries.get(bureau_id)
            if entry is not None and entry[0] == key:
                entries.move_to_end(bureau_id)
                return entry[1]
            catalog = [matter_record(m) for m in MatterRepository(session).list_active()]
            built = build_index(catalog, ArticleRepository(session).published_for_index(bureau_id))
            self.builds += 1
            entries[bureau_id] = (key, built)
            entries.move_to_end(bureau_id)
            while len(entries) > MAX_CACHED_BUREAUS:
                entries.popitem(last=False)
            return built


cache = _Cache()


def knowledge_index(session: Session, bureau_id: int) -> KnowledgeIndex:
    return cache.get(session, bureau_id)
