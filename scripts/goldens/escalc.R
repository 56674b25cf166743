# Regenerate tests/data/goldens_escalc.json: metafor's escalc() and transf.*() on metadat data.
#
# Run from the repository root:  Rscript scripts/goldens/escalc.R
# Needs R with metafor (3.8.1 was used), metadat and jsonlite (Debian: r-cran-metafor,
# r-cran-metadat, r-cran-jsonlite). Each case stores its inputs (as metafor's argument names),
# the options passed to escalc() and metafor's yi/vi (null where metafor gives NA), so the Python
# tests need neither R nor metadat.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

cases <- list()

add_case <- function(name, source, measure, inputs, options = list()) {
  args <- c(list(measure = measure), inputs, options)
  res <- suppressWarnings(do.call(escalc, args))
  cases[[length(cases) + 1L]] <<- list(
    name = name, source = source, measure = measure,
    inputs = inputs, options = options,
    yi = as.numeric(res$yi), vi = as.numeric(res$vi)
  )
}

# ---- 2x2 tables -------------------------------------------------------------------------------
bcg <- dat.bcg
bcg_in <- list(ai = bcg$tpos, bi = bcg$tneg, ci = bcg$cpos, di = bcg$cneg)
for (m in c("RR", "OR", "RD", "PETO")) {
  add_case(paste0("bcg_", m), "metadat::dat.bcg", m, bcg_in)
}
add_case("bcg_RD_UB", "metadat::dat.bcg", "RD", bcg_in, list(vtype = "UB"))
add_case("bcg_RD_AV", "metadat::dat.bcg", "RD", bcg_in, list(vtype = "AV"))

# zero cells (single-zero and a double-zero study, Yucel 2004)
niel <- dat.nielweise2007
niel_in <- list(ai = niel$ai, n1i = niel$n1i, ci = niel$ci, n2i = niel$n2i)
for (m in c("RR", "OR", "RD", "PETO")) {
  add_case(paste0("nielweise2007_", m), "metadat::dat.nielweise2007", m, niel_in)
  add_case(paste0("nielweise2007_", m, "_drop00"), "metadat::dat.nielweise2007", m, niel_in,
           list(drop00 = TRUE))
  add_case(paste0("nielweise2007_", m, "_all"), "metadat::dat.nielweise2007", m, niel_in,
           list(to = "all"))
  add_case(paste0("nielweise2007_", m, "_if0all"), "metadat::dat.nielweise2007", m, niel_in,
           list(to = "if0all"))
  add_case(paste0("nielweise2007_", m, "_none"), "metadat::dat.nielweise2007", m, niel_in,
           list(to = "none"))
  add_case(paste0("nielweise2007_", m, "_add1"), "metadat::dat.nielweise2007", m, niel_in,
           list(add = 1))
}
add_case("nielweise2007_RD_UB", "metadat::dat.nielweise2007", "RD", niel_in, list(vtype = "UB"))
add_case("nielweise2007_RD_AV", "metadat::dat.nielweise2007", "RD", niel_in, list(vtype = "AV"))

# missing tables (Snow 1) and double zeros (Pitt, Hutton, Yusuf)
yus <- dat.yusuf1985[dat.yusuf1985$table == "6", ]
yus_in <- list(ai = yus$ai, n1i = yus$n1i, ci = yus$ci, n2i = yus$n2i)
for (m in c("OR", "RR", "RD", "PETO")) {
  add_case(paste0("yusuf1985_t6_", m), "metadat::dat.yusuf1985 (table 6)", m, yus_in)
  add_case(paste0("yusuf1985_t6_", m, "_drop00"), "metadat::dat.yusuf1985 (table 6)", m, yus_in,
           list(drop00 = TRUE))
}
li <- dat.li2007
add_case("li2007_OR", "metadat::dat.li2007", "OR",
         list(ai = li$ai, n1i = li$n1i, ci = li$ci, n2i = li$n2i))

# ---- two-group means --------------------------------------------------------------------------
nor <- dat.normand1999
nor_in <- list(m1i = nor$m1i, sd1i = nor$sd1i, n1i = nor$n1i,
               m2i = nor$m2i, sd2i = nor$sd2i, n2i = nor$n2i)
add_case("normand1999_MD", "metadat::dat.normand1999", "MD", nor_in)
add_case("normand1999_MD_HO", "metadat::dat.normand1999", "MD", nor_in, list(vtype = "HO"))
add_case("normand1999_SMD", "metadat::dat.normand1999", "SMD", nor_in)
add_case("normand1999_SMD_UB", "metadat::dat.normand1999", "SMD", nor_in, list(vtype = "UB"))
add_case("normand1999_SMD_LS2", "metadat::dat.normand1999", "SMD", nor_in, list(vtype = "LS2"))
add_case("normand1999_SMD_AV", "metadat::dat.normand1999", "SMD", nor_in, list(vtype = "AV"))
add_case("normand1999_ROM", "metadat::dat.normand1999", "ROM", nor_in)
add_case("normand1999_ROM_HO", "metadat::dat.normand1999", "ROM", nor_in, list(vtype = "HO"))
add_case("normand1999_ROM_AV", "metadat::dat.normand1999", "ROM", nor_in, list(vtype = "AV"))
add_case("normand1999_ROM_AVHO", "metadat::dat.normand1999", "ROM", nor_in, list(vtype = "AVHO"))

cur <- dat.curtis1998
cur_in <- list(m1i = cur$m1i, sd1i = cur$sd1i, n1i = cur$n1i,
               m2i = cur$m2i, sd2i = cur$sd2i, n2i = cur$n2i)
add_case("curtis1998_ROM", "metadat::dat.curtis1998", "ROM", cur_in)
add_case("curtis1998_SMD", "metadat::dat.curtis1998", "SMD", cur_in)

# SMD from a reported Cohen's d or t statistic, and a row too small for the bias correction
add_case("hand_SMD_di_ti", "hand data", "SMD",
         list(m1i = c(10.2, NA, NA, 5), sd1i = c(2.1, NA, NA, 1), n1i = c(20, 15, 30, 1),
              m2i = c(9.1, NA, NA, 4), sd2i = c(2.4, NA, NA, 1), n2i = c(22, 16, 28, 1),
              di = c(NA, 0.45, NA, NA), ti = c(NA, NA, -2.3, NA)))
add_case("hand_MD_missing", "hand data", "MD",
         list(m1i = c(10.2, NA, 7), sd1i = c(2.1, 1, 1.5), n1i = c(20, 15, 30),
              m2i = c(9.1, 3, 6), sd2i = c(2.4, 1, NA), n2i = c(22, 16, 28)))

# ---- proportions ------------------------------------------------------------------------------
pr <- dat.pritz1997
pr_in <- list(xi = pr$xi, ni = pr$ni)
for (m in c("PR", "PLO", "PLN", "PAS", "PFT")) {
  add_case(paste0("pritz1997_", m), "metadat::dat.pritz1997", m, pr_in)
}
add_case("pritz1997_PR_UB", "metadat::dat.pritz1997", "PR", pr_in, list(vtype = "UB"))
add_case("pritz1997_PR_AV", "metadat::dat.pritz1997", "PR", pr_in, list(vtype = "AV"))
add_case("pritz1997_PLO_AV", "metadat::dat.pritz1997", "PLO", pr_in, list(vtype = "AV"))
add_case("pritz1997_PLN_AV", "metadat::dat.pritz1997", "PLN", pr_in, list(vtype = "AV"))
add_case("pritz1997_PLO_all", "metadat::dat.pritz1997", "PLO", pr_in, list(to = "all"))
add_case("pritz1997_PLO_none", "metadat::dat.pritz1997", "PLO", pr_in, list(to = "none"))
add_case("pritz1997_PLO_if0all", "metadat::dat.pritz1997", "PLO", pr_in, list(to = "if0all"))
add_case("pritz1997_PAS_add", "metadat::dat.pritz1997", "PAS", pr_in,
         list(add = 0.5, to = "all"))
deb <- dat.debruin2009
deb_in <- list(xi = deb$xi, mi = deb$mi)
for (m in c("PR", "PLO", "PLN", "PAS", "PFT")) {
  add_case(paste0("debruin2009_", m), "metadat::dat.debruin2009", m, deb_in)
}
hand_pr <- list(xi = c(0, 3, 10, NA, 2), ni = c(10, 10, 10, 12, 7))
for (m in c("PR", "PLO", "PLN", "PAS", "PFT")) {
  add_case(paste0("hand_zero_", m), "hand data", m, hand_pr)
}

# ---- correlations -----------------------------------------------------------------------------
mol <- dat.molloy2014
mol_in <- list(ri = mol$ri, ni = mol$ni)
add_case("molloy2014_COR", "metadat::dat.molloy2014", "COR", mol_in)
add_case("molloy2014_COR_AV", "metadat::dat.molloy2014", "COR", mol_in, list(vtype = "AV"))
add_case("molloy2014_ZCOR", "metadat::dat.molloy2014", "ZCOR", mol_in)
hand_cor <- list(ri = c(0.5, -0.3, 0.99, 0.2, NA, 1), ni = c(3, 4, 50, 2, 20, 30))
add_case("hand_small_COR", "hand data", "COR", hand_cor)
add_case("hand_small_ZCOR", "hand data", "ZCOR", hand_cor)

# ---- incidence rates --------------------------------------------------------------------------
hart <- dat.hart1999
hart_in <- list(x1i = hart$x1i, t1i = hart$t1i, x2i = hart$x2i, t2i = hart$t2i)
add_case("hart1999_IRR", "metadat::dat.hart1999", "IRR", hart_in)
add_case("hart1999_IRD", "metadat::dat.hart1999", "IRD", hart_in)
hand_ir <- list(x1i = c(0, 4, 0, 7), t1i = c(100, 250.5, 80, 300),
                x2i = c(3, 0, 0, 9), t2i = c(110, 240, 75, 310))
for (m in c("IRR", "IRD")) {
  add_case(paste0("hand_zero_", m), "hand data", m, hand_ir)
  add_case(paste0("hand_zero_", m, "_drop00"), "hand data", m, hand_ir, list(drop00 = TRUE))
  add_case(paste0("hand_zero_", m, "_all"), "hand data", m, hand_ir, list(to = "all"))
  add_case(paste0("hand_zero_", m, "_none"), "hand data", m, hand_ir, list(to = "none"))
}

# ---- single-group pre/post (change) -----------------------------------------------------------
# m1i/sd1i: post (or follow-up), m2i/sd2i: pre (baseline) -- metafor's convention for "MC".
hand_mc <- list(m1i = c(24.1, 30.5, 12.2, 18.0, 9.9), sd1i = c(6.2, 8.1, 3.3, 5.0, 2.2),
                m2i = c(28.4, 33.0, 14.9, 18.5, 11.0), sd2i = c(6.8, 7.4, 3.1, 4.4, NA),
                ni = c(25, 40, 12, 2, 30), ri = c(0.6, 0.45, 0.8, 0.5, 0.7))
add_case("hand_prepost_MC", "hand data", "MC", hand_mc)
add_case("hand_prepost_SMCR", "hand data", "SMCR", hand_mc)
add_case("hand_prepost_SMCR_LS2", "hand data", "SMCR", hand_mc, list(vtype = "LS2"))
add_case("hand_prepost_SMCC", "hand data", "SMCC", hand_mc)

# ---- generic ----------------------------------------------------------------------------------
add_case("hand_GEN_vi", "hand data", "GEN",
         list(yi = c(0.1, -0.25, 0.4, NA), vi = c(0.04, 0.09, 0.0225, 0.01)))
add_case("hand_GEN_sei", "hand data", "GEN",
         list(yi = c(0.1, -0.25, 0.4), sei = c(0.2, 0.3, 0.15)))

# ---- single-group rates and means (appended after the cases above) ---------------------------
niel8 <- dat.nielweise2008
niel8_in <- list(xi = niel8$x1i, ti = niel8$t1i)
for (m in c("IR", "IRLN", "IRS", "IRFT")) {
  add_case(paste0("nielweise2008_", m), "metadat::dat.nielweise2008 (treated arm)", m, niel8_in)
}
hand_rate <- list(xi = c(0, 4, 12, NA, 1), ti = c(150, 250.5, 1000, 90, 33))
for (m in c("IR", "IRLN", "IRS", "IRFT")) {
  add_case(paste0("hand_zero_", m), "hand data", m, hand_rate)
  add_case(paste0("hand_zero_", m, "_all"), "hand data", m, hand_rate, list(to = "all"))
  add_case(paste0("hand_zero_", m, "_none"), "hand data", m, hand_rate, list(to = "none"))
}
add_case("hand_zero_IRS_add", "hand data", "IRS", hand_rate, list(add = 0.5))
add_case("hand_zero_IRLN_if0all", "hand data", "IRLN", hand_rate, list(to = "if0all"))
nor1_in <- list(mi = nor$m1i, sdi = nor$sd1i, ni = nor$n1i)
for (m in c("MN", "MNLN", "CVLN")) {
  add_case(paste0("normand1999_arm1_", m), "metadat::dat.normand1999 (arm 1)", m, nor1_in)
}
add_case("normand1999_arm1_SDLN", "metadat::dat.normand1999 (arm 1)", "SDLN",
         list(sdi = nor$sd1i, ni = nor$n1i))
hand_mn <- list(mi = c(12.5, 0, 3.2, NA, 7.7), sdi = c(3.1, 1.2, 0, 2, 2.5),
                ni = c(20, 15, 8, 10, 1))
for (m in c("MN", "MNLN", "CVLN")) {
  add_case(paste0("hand_", m), "hand data", m, hand_mn)
}
add_case("hand_SDLN", "hand data", "SDLN", list(sdi = hand_mn$sdi, ni = hand_mn$ni))

# ---- display back-transformations -------------------------------------------------------------
xs <- c(-2.5, -0.7, 0, 0.3, 1.1, 2.9)
pft <- escalc("PFT", xi = pr$xi, ni = pr$ni)
pas <- c(-0.1, 0, 0.2, 0.7, 1.2, asin(1), 1.7)
transforms <- list(
  x = xs,
  exp = exp(xs),
  ilogit = transf.ilogit(xs),
  ztor = transf.ztor(xs),
  iarcsin_x = pas,
  iarcsin = transf.iarcsin(pas),
  ipft_x = c(as.numeric(pft$yi), 0, 0.05, 1.5, 1.6),
  ipft_ni = pr$ni,
  ipft_hm = transf.ipft.hm(c(as.numeric(pft$yi), 0, 0.05, 1.5, 1.6), targs = list(ni = pr$ni)),
  ipft_study_x = as.numeric(pft$yi),
  ipft_study = transf.ipft(as.numeric(pft$yi), pr$ni)
)

out <- list(
  generated_by = "scripts/goldens/escalc.R",
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  cases = cases,
  transforms = transforms
)
dir.create("tests/data", showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "tests/data/goldens_escalc.json")
cat("wrote tests/data/goldens_escalc.json with", length(cases), "cases\n")
