"""PubMed XML as NCBI efetch returns it (``PubmedArticleSet``), read lazily with defusedxml.

Each ``PubmedArticle`` (and ``PubmedBookArticle``) becomes one :class:`Record`. Entity
declarations and external references are refused (billion laughs, XXE): defusedxml raises and
the import stops with a message. The document is streamed (``iterparse``) and every article is
dropped from memory once parsed, so file size is bounded only by disk.

Mapping (element paths under ``MedlineCitation``; ``PubmedData`` for ids)
-----------------------------------------------------------------------
- ``PMID`` -> ``pmid``, ``source_id``
- ``Article/ArticleTitle`` (inline markup flattened) -> ``title``
- ``Article/Abstract/AbstractText`` -> ``abstract``: labelled sections as ``LABEL: text``
  separated by blank lines; for a labelled abstract ``fields["abstract_sections"]`` keeps each
  section's label, NLM category and text
- ``Article/AuthorList/Author`` -> ``authors`` as ``"LastName Initials"`` (or ``CollectiveName``);
  ``fields["authors_full"]`` keeps last name, fore name, initials, affiliations
- ``Article/Journal/Title`` -> ``journal``; ``ISOAbbreviation``, volume, issue, pages in ``fields``
- ``PubDate/Year`` (else ``MedlineDate``, else ``ArticleDate``) -> ``year``
- ``PubmedData/ArticleIdList/ArticleId[@IdType=doi|pmc]`` (else ``ELocationID[@EIdType=doi]``)
  -> ``doi``, ``pmcid``
- ``PublicationTypeList`` -> ``publication_types``; ``KeywordList`` -> ``keywords``
- ``MeshHeadingList`` -> ``mesh_terms`` (descriptor names); ``fields["mesh_headings"]`` keeps
  each heading as PubMed prints it (``Pulmonary Fibrosis / drug therapy*``, ``*`` = major topic)
- ``DataBankList`` (ClinicalTrials.gov accession numbers) and NCT ids in title/abstract ->
  ``nct_ids``; ``fields["databanks"]`` keeps every databank and its accession numbers
- ``Language`` -> ``language``
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from metareview.sources.base import (
    SourceFormatError,
    clean_doi,
    dedupe_keep_order,
    find_nct_ids,
    parse_year,
)
from metareview.sources.record import Record

__all__ = ["parse", "parse_article", "parse_pubmed_xml"]

_ARTICLE_TAGS = ("PubmedArticle", "PubmedBookArticle")

#: The deepest element nesting read. PubMed's DTD nests about a dozen levels (with inline
#: markup in titles); reading the text of a deeper tree would recurse past Python's limit.
MAX_XML_DEPTH = 256


def parse(
    stream: IO[bytes], *, file: str = "<pubmed-xml>", encoding: str | None = None
) -> Iterator[Record]:
    """Yield one record per ``PubmedArticle`` of an efetch XML stream.

    Parameters
    ----------
    stream
        Binary stream of a ``PubmedArticleSet`` document (the encoding is the XML declaration's;
        ``encoding`` is accepted for a uniform importer signature and ignored).
    file
        Name used in error messages and ``Record.origin_file``.

    Raises
    ------
    SourceFormatError
        Malformed XML (with line and column), a document that is not a ``PubmedArticleSet``, an
        article without PMID, or an entity declaration / external reference (refused).
    """
    del encoding
    depth = 0
    count = 0
    root: Element | None = None
    try:
        for event, elem in iterparse(stream, events=("start", "end")):
            if event == "start":
                depth += 1
                if depth > MAX_XML_DEPTH:
                    raise SourceFormatError(
                        f"XML nested more than {MAX_XML_DEPTH} elements deep; PubMed XML nests "
                        "about a dozen (refused as malformed or hostile)",
                        file=file,
                        record=count + 1,
                    )
                if depth == 1:
                    root = elem
                    if elem.tag != "PubmedArticleSet":
                        raise SourceFormatError(
                            f"not PubMed efetch XML: the root element is <{elem.tag}>, "
                            "expected <PubmedArticleSet>",
                            file=file,
                            line=1,
                        )
                continue
            depth -= 1
            if depth == 1 and elem.tag in _ARTICLE_TAGS:
                count += 1
                record = parse_article(elem, file=file, position=count)
                if root is not None:
                    root.clear()
                yield record
    except ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        raise SourceFormatError(
            f"malformed XML at column {column}: {_expat_message(exc)}",
            file=file,
            line=line,
            record=count + 1,
        ) from None
    except DefusedXmlException as exc:
        raise SourceFormatError(
            f"refused: the XML declares entities or external references ({type(exc).__name__}), "
            "which PubMed never sends; the file may be an entity-expansion or XXE attack",
            file=file,
            record=count + 1,
        ) from None


def parse_pubmed_xml(data: bytes | str, *, file: str = "<pubmed-xml>") -> list[Record]:
    """All records of an efetch XML document held in memory (what a live client receives)."""
    import io

    raw = data.encode("utf-8") if isinstance(data, str) else data
    return list(parse(io.BytesIO(raw), file=file))


def _expat_message(exc: ParseError) -> str:
    text = str(exc)
    return text.split(":")[0] if ": line" in text else text


def _text(elem: Element | None) -> str:
    """All text inside ``elem`` (inline markup such as <i> flattened), whitespace tidied."""
    if elem is None:
        return ""
    return " ".join("".join(elem.itertext()).split())


def parse_article(elem: Element, *, file: str = "<pubmed-xml>", position: int = 1) -> Record:
    """One ``PubmedArticle`` (or ``PubmedBookArticle``) element as a :class:`Record`.

    Raises
    ------
    SourceFormatError
        The article has no PMID.
    """
    book = elem.tag == "PubmedBookArticle"
    citation = elem.find("BookDocument" if book else "MedlineCitation")
    if citation is None:
        raise SourceFormatError(
            f"<{elem.tag}> without <MedlineCitation>", file=file, record=position
        )
    pmid = _text(citation.find("PMID"))
    if not pmid:
        raise SourceFormatError("article without <PMID>", file=file, record=position, field="PMID")
    article = citation if book else citation.find("Article")
    if article is None:
        raise SourceFormatError(
            "article without <Article>", file=file, record=position, field="Article"
        )
    fields: dict[str, Any] = {}

    title = _text(article.find("ArticleTitle")) or _text(article.find("VernacularTitle"))
    if book and not title:
        title = _text(article.find("Book/BookTitle"))

    sections = []
    for part in article.findall("Abstract/AbstractText"):
        sections.append(
            {
                "label": part.get("Label"),
                "nlm_category": part.get("NlmCategory"),
                "text": _text(part),
            }
        )
    abstract = "\n\n".join(
        f"{s['label']}: {s['text']}" if s["label"] else str(s["text"]) for s in sections
    )
    if any(s["label"] for s in sections):
        fields["abstract_sections"] = sections

    authors: list[str] = []
    authors_full: list[dict[str, Any]] = []
    for author in article.findall("AuthorList/Author"):
        collective = _text(author.find("CollectiveName"))
        last = _text(author.find("LastName"))
        initials = _text(author.find("Initials"))
        fore = _text(author.find("ForeName"))
        name = collective or " ".join(p for p in (last, initials) if p)
        if not name:
            continue
        authors.append(name)
        authors_full.append(
            {
                "last_name": last or None,
                "fore_name": fore or None,
                "initials": initials or None,
                "collective_name": collective or None,
                "affiliations": [_text(a) for a in author.findall("AffiliationInfo/Affiliation")],
            }
        )
    if authors_full:
        fields["authors_full"] = authors_full

    journal_elem = article.find("Journal")
    journal = _text(journal_elem.find("Title")) if journal_elem is not None else ""
    year = None
    if journal_elem is not None:
        issue = journal_elem.find("JournalIssue")
        if issue is not None:
            fields["volume"] = _text(issue.find("Volume")) or None
            fields["issue"] = _text(issue.find("Issue")) or None
            pub_date = issue.find("PubDate")
            if pub_date is not None:
                year = parse_year(_text(pub_date.find("Year"))) or parse_year(
                    _text(pub_date.find("MedlineDate"))
                )
        fields["journal_abbreviation"] = _text(journal_elem.find("ISOAbbreviation")) or None
    if year is None:
        year = parse_year(_text(article.find("ArticleDate/Year"))) or parse_year(
            _text(article.find("PubDate/Year"))
        )
    pages = _text(article.find("Pagination/MedlinePgn"))
    if pages:
        fields["pages"] = pages

    ids: dict[str, str] = {}
    for article_id in elem.findall("PubmedData/ArticleIdList/ArticleId"):
        kind = article_id.get("IdType")
        if kind and kind not in ids:
            ids[kind] = _text(article_id)
    doi = clean_doi(ids.get("doi"))
    if doi is None:
        for location in article.findall("ELocationID"):
            if location.get("EIdType") == "doi":
                doi = clean_doi(_text(location))
                break
    pmcid = ids.get("pmc") or None
    if ids:
        fields["article_ids"] = ids

    publication_types = [_text(p) for p in article.findall("PublicationTypeList/PublicationType")]
    keywords = [_text(k) for k in citation.findall("KeywordList/Keyword")]

    mesh_terms: list[str] = []
    headings: list[str] = []
    for heading in citation.findall("MeshHeadingList/MeshHeading"):
        descriptor = heading.find("DescriptorName")
        if descriptor is None:
            continue
        name = _text(descriptor)
        mesh_terms.append(name)
        qualifiers = heading.findall("QualifierName")
        if not qualifiers:
            headings.append(name + ("*" if descriptor.get("MajorTopicYN") == "Y" else ""))
        for qualifier in qualifiers:
            star = "*" if qualifier.get("MajorTopicYN") == "Y" else ""
            headings.append(f"{name} / {_text(qualifier)}{star}")
    if headings:
        fields["mesh_headings"] = headings

    databanks = []
    registry_ids: list[str] = []
    for bank in article.findall("DataBankList/DataBank"):
        bank_name = _text(bank.find("DataBankName"))
        numbers = [_text(n) for n in bank.findall("AccessionNumberList/AccessionNumber")]
        databanks.append({"name": bank_name, "accession_numbers": numbers})
        if bank_name.lower().replace(" ", "") == "clinicaltrials.gov":
            registry_ids.extend(numbers)
    if databanks:
        fields["databanks"] = databanks
    nct_ids = dedupe_keep_order([*registry_ids, *find_nct_ids(title, abstract)])

    language = _text(article.find("Language")) or None
    status = _text(elem.find("PubmedData/PublicationStatus"))
    if status:
        fields["publication_status"] = status

    return Record(
        source="pubmed",
        title=title,
        kind="other" if book else "article",
        source_id=pmid,
        abstract=abstract,
        authors=authors,
        journal=journal or None,
        year=year,
        doi=doi,
        pmid=pmid,
        pmcid=pmcid,
        nct_ids=nct_ids,
        publication_types=dedupe_keep_order(publication_types),
        keywords=dedupe_keep_order(keywords),
        mesh_terms=dedupe_keep_order(mesh_terms),
        language=language,
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        fields={k: v for k, v in fields.items() if v is not None},
        raw=tostring(elem, encoding="unicode"),
        raw_format="pubmed-xml",
        origin_file=file,
    )
