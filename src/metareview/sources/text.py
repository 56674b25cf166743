"""Plain-text records as people paste them from web pages: one file, one record.

Three kinds of page are recognised, by cues in the text (:func:`classify`):

``registry``
    A trial registration page (an NCT id plus registry labels such as "Trial ID", "Registration
    Number", "Inclusion Criteria", "Study Type", "Primary Outcome"). Labelled sections are read
    into the same ``fields`` structure as :mod:`metareview.sources.ctgov` uses (``nct_id``,
    ``official_title``, ``status``, ``sponsor``, ``conditions``, ``design``, ``arms``,
    ``interventions``, ``eligibility``, ``outcomes``, ``locations``, ``officials``) plus
    ``doses`` (dose expressions anywhere in the page). Design attributes the page states only
    in prose are read from standard phrases (``double-blind`` -> masking ``DOUBLE``,
    ``open label`` -> ``NONE``, ``randomized``/``RCT`` -> allocation ``RANDOMIZED``) and the
    phrases found are kept in ``design["phrases"]``.
``monograph``
    A drug or disease reference page (an ``Author:`` line with "Chief Editor", DermNet, or
    headings such as "Adverse effects", "Drug interactions", "Contraindications"). Its sections
    go to ``fields["sections"]`` as ``{heading, text, items}``; references to
    ``fields["references"]``.
``article``
    Anything else: an article or abstract page (PubMed, a publisher, a research portal). Title
    (first line), authors (a comma-separated line of names near the top), a PubMed-style
    citation line (``Arthritis Rheum. 2008 Aug;58(8):2538-42. doi: ...``) or portal metadata
    (``Journal``, ``Publication status``, ``Original language``, ``Pages (from-to)``), the
    abstract (labelled sections such as ``OBJECTIVES:`` kept in
    ``fields["abstract_sections"]``), ``Publication types`` and ``MeSH terms`` lists. When the
    page has no publication-type list, types are inferred from the title and abstract
    (systematic review, meta-analysis, case report, randomized controlled trial) and
    ``fields["publication_types_inferred"]`` is True.

Nothing is invented: a field the page does not show stays empty.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from typing import IO, Any

from metareview.sources.base import (
    DOI_RE,
    NCT_RE,
    SourceFormatError,
    clean_doi,
    dedupe_keep_order,
    find_nct_ids,
    iter_lines,
    parse_year,
)
from metareview.sources.ctgov import find_doses, split_eligibility
from metareview.sources.record import Record

__all__ = ["MAX_TEXT_BYTES", "classify", "parse", "parse_text"]

#: A pasted page larger than this is refused (it is some other format, or many pages).
MAX_TEXT_BYTES = 5 * 1024 * 1024

_BULLET = re.compile(r"^\s*(?:[•·▪◦*]|-)\s+")
_STATUS_PHRASES = {
    "recruiting",
    "not recruiting",
    "not yet recruiting",
    "active, not recruiting",
    "active not recruiting",
    "completed",
    "terminated",
    "withdrawn",
    "suspended",
    "enrolling by invitation",
    "unknown status",
}
_INTERVENTION_LINE = re.compile(
    r"^(drug|device|biological|procedure|behavioral|radiation|dietary supplement|genetic|"
    r"combination product|diagnostic test|other):\s*(.+)$",
    re.IGNORECASE,
)


def _is_bullet(line: str) -> bool:
    return bool(_BULLET.match(line))


def _unbullet(line: str) -> str:
    return _BULLET.sub("", line, count=1).strip()


def _norm(line: str) -> str:
    return " ".join(_unbullet(line).rstrip(":").split()).lower()


def _paragraphs(lines: list[str]) -> list[str]:
    """Blank-line separated paragraphs, each joined into one line."""
    out: list[str] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            out.append(" ".join(current))
            current = []
    if current:
        out.append(" ".join(current))
    return out


def parse(
    stream: IO[bytes], *, file: str = "<text>", encoding: str | None = None
) -> Iterator[Record]:
    """Yield the one record of a pasted text page.

    Raises
    ------
    SourceFormatError
        The text is empty, larger than :data:`MAX_TEXT_BYTES`, or does not decode.
    """
    data = stream.read(MAX_TEXT_BYTES + 1)
    if len(data) > MAX_TEXT_BYTES:
        raise SourceFormatError(
            f"larger than {MAX_TEXT_BYTES // (1024 * 1024)} MB: too large for one pasted "
            "page; give its format with --format if it is something else",
            file=file,
        )
    # Decoding line by line names the line of a bad byte; the record keeps the text verbatim.
    for number, line in iter_lines(io.BytesIO(data), file=file, encoding=encoding):
        binary = sum(1 for ch in line if ch < " " and ch not in "\t\f\v")
        if "\x00" in line or binary > max(2, len(line) // 100):
            raise SourceFormatError(
                "binary data, not text (control characters such as NUL); give --format if this "
                "file is in one of the record formats",
                file=file,
                line=number,
            )
    if encoding is not None:
        raw = data.decode(encoding)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raw = data.decode("utf-16")
    else:
        raw = data.decode("utf-8-sig")
    record = parse_text(raw, file=file)
    if not record.title.strip():
        raise SourceFormatError(
            "no title found in the text; a record needs one (give --format if this file is in "
            "one of the record formats)",
            file=file,
            field="title",
        )
    yield record


def classify(text: str) -> str:
    """``'registry'``, ``'monograph'`` or ``'article'`` for a pasted page (see module docs)."""
    head = text[:4000]
    lowered = text.lower()
    article_cues = ("publication types" in lowered) or ("mesh terms" in lowered)
    registry_cues = sum(
        cue in lowered
        for cue in (
            "trial id",
            "registration number",
            "clinicaltrials.gov identifier",
            "inclusion criteria",
            "exclusion criteria",
            "recruiting",
            "study type",
            "primary outcome",
            "lead sponsor",
            "eligibility",
        )
    )
    if NCT_RE.search(head) and registry_cues >= 1 and not article_cues:
        return "registry"
    monograph_cues = sum(
        bool(re.search(pattern, text, re.IGNORECASE | re.MULTILINE))
        for pattern in (
            r"^Authors?:.*Chief Editor",
            r"\bDermNet\b",
            r"^(?:Adverse|Side) effects\b",
            r"^Drug interactions\b",
            r"^Contraindications\s*$",
            r"^What (?:is|are) [\w -]+\?\s*$",
            r"^Dosage\b",
        )
    )
    if monograph_cues >= 2 and not article_cues:
        return "monograph"
    return "article"


def parse_text(text: str, *, file: str = "<text>") -> Record:
    """One pasted page as a :class:`Record` (kind chosen by :func:`classify`).

    Raises
    ------
    SourceFormatError
        The text has no non-blank line.
    """
    if not text.strip():
        raise SourceFormatError("empty text: no record", file=file)
    verbatim = text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kind = classify(text)
    if kind == "registry":
        record = _registry(text)
    elif kind == "monograph":
        record = _monograph(text)
    else:
        record = _article(text)
    record.raw = verbatim
    record.raw_format = "text"
    record.origin_file = file
    return record


# -- registry pages ---------------------------------------------------------------------------

_SINGLE = {
    "trial id": "nct_id",
    "registration number": "nct_id",
    "nct number": "nct_id",
    "clinicaltrials.gov identifier": "nct_id",
    "lead sponsor": "sponsor",
    "sponsor": "sponsor",
    "status": "status",
    "recruitment status": "status",
    "overall status": "status",
    "sex": "sex",
    "gender": "sex",
    "target recruitment": "enrollment",
    "enrollment": "enrollment",
    "actual enrollment": "enrollment",
    "estimated enrollment": "enrollment",
    "study type": "study_type",
    "study design": "study_design",
    "phase": "phase",
    "allocation": "allocation",
    "masking": "masking",
    "intervention model": "intervention_model",
    "primary purpose": "primary_purpose",
    "official title": "official_title",
    "start date": "start_date",
    "completion date": "completion_date",
    "ages eligible for study": "ages",
    "age": "ages",
}
_BLOCK = {
    "conditions": "conditions",
    "condition": "conditions",
    "interventions": "interventions",
    "intervention": "interventions",
    "brief summary": "summary",
    "summary": "summary",
    "detailed description": "detailed_description",
    "description": "detailed_description",
    "recruitment & eligibility": "recruitment",
    "eligibility": "eligibility",
    "eligibility criteria": "eligibility",
    "study & design": "design_group",
    "arm && interventions": "arms",
    "arm & interventions": "arms",
    "arms and interventions": "arms",
    "arms": "arms",
    "primary outcome measures": "primary_outcomes",
    "primary outcome measure": "primary_outcomes",
    "primary outcomes": "primary_outcomes",
    "primary outcome": "primary_outcomes",
    "secondary outcome measures": "secondary_outcomes",
    "secondary outcome measure": "secondary_outcomes",
    "secondary outcomes": "secondary_outcomes",
    "secondary outcome": "secondary_outcomes",
    "other outcome measures": "other_outcomes",
    "trial locations": "locations",
    "locations": "locations",
    "contact information": "contact",
    "contacts": "contact",
    "investigators": "officials",
    "inclusion criteria": "inclusion",
    "exclusion criteria": "exclusion",
}
_TIME_FRAME = re.compile(
    r"(?:\b[Aa]t\s+)?\b\d+(?:\s*(?:,|and|or|-|to)\s*\d+)*\s+(?:months?|weeks?|days?|years?|hours?)"
    r"(?:\s+(?:and|or)\s+\d+\s+(?:months?|weeks?|days?|years?))?,?"
    r"|\bAll along the trial\b|\b[Ww]eek\s+\d+\b|\b[Bb]aseline(?:\s+to\s+[^A-Z]+?)?",
)


def _heading(line: str) -> tuple[str, str | None] | None:
    """(key, inline value) when ``line`` is a registry heading, else None."""
    norm = _norm(line)
    if norm in _SINGLE:
        return _SINGLE[norm], None
    if norm in _BLOCK:
        return _BLOCK[norm], None
    if re.fullmatch(r"locations \(\d+\)", norm):
        return "locations", None
    if norm.endswith("investigator(s)") or norm.endswith("investigators"):
        return "officials", None
    label, sep, value = _unbullet(line).partition(":")
    if sep and value.strip():
        key = " ".join(label.split()).lower()
        if key in _SINGLE:
            return _SINGLE[key], value.strip()
    return None


def _split_glued(value: str) -> list[str]:
    """``Scleroderma, LocalizedScleroderma, Systemic`` (list items pasted without separators)."""
    return [p.strip() for p in re.split(r"(?<=[a-z])(?=[A-Z])", value) if p.strip()]


def _outcomes(lines: list[str]) -> list[dict[str, Any]]:
    """Outcome measures from a section: ``[Time Frame: X]`` labels or a flattened table."""
    text = " ".join(line.strip() for line in lines if line.strip())
    text = re.sub(r"^Name\s+Time\s+Method\s*", "", text)
    if not text:
        return []
    labelled = re.findall(r"(.+?)\s*\[Time Frame:\s*([^\]]+)\]", text)
    if labelled:
        return [
            {
                "measure": re.sub(r"^\d+\.\s*", "", m).strip(),
                "description": None,
                "time_frame": t.strip(),
            }
            for m, t in labelled
        ]
    out: list[dict[str, Any]] = []
    position = 0
    for match in _TIME_FRAME.finditer(text):
        after = text[match.end() :]
        # A time frame ends an outcome only where the next outcome starts (a capital) or at the end.
        if after.strip() and not re.match(r"\s+[A-Z]", after):
            continue
        measure = text[position : match.start()].strip()
        if not measure:
            continue
        out.append(
            {"measure": measure, "description": None, "time_frame": match.group(0).rstrip(",")}
        )
        position = match.end()
    rest = text[position:].strip()
    if rest:
        out.append({"measure": rest, "description": None, "time_frame": None})
    return out


def _arms(lines: list[str]) -> list[dict[str, Any]]:
    """Arms: one per line, or a flattened ``Group Intervention Description`` table."""
    content = [line.strip() for line in lines if line.strip()]
    if not content:
        return []
    if len(content) > 1:
        return [
            {"label": None, "description": _unbullet(c), "doses": find_doses(c)} for c in content
        ]
    text = re.sub(r"^Group\s+Intervention\s+Description\s*", "", content[0])
    # Split at group numbers, but not at numbers followed by a unit ("6 month treatment").
    pieces = re.split(r"(?:^|\s)(\d{1,2})\s+(?!(?:months?|weeks?|days?|years?|mg|times)\b)", text)
    arms: list[dict[str, Any]] = []
    if pieces[0].strip():
        arms.append(
            {"label": None, "description": pieces[0].strip(), "doses": find_doses(pieces[0])}
        )
    for label, description in zip(pieces[1::2], pieces[2::2], strict=False):
        arms.append(
            {"label": label, "description": description.strip(), "doses": find_doses(description)}
        )
    return arms


def _design(values: dict[str, str], text: str) -> dict[str, Any]:
    phrases: list[str] = []
    masking = values.get("masking")
    allocation = values.get("allocation")
    model = values.get("intervention_model") or values.get("study_design")
    for pattern, kind, value in (
        (r"\bdouble[- ]blind(?:ed)?\b", "masking", "DOUBLE"),
        (r"\btriple[- ]blind(?:ed)?\b", "masking", "TRIPLE"),
        (r"\bsingle[- ]blind(?:ed)?\b", "masking", "SINGLE"),
        (r"\bopen[- ]label\b", "masking", "NONE"),
        (r"\bnon[- ]randomi[sz]ed\b", "allocation", "NON_RANDOMIZED"),
        (r"\brandomi[sz]ed\b|\bRCT\b", "allocation", "RANDOMIZED"),
        (r"\bsingle[- ](?:arm|group)\b", "model", "SINGLE_GROUP"),
        (r"\bpilot study\b", None, None),
        (r"\bplacebo\b", None, None),
    ):
        match = re.search(pattern, text, re.IGNORECASE)
        if not match:
            continue
        phrases.append(match.group(0))
        if kind == "masking" and masking is None:
            masking = value
        elif kind == "allocation" and allocation is None:
            allocation = value
        elif kind == "model" and model is None:
            model = value
    return {
        "study_type": values.get("study_type"),
        "phases": [values["phase"]] if values.get("phase") else [],
        "allocation": allocation,
        "intervention_model": model,
        "primary_purpose": values.get("primary_purpose"),
        "masking": masking,
        "enrollment": int(values["enrollment"])
        if re.fullmatch(r"\d+", values.get("enrollment", "") or "")
        else None,
        "phrases": phrases,
    }


def _registry(text: str) -> Record:
    lines = text.split("\n")
    interventions: list[dict[str, Any]] = []
    status_lines: list[str] = []
    kept: list[str] = []
    for line in lines:
        match = _INTERVENTION_LINE.match(_unbullet(line))
        if match:
            interventions.append(
                {
                    "type": match.group(1).upper(),
                    "name": match.group(2).strip(),
                    "description": None,
                    "doses": find_doses(match.group(2)),
                }
            )
            continue
        if _norm(line) in _STATUS_PHRASES:
            status_lines.append(_unbullet(line))
            continue
        kept.append(line)

    sections: list[tuple[str, list[str]]] = [("preamble", [])]
    values: dict[str, str] = {}
    spill: dict[str, list[str]] = {}
    for line in kept:
        heading = _heading(line)
        if heading is not None:
            key, inline = heading
            sections.append((key, []))
            if inline is not None:
                values.setdefault(key, inline)
            continue
        sections[-1][1].append(line)
    blocks: dict[str, list[str]] = {}
    for key, content in sections:
        if (key in _SINGLE.values() and key not in ("official_title",)) or key == "nct_id":
            rest = list(content)
            if key not in values:
                while rest and not rest[0].strip():
                    rest.pop(0)
                if rest:
                    values[key] = _unbullet(rest.pop(0))
            if any(r.strip() for r in rest):
                spill.setdefault(key, []).extend(rest)
        elif key == "official_title":
            paragraph = _paragraphs(content)
            if paragraph and "official_title" not in values:
                values["official_title"] = paragraph[0]
            if len(paragraph) > 1:
                spill.setdefault(key, []).extend(paragraph[1:])
        else:
            blocks.setdefault(key, []).extend(content)

    preamble = [line.strip() for line in blocks.get("preamble", []) if line.strip()]
    nct_ids = find_nct_ids(values.get("nct_id"), text)
    title = preamble[0] if preamble else values.get("official_title") or (nct_ids or [""])[0]

    summary_lines = blocks.get("summary") or []
    if not any(s.strip() for s in summary_lines):
        summary_lines = spill.get("nct_id", [])
    if not any(s.strip() for s in summary_lines) and len(preamble) > 1:
        summary_lines = [max(preamble[1:], key=len)]
    abstract = "\n\n".join(_paragraphs(summary_lines))
    detailed = "\n\n".join(_paragraphs(blocks.get("detailed_description", []))) or None

    if blocks.get("inclusion") or blocks.get("exclusion"):
        criteria_text = (
            "Inclusion Criteria:\n"
            + "\n".join(blocks.get("inclusion", []))
            + "\nExclusion Criteria:\n"
            + "\n".join(blocks.get("exclusion", []))
        )
    elif any(line.strip() for line in blocks.get("eligibility", [])):
        criteria_text = "\n".join(blocks["eligibility"])
    else:
        leftovers = [
            line
            for key in ("status", "sex", "enrollment", "ages")
            for line in spill.get(key, [])
            if line.strip()
        ]
        criteria_text = "\n".join(
            line if _is_bullet(line) else f"- {line.strip()}" for line in leftovers
        )
    eligibility = split_eligibility(criteria_text)

    for line in blocks.get("interventions", []):
        if line.strip():
            name = _unbullet(line)
            interventions.append(
                {"type": None, "name": name, "description": None, "doses": find_doses(name)}
            )
    arms = _arms(blocks.get("arms", []))
    conditions = [
        c
        for line in blocks.get("conditions", [])
        if line.strip()
        for c in _split_glued(_unbullet(line))
    ]

    locations: list[dict[str, Any]] = []
    location_lines = [line.strip() for line in blocks.get("locations", []) if line.strip()]
    index = 0
    while index < len(location_lines):
        facility = location_lines[index]
        place = location_lines[index + 1] if index + 1 < len(location_lines) else ""
        flag = re.match(r"^[\U0001F1E6-\U0001F1FF]{2}\s*(.+)$", place)
        if flag:
            city, _, country = flag.group(1).rpartition(",")
            locations.append(
                {
                    "facility": facility,
                    "city": city.strip() or None,
                    "country": country.strip() or None,
                }
            )
            index += 2
        else:
            locations.append({"facility": facility, "city": None, "country": None})
            index += 1

    official_lines = [line.strip() for line in blocks.get("officials", []) if line.strip()]
    officials: list[dict[str, Any]] = []
    for line in dict.fromkeys(official_lines):
        if officials and (len(line.split()) > 4 or "," in line):
            officials[-1]["affiliation"] = line
        else:
            officials.append({"name": line, "affiliation": None, "role": None})
    contact = ", ".join(line.strip() for line in blocks.get("contact", []) if line.strip())

    status = values.get("status") or (status_lines[0] if status_lines else None)
    doses = find_doses(
        *(a["description"] for a in arms),
        *(i["name"] for i in interventions),
        abstract,
        detailed,
    )
    fields: dict[str, Any] = {
        "nct_id": nct_ids[0] if nct_ids else None,
        "brief_title": title,
        "official_title": values.get("official_title"),
        "status": {"overall": status},
        "sponsor": {"lead": values.get("sponsor")},
        "conditions": conditions,
        "detailed_description": detailed,
        "design": _design(values, text),
        "arms": arms,
        "interventions": interventions,
        "doses": doses,
        "eligibility": {
            "criteria_text": criteria_text or None,
            **eligibility,
            "sex": values.get("sex"),
            "ages": values.get("ages"),
        },
        "outcomes": {
            "primary": _outcomes(blocks.get("primary_outcomes", [])),
            "secondary": _outcomes(blocks.get("secondary_outcomes", [])),
            "other": _outcomes(blocks.get("other_outcomes", [])),
        },
        "locations": locations,
        "officials": officials,
        "contact": contact or None,
    }
    return Record(
        source="text",
        title=title,
        kind="registry",
        abstract=abstract,
        year=parse_year(values.get("start_date")),
        nct_ids=nct_ids,
        url=f"https://clinicaltrials.gov/study/{nct_ids[0]}" if nct_ids else None,
        fields=fields,
    )


# -- monographs -------------------------------------------------------------------------------

_BOILERPLATE = re.compile(
    r"Google Translate|^Translate$|^toc-icon$|^Cite this$|^Dive into the research topics"
    r"|^On DermNet$|^Other websites$|^Books about skin diseases$|^Related information$"
    r"|^Sign up to the newsletter$",
    re.IGNORECASE,
)


def _looks_like_heading(line: str, following: str | None) -> bool:
    stripped = line.strip()
    return bool(
        stripped
        and following is not None
        and not _is_bullet(line)
        and len(stripped) <= 80
        and stripped[-1] not in ".:,;"
        and not re.match(r"^\d", stripped)
    )


def _monograph(text: str) -> Record:
    lines = [line for line in text.split("\n") if not _BOILERPLATE.search(line.strip())]
    content = [line for line in lines if line.strip()]
    title = content[0].strip() if content else ""
    authors: list[str] = []
    fields: dict[str, Any] = {"drug": title}
    year = None
    body_start = 1
    for i, line in enumerate(content[:6]):
        match = re.match(r"^Authors?:\s*(.+)$", line.strip())
        if match:
            author_part, _, editor_part = match.group(1).partition("Chief Editor:")
            authors = [a.strip() for a in author_part.split(";")]
            authors = [a.split(",")[0].strip() for a in authors if a.strip()]
            fields["author_line"] = line.strip()
            if editor_part:
                fields["chief_editor"] = editor_part.split(",")[0].strip()
            years = re.findall(r"\b(?:19|20)\d{2}\b", line)
            year = int(years[-1]) if years else None
            body_start = i + 1
    if re.search(r"\bDermNet\b", text):
        fields["publisher"] = "DermNet"

    sections: list[dict[str, Any]] = []
    body = content[body_start:]
    for i, line in enumerate(body):
        following = body[i + 1] if i + 1 < len(body) else None
        if _looks_like_heading(line, following):
            sections.append({"heading": line.strip(), "text": "", "items": []})
            continue
        if not sections:
            sections.append({"heading": "", "text": "", "items": []})
        if _is_bullet(line):
            sections[-1]["items"].append(_unbullet(line))
        else:
            joined = (
                f"{sections[-1]['text']}\n\n{line.strip()}"
                if sections[-1]["text"]
                else line.strip()
            )
            sections[-1]["text"] = joined
    sections = [s for s in sections if s["text"] or s["items"]]
    references: list[dict[str, Any]] = []
    for section in sections:
        if section["heading"].lower() == "references":
            for item in section["items"]:
                pmid = re.search(r"PMID:\s*(\d+)", item)
                references.append(
                    {
                        "citation": item,
                        "pmid": pmid.group(1) if pmid else None,
                        "doi": clean_doi(item) if DOI_RE.search(item) else None,
                    }
                )
    fields["sections"] = sections
    fields["references"] = references
    abstract = next((s["text"] for s in sections if s["text"]), "")
    return Record(
        source="text",
        title=title,
        kind="monograph",
        abstract=abstract,
        authors=authors,
        year=year,
        nct_ids=find_nct_ids(text),
        fields=fields,
    )


# -- articles ---------------------------------------------------------------------------------

_ARTICLE_HEADINGS = {
    "publication types": "publication_types",
    "mesh terms": "mesh",
    "substances": "substances",
    "keywords": "keywords",
    "grants and funding": "grants",
    "comment in": "comments",
    "related information": "related",
    "linkout - more resources": "linkout",
    "abstract": "abstract",
    "references": "references",
}
_PORTAL_LABELS = (
    "Original language",
    "Pages (from-to)",
    "Number of pages",
    "Journal",
    "Issue number",
    "Volume",
    "Publication status",
    "DOIs",
    "Article number",
    "State",
)
_CITATION = re.compile(
    r"^(?P<journal>[A-Z][^\n]*?)\.\s+(?P<year>(?:19|20)\d{2})\b(?P<date>[^;.]*)"
    r"(?:;\s*(?P<volume>[^(:.\s]+)?(?:\((?P<issue>[^)]+)\))?(?::(?P<pages>[^.\s]+))?)?\."
)
_SECTION_LABEL = re.compile(r"^([A-Z][A-Z /&-]{2,40}):\s+(.+)$")


def _name_list(line: str) -> list[str] | None:
    """Authors when ``line`` is a comma-separated list of personal names, else None."""
    if re.search(r"\d|[.:;!?]$", line.strip()) or "," not in line:
        return None
    names = [n.strip() for n in re.split(r",\s*|\s+and\s+", line) if n.strip()]
    if len(names) < 2:
        return None
    for name in names:
        words = name.split()
        if not 2 <= len(words) <= 5 or not all(w[0].isupper() for w in words if w[0].isalpha()):
            return None
    return names


def _infer_types(title: str, abstract: str) -> list[str]:
    text = f"{title}\n{abstract}".lower()
    types = []
    if re.search(r"systematic(?:al)? review", text):
        types.append("Systematic Review")
    if re.search(r"meta-?analys[ie]s", text):
        types.append("Meta-Analysis")
    if re.search(
        r"case report|we (?:report|describe|present) (?:a|the) (?:case|patient)"
        r"|our patient, an? \d+-year-old",
        text,
    ):
        types.append("Case Reports")
    if re.search(
        r"randomi[sz]ed(?:,)? (?:double-blind(?:ed)?,? )?(?:placebo-controlled )?"
        r"(?:controlled )?trial",
        title.lower(),
    ):
        types.append("Randomized Controlled Trial")
    return types


def _article(text: str) -> Record:
    raw_lines = text.split("\n")
    lines = [line for line in raw_lines if not _BOILERPLATE.search(line.strip())]
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    title = lines[nonblank[0]].strip() if nonblank else ""
    fields: dict[str, Any] = {}
    authors: list[str] = []
    citation: dict[str, str | None] = {}
    explicit_types: list[str] = []
    meta: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    abstract_parts: list[str] = []

    current_list: str | None = None
    blank_run = 0
    last_list: str | None = None
    header_done = False
    i = nonblank[0] + 1 if nonblank else 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        i += 1
        if not stripped:
            blank_run += 1
            if blank_run >= 2 and current_list is not None:
                last_list, current_list = current_list, None
            continue
        blank_run_before, blank_run = blank_run, 0
        norm = _norm(line)
        if norm in _ARTICLE_HEADINGS and not _is_bullet(line):
            current_list = _ARTICLE_HEADINGS[norm]
            lists.setdefault(current_list, [])
            header_done = True
            continue
        if _is_bullet(line):
            if current_list is None:
                current_list = (
                    "substances" if last_list == "mesh" and blank_run_before >= 2 else "keywords"
                )
                lists.setdefault(current_list, [])
            lists[current_list].append(_unbullet(line))
            continue
        if current_list is not None and current_list != "abstract":
            last_list, current_list = current_list, None
        output = re.match(r"^Research output:\s*(.+)$", stripped)
        if output:
            fields["research_output"] = output.group(1)
            if "article" in output.group(1).lower():
                explicit_types.append("Journal Article")
            if "review" in output.group(1).lower() and "peer-review" in output.group(1).lower():
                fields["peer_reviewed"] = True
            continue
        label = next((lab for lab in _PORTAL_LABELS if stripped.startswith(lab)), None)
        if label and len(stripped) < 120 and stripped[-1:] != "." and stripped != label:
            meta[label] = stripped[len(label) :].strip()
            header_done = True
            continue
        if not header_done and not citation:
            match = _CITATION.match(stripped)
            if match:
                citation = match.groupdict()
                doi_match = DOI_RE.search(stripped)
                citation["doi"] = doi_match.group(0) if doi_match else None
                citation["line"] = stripped
                continue
        if not header_done and not authors and not abstract_parts:
            names = _name_list(stripped)
            if names:
                authors = names
                continue
        if not header_done:
            abstract_parts.append(stripped)
    sections = []
    for part in abstract_parts:
        match = _SECTION_LABEL.match(part)
        if match:
            sections.append({"label": match.group(1), "text": match.group(2)})
        else:
            sections.append({"label": None, "text": part})
    if any(s["label"] for s in sections):
        fields["abstract_sections"] = sections
    abstract = "\n\n".join(abstract_parts)

    mesh_lines = lists.get("mesh", [])
    mesh_terms = dedupe_keep_order(m.split(" / ")[0].rstrip("*").strip() for m in mesh_lines)
    if mesh_lines:
        fields["mesh_headings"] = mesh_lines
    if lists.get("substances"):
        fields["substances"] = lists["substances"]
    publication_types = list(lists.get("publication_types", []))
    if publication_types:
        types = publication_types
    else:
        inferred = _infer_types(title, abstract)
        types = dedupe_keep_order([*explicit_types, *inferred])
        if inferred:
            fields["publication_types_inferred"] = True
    journal = citation.get("journal") or meta.get("Journal")
    year = parse_year(citation.get("year")) or parse_year(meta.get("Publication status"))
    doi = clean_doi(citation.get("doi")) or clean_doi(meta.get("DOIs"))
    if doi is None:
        for line in lines[: nonblank[min(len(nonblank) - 1, 6)] + 1] if nonblank else []:
            if "doi" in line.lower():
                doi = clean_doi(line)
                if doi:
                    break
    pmid_match = re.search(r"\bPMID:\s*(\d{1,9})\b", text)
    pmcid_match = re.search(r"\bPMCID:\s*(PMC\d+)\b", text)
    if citation:
        fields["citation"] = citation.pop("line")
        for key in ("volume", "issue", "pages"):
            if citation.get(key):
                fields[key] = citation[key]
    if meta.get("Volume"):
        fields["volume"] = meta["Volume"]
    if meta.get("Issue number"):
        fields["issue"] = meta["Issue number"]
    if meta.get("Pages (from-to)"):
        fields["pages"] = meta["Pages (from-to)"]
    if meta:
        fields["page_metadata"] = meta
    return Record(
        source="text",
        title=title,
        kind="article",
        abstract=abstract,
        authors=authors,
        journal=journal,
        year=year,
        doi=doi,
        pmid=pmid_match.group(1) if pmid_match else None,
        pmcid=pmcid_match.group(1) if pmcid_match else None,
        nct_ids=find_nct_ids(title, abstract),
        publication_types=types,
        keywords=lists.get("keywords", []),
        mesh_terms=mesh_terms,
        language=meta.get("Original language"),
        fields=fields,
    )
