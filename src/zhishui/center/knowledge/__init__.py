"""The center's knowledge base (知识库): articles and imported Q&A per bureau, canned replies.

Search covers the catalog's online guides (read from the catalog, never copied) and the bureau's
published articles, with the same engine as triage (`zhishui.catalog.search.Index`). Pure rules in
`policy` (CSV reading and row checks, snippets, reply placeholders); every query in `repository`;
use cases in `service`; the cached search index in `search_cache`.
"""
