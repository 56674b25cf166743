"""The one owner of the risk-of-bias vocabulary: tools, domains, signalling questions, answers
and judgement words.

Everything else (the algorithms in :mod:`~metareview.appraisal.rob2` and
:mod:`~metareview.appraisal.robins_i`, the store, the template, the plots) derives from these
tables, so a question id or a judgement word is spelled in one place only.

Sources
-------
- RoB 2: Sterne JAC, Savović J, Page MJ, et al. RoB 2: a revised tool for assessing risk of bias
  in randomised trials. BMJ 2019;366:l4898; and Higgins JPT, Savović J, Page MJ, Sterne JAC
  (eds). Revised Cochrane risk-of-bias tool for randomized trials (RoB 2), full guidance document,
  22 August 2019 (riskofbias.info): individually randomised parallel-group trials, effect of
  assignment to intervention. Question ids 1.1 ... 5.3 and their wording follow that document.
- ROBINS-I: Sterne JAC, Hernán MA, Reeves BC, et al. ROBINS-I: a tool for assessing risk of bias
  in non-randomised studies of interventions. BMJ 2016;355:i4919, and its detailed guidance
  (20 October 2016). Question ids 1.1 ... 7.3 follow that document.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ANSWERS",
    "JUDGEMENTS",
    "JUDGEMENT_LABELS",
    "OVERALL",
    "ROB2",
    "ROBINS_I",
    "TOOLS",
    "Domain",
    "Question",
    "Tool",
    "find_tool",
]

#: Answers to a signalling question (RoB 2 guidance, "Responses to signalling questions"):
#: Yes, Probably yes, Probably no, No, No information, Not applicable.
ANSWERS: dict[str, str] = {
    "Y": "Yes",
    "PY": "Probably yes",
    "PN": "Probably no",
    "N": "No",
    "NI": "No information",
    "NA": "Not applicable",
}

#: The pseudo-domain name of the overall judgement (template rows, store, JSON).
OVERALL = "overall"

_ALL = ("Y", "PY", "PN", "N", "NI")
_COND = ("NA", "Y", "PY", "PN", "N", "NI")


@dataclass(frozen=True)
class Question:
    """A signalling question: its id as the guidance numbers it, its wording, the answers the
    guidance allows, and (for conditional questions) when it is asked."""

    id: str
    text: str
    answers: tuple[str, ...] = _ALL
    asked_if: str = ""


@dataclass(frozen=True)
class Domain:
    """A bias domain: id (``D1`` ...), its name, and its signalling questions."""

    id: str
    name: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Tool:
    """A risk-of-bias tool: name, title, domains and judgement words (best to worst)."""

    name: str
    title: str
    domains: tuple[Domain, ...]
    judgements: tuple[str, ...]
    #: whether the guidance gives an algorithm from answers to the domain judgement
    algorithmic: bool

    def domain(self, domain_id: str) -> Domain | None:
        """The domain with id ``domain_id`` (``D1`` ...), or None."""
        return next((d for d in self.domains if d.id == domain_id), None)

    def question(self, question_id: str) -> tuple[Domain, Question] | None:
        """The domain and question with id ``question_id`` (``1.1`` ...), or None."""
        for d in self.domains:
            for q in d.questions:
                if q.id == question_id:
                    return d, q
        return None


ROB2 = Tool(
    name="rob2",
    title="RoB 2 (individually randomised parallel-group trials, effect of assignment)",
    judgements=("low", "some_concerns", "high"),
    algorithmic=True,
    domains=(
        Domain("D1", "Bias arising from the randomisation process", (
            Question("1.1", "Was the allocation sequence random?"),
            Question("1.2", "Was the allocation sequence concealed until participants were "
                            "enrolled and assigned to interventions?"),
            Question("1.3", "Did baseline differences between intervention groups suggest a "
                            "problem with the randomisation process?"),
        )),
        Domain("D2", "Bias due to deviations from intended interventions", (
            Question("2.1", "Were participants aware of their assigned intervention during the "
                            "trial?"),
            Question("2.2", "Were carers and people delivering the interventions aware of "
                            "participants' assigned intervention during the trial?"),
            Question("2.3", "Were there deviations from the intended intervention that arose "
                            "because of the trial context?", _COND,
                     "Y/PY/NI to 2.1 or 2.2"),
            Question("2.4", "Were these deviations likely to have affected the outcome?", _COND,
                     "Y/PY to 2.3"),
            Question("2.5", "Were these deviations from intended intervention balanced between "
                            "groups?", _COND, "Y/PY/NI to 2.4"),
            Question("2.6", "Was an appropriate analysis used to estimate the effect of "
                            "assignment to intervention?"),
            Question("2.7", "Was there potential for a substantial impact (on the result) of the "
                            "failure to analyse participants in the group to which they were "
                            "randomised?", _COND, "N/PN/NI to 2.6"),
        )),
        Domain("D3", "Bias due to missing outcome data", (
            Question("3.1", "Were data for this outcome available for all, or nearly all, "
                            "participants randomised?"),
            Question("3.2", "Is there evidence that the result was not biased by missing outcome "
                            "data?", ("NA", "Y", "PY", "PN", "N"), "N/PN/NI to 3.1"),
            Question("3.3", "Could missingness in the outcome depend on its true value?", _COND,
                     "N/PN to 3.2"),
            Question("3.4", "Is it likely that missingness in the outcome depended on its true "
                            "value?", _COND, "Y/PY/NI to 3.3"),
        )),
        Domain("D4", "Bias in measurement of the outcome", (
            Question("4.1", "Was the method of measuring the outcome inappropriate?"),
            Question("4.2", "Could measurement or ascertainment of the outcome have differed "
                            "between intervention groups?"),
            Question("4.3", "Were outcome assessors aware of the intervention received by study "
                            "participants?", _COND, "N/PN/NI to 4.1 and 4.2"),
            Question("4.4", "Could assessment of the outcome have been influenced by knowledge "
                            "of intervention received?", _COND, "Y/PY/NI to 4.3"),
            Question("4.5", "Is it likely that assessment of the outcome was influenced by "
                            "knowledge of intervention received?", _COND, "Y/PY/NI to 4.4"),
        )),
        Domain("D5", "Bias in selection of the reported result", (
            Question("5.1", "Were the data that produced this result analysed in accordance "
                            "with a pre-specified analysis plan that was finalised before "
                            "unblinded outcome data were available for analysis?"),
            Question("5.2", "Is the numerical result being assessed likely to have been selected, "
                            "on the basis of the results, from multiple eligible outcome "
                            "measurements (e.g. scales, definitions, time points) within the "
                            "outcome domain?"),
            Question("5.3", "Is the numerical result being assessed likely to have been selected, "
                            "on the basis of the results, from multiple eligible analyses of "
                            "the data?"),
        )),
    ),
)  # fmt: skip

ROBINS_I = Tool(
    name="robins-i",
    title="ROBINS-I (non-randomised studies of interventions)",
    judgements=("low", "moderate", "serious", "critical", "no_information"),
    algorithmic=False,
    domains=(
        Domain("D1", "Bias due to confounding", (
            Question("1.1", "Is there potential for confounding of the effect of intervention in "
                            "this study?", _ALL),
            Question("1.2", "Was the analysis based on splitting participants' follow up time "
                            "according to intervention received?", _COND, "Y/PY to 1.1"),
            Question("1.3", "Were intervention discontinuations or switches likely to be related "
                            "to factors that are prognostic for the outcome?", _COND,
                     "Y/PY to 1.2"),
            Question("1.4", "Did the authors use an appropriate analysis method that controlled "
                            "for all the important confounding domains?", _COND,
                     "N/PN to 1.2, or N/PN to 1.3"),
            Question("1.5", "Were confounding domains that were controlled for measured validly "
                            "and reliably by the variables available in this study?", _COND,
                     "Y/PY to 1.4"),
            Question("1.6", "Did the authors control for any post-intervention variables that "
                            "could have been affected by the intervention?", _COND,
                     "N/PN to 1.2, or N/PN to 1.3"),
            Question("1.7", "Did the authors use an appropriate analysis method that adjusted for "
                            "all the important confounding domains and for time-varying "
                            "confounding?", _COND, "Y/PY to 1.3"),
            Question("1.8", "Were confounding domains that were adjusted for measured validly and "
                            "reliably by the variables available in this study?", _COND,
                     "Y/PY to 1.7"),
        )),
        Domain("D2", "Bias in selection of participants into the study", (
            Question("2.1", "Was selection of participants into the study (or into the analysis) "
                            "based on participant characteristics observed after the start of "
                            "intervention?"),
            Question("2.2", "Were the post-intervention variables that influenced selection "
                            "likely to be associated with intervention?", _COND, "Y/PY to 2.1"),
            Question("2.3", "Were the post-intervention variables that influenced selection "
                            "likely to be influenced by the outcome or a cause of the outcome?",
                     _COND, "Y/PY to 2.2"),
            Question("2.4", "Do start of follow-up and start of intervention coincide for most "
                            "participants?"),
            Question("2.5", "Were adjustment techniques used that are likely to correct for the "
                            "presence of selection biases?", _COND,
                     "Y/PY to 2.2 and 2.3, or N/PN to 2.4"),
        )),
        Domain("D3", "Bias in classification of interventions", (
            Question("3.1", "Were intervention groups clearly defined?"),
            Question("3.2", "Was the information used to define intervention groups recorded at "
                            "the start of the intervention?"),
            Question("3.3", "Could classification of intervention status have been affected by "
                            "knowledge of the outcome or risk of the outcome?"),
        )),
        Domain("D4", "Bias due to deviations from intended interventions", (
            Question("4.1", "Were there deviations from the intended intervention beyond what "
                            "would be expected in usual practice?", _COND,
                     "effect of assignment to intervention"),
            Question("4.2", "Were these deviations from intended intervention unbalanced between "
                            "groups and likely to have affected the outcome?", _COND,
                     "Y/PY to 4.1"),
            Question("4.3", "Were important co-interventions balanced across intervention "
                            "groups?", _COND, "effect of starting and adhering to intervention"),
            Question("4.4", "Was the intervention implemented successfully for most "
                            "participants?", _COND,
                     "effect of starting and adhering to intervention"),
            Question("4.5", "Did study participants adhere to the assigned intervention "
                            "regimen?", _COND, "effect of starting and adhering to intervention"),
            Question("4.6", "Was an appropriate analysis used to estimate the effect of starting "
                            "and adhering to the intervention?", _COND,
                     "N/PN to 4.3, 4.4 or 4.5"),
        )),
        Domain("D5", "Bias due to missing data", (
            Question("5.1", "Were outcome data available for all, or nearly all, participants?"),
            Question("5.2", "Were participants excluded due to missing data on intervention "
                            "status?"),
            Question("5.3", "Were participants excluded due to missing data on other variables "
                            "needed for the analysis?"),
            Question("5.4", "Are the proportion of participants and reasons for missing data "
                            "similar across interventions?", _COND,
                     "PN/N to 5.1, or Y/PY to 5.2 or 5.3"),
            Question("5.5", "Is there evidence that results were robust to the presence of "
                            "missing data?", _COND, "PN/N to 5.1, or Y/PY to 5.2 or 5.3"),
        )),
        Domain("D6", "Bias in measurement of outcomes", (
            Question("6.1", "Could the outcome measure have been influenced by knowledge of the "
                            "intervention received?"),
            Question("6.2", "Were outcome assessors aware of the intervention received by study "
                            "participants?"),
            Question("6.3", "Were the methods of outcome assessment comparable across "
                            "intervention groups?"),
            Question("6.4", "Were any systematic errors in measurement of the outcome related to "
                            "intervention received?"),
        )),
        Domain("D7", "Bias in selection of the reported result", (
            Question("7.1", "Is the reported effect estimate likely to be selected, on the basis "
                            "of the results, from multiple outcome measurements within the "
                            "outcome domain?"),
            Question("7.2", "Is the reported effect estimate likely to be selected, on the basis "
                            "of the results, from multiple analyses of the "
                            "intervention-outcome relationship?"),
            Question("7.3", "Is the reported effect estimate likely to be selected, on the basis "
                            "of the results, from different subgroups?"),
        )),
    ),
)  # fmt: skip

#: The tools by name (the ``--tool`` option and the template's ``tool`` column).
TOOLS: dict[str, Tool] = {ROB2.name: ROB2, ROBINS_I.name: ROBINS_I}

#: Every judgement word of either tool.
JUDGEMENTS: tuple[str, ...] = tuple(dict.fromkeys(ROB2.judgements + ROBINS_I.judgements))

#: How a judgement word is printed (robvis's legend words).
JUDGEMENT_LABELS: dict[str, str] = {
    "low": "Low",
    "some_concerns": "Some concerns",
    "high": "High",
    "moderate": "Moderate",
    "serious": "Serious",
    "critical": "Critical",
    "no_information": "No information",
}


def find_tool(name: str) -> Tool | None:
    """The tool called ``name`` (``rob2``, ``robins-i``; case and ``_``/``-`` ignored)."""
    key = name.strip().lower().replace("_", "-")
    return TOOLS.get({"robins": "robins-i", "robinsi": "robins-i", "rob-2": "rob2"}.get(key, key))
