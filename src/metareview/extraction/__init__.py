"""Extraction stage: study data with provenance (every number with status and source)."""

from metareview.extraction.provenance import (
    STATUSES,
    Derivation,
    Quantity,
    SourceRef,
    SourceSpec,
    Status,
)
from metareview.extraction.registry import (
    RegistryExtraction,
    RegistryValue,
    registry_values,
)
from metareview.extraction.study import (
    MEASURE_INPUTS,
    Arm,
    OutcomeData,
    StudyData,
    StudyDataFile,
    load_studies,
)

__all__ = [
    "MEASURE_INPUTS",
    "STATUSES",
    "Arm",
    "Derivation",
    "OutcomeData",
    "Quantity",
    "RegistryExtraction",
    "RegistryValue",
    "SourceRef",
    "SourceSpec",
    "Status",
    "StudyData",
    "StudyDataFile",
    "load_studies",
    "registry_values",
]
