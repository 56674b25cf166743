# Writes tests/data/metafor_examples_data.json: the datasets of metafor's published-example tests
# (tests/testthat/test_analysis_example_*.r in the metafor repository) that
# tests/models/test_metafor_examples.py reproduces. Only data are written; the expected values
# are those asserted in metafor's test files (cited by file and line in the Python tests).
#
#     Rscript scripts/goldens/metafor_examples_data.R
# Needs metafor 3.8 with metadat and jsonlite.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

cols <- function(d, keep) lapply(d[keep], function(x) if (is.numeric(x)) as.numeric(x) else as.character(x))

# test_analysis_example_viechtbauer2007a.r, lines 10-11
d <- dat.collins1985b[, 1:7]
d <- escalc(measure = "OR", ai = pre.xti, n1i = pre.nti, ci = pre.xci, n2i = pre.nci, data = d)
collins <- list(yi = as.numeric(d$yi), vi = as.numeric(d$vi))

# test_analysis_example_raudenbush2009.r, line 10
d <- dat.raudenbush1985
raud <- list(yi = as.numeric(d$yi), vi = as.numeric(d$vi), weeks = as.numeric(d$weeks))

# test_analysis_example_viechtbauer2007b.r, lines 10-12 (and line 54 for the dosage product)
d <- escalc(measure = "RR", ai = ai, ci = ci, n1i = n1i, n2i = n2i, data = dat.linde2005)
d <- d[c(7:10, 13:25), c(13:16, 18:19, 11, 6, 7, 9)]
d$dosage <- (d$dosage * 7) / 1000
linde <- c(list(yi = as.numeric(d$yi), vi = as.numeric(d$vi)),
           cols(d, c("dosage", "duration", "baseline")))

# tests/models/test_metafor_examples_more.py: the raw data of the datasets that file's tests
# take from metadat (the effect sizes are computed in Python by metareview's escalc).
# test_analysis_example_berkey1995.r, line 10
bcg <- cols(dat.bcg, c("tpos", "tneg", "cpos", "cneg", "ablat"))
# test_analysis_example_henmi2010.r, line 10
lee <- cols(dat.lee2004, c("ai", "n1i", "ci", "n2i"))
# test_analysis_example_normand1999.r, lines 12 and 62-65
hine <- cols(dat.hine1989, c("ai", "n1i", "ci", "n2i"))
normand <- cols(dat.normand1999, c("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"))
# test_analysis_example_yusuf1985.r, lines 10 and 53 (subset table == "6")
yusuf <- cols(dat.yusuf1985[dat.yusuf1985$table == "6", ], c("ai", "n1i", "ci", "n2i"))

writeLines(toJSON(list(metafor = as.character(packageVersion("metafor")),
                       collins1985b_OR = collins, raudenbush1985 = raud, linde2005_RR = linde,
                       bcg = bcg, lee2004 = lee, hine1989 = hine, normand1999 = normand,
                       yusuf1985_table6 = yusuf),
                  auto_unbox = TRUE, digits = NA, na = "string"),
           "tests/data/metafor_examples_data.json")
