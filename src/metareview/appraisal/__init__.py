"""Appraisal: risk of bias of the studies and the certainty of the evidence (GRADE)."""
