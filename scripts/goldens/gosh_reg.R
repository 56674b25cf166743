# Regenerates tests/data/goldens_gosh_reg.json: metafor's gosh() of meta-regressions.
#
# Run from the repository root:
#     Rscript scripts/goldens/gosh_reg.R
# Needs R with metafor 3.8, metadat and jsonlite.
#
# gosh(rma(yi, vi, mods = ~ ablat, data = dat.bcg[1:10, ], method = M, control = ctrl)) for M in
# REML and EE (the first 10 trials, log risk ratios: 1,013 subsets of >= 2 trials), and
# mods = ~ ablat + year for DL (968 subsets of >= 3; year - 1960);
# ctrl = list(threshold = 1e-12, tol = 1e-12, maxiter = 5000) so the iterative estimators are
# converged beyond metafor's defaults. Stored: res (k, QE, I2, H2, tau2 and
# one column per coefficient; "NA" where metafor's fit failed) and incl (0/1), in metafor's
# row order.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)[1:10, ]
# year centred at 1960: with calendar years X'WX of a 4-trial subset is so ill-conditioned that
# QE loses up to 2 digits in metafor (1.7e-2 relative against exact rational arithmetic; ours
# 1.8e-4), which would test rounding, not the fits
bcg$year <- bcg$year - 1960
out <- list(
  generated_by = "scripts/goldens/gosh_reg.R",
  metafor_version = as.character(packageVersion("metafor")),
  data = list(source = "metadat::dat.bcg[1:10, ], escalc(measure = 'RR')", yi = as.numeric(bcg$yi),
              vi = as.numeric(bcg$vi), ablat = as.numeric(bcg$ablat),
              year = as.numeric(bcg$year), year_note = "dat.bcg$year - 1960"),
  cases = list()
)
case <- function(name, mods, method) {
  cat(name, "\n")
  fit <- rma(yi, vi, mods = mods, data = bcg, method = method, control = ctrl)
  g <- gosh(fit, progbar = FALSE)
  res <- lapply(as.list(g$res), as.numeric)
  out$cases[[name]] <<- list(
    call = sprintf("gosh(rma(yi, vi, mods = %s, data = bcg, method = \"%s\", control = ctrl))",
                   deparse(mods), method),
    mods = all.vars(mods), method = method, columns = names(g$res), res = res,
    fit = as.logical(g$fit),
    incl = unname(lapply(seq_len(nrow(g$incl)), function(i) as.integer(g$incl[i, ]))))
}
case("bcg_ablat_REML", ~ ablat, "REML")
case("bcg_ablat_EE", ~ ablat, "EE")
case("bcg_ablat_year_DL", ~ ablat + year, "DL")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "string", pretty = FALSE),
           "tests/data/goldens_gosh_reg.json")
cat("wrote tests/data/goldens_gosh_reg.json\n")
