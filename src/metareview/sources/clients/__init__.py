"""Live clients for bibliographic and registry services (PubMed, ClinicalTrials.gov, Europe PMC).

Each client takes a base URL and, optionally, an httpx client or transport, so tests point it at a
local server; each ``search(query, max_records=None, progress=None)`` returns a
:class:`~metareview.sources.clients.base.SearchResult` whose records are
:class:`~metareview.sources.record.Record` objects made by the matching file parser.
"""

from __future__ import annotations

from metareview.sources.clients.base import HttpClient, RateLimiter, SearchResult
from metareview.sources.clients.ctgov import CTGovClient
from metareview.sources.clients.europepmc import EuropePMCClient
from metareview.sources.clients.pubmed import PubMedClient

__all__ = [
    "CLIENTS",
    "CTGovClient",
    "EuropePMCClient",
    "HttpClient",
    "PubMedClient",
    "RateLimiter",
    "SearchResult",
]

#: The live sources by the name the command line uses.
CLIENTS = {"pubmed": PubMedClient, "ctgov": CTGovClient, "europepmc": EuropePMCClient}
