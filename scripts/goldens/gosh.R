# Regenerates tests/data/goldens_gosh.json: reference values for metareview.models.gosh, fsn, tes.
#
# Run from the repository root:
#     Rscript scripts/goldens/gosh.R
# Needs R >= 4.2 with metafor 3.8 and metadat (Debian: r-cran-metafor r-cran-metadat) and jsonlite.
#
# gosh(): every subset of the first 8 trials of dat.bcg (log risk ratios), for the methods EE, DL,
# REML and PM, with control=list(threshold=1e-12, tol=1e-12, maxiter=5000) so the iterative
# estimators are converged far beyond metafor's defaults. Stored per fit: res (k, QE, I2, H2,
# tau2, estimate) and incl (the inclusion matrix, 0/1), in metafor's row order.
# fsn(): types Rosenthal, Orwin (unweighted, weighted, with a target), Rosenberg on all of dat.bcg,
# and on dat.molloy2014 (Fisher's z of correlations), at alpha 0.05 and 0.01.
# tes(): the test of excess significance for dat.bcg and dat.molloy2014 (fixed-effect theta),
# with tau2 from an REML fit, test chi2 / binom / exact, tes.alternative greater / two.sided.
# Non-finite numbers are written as the strings "NA", "NaN", "Inf" and "-Inf".

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)
special <- function(x) {
  if (is.list(x)) return(lapply(x, special))
  if (!is.numeric(x) && !is.logical(x)) return(x)
  out <- as.list(as.numeric(x))
  out <- lapply(out, function(v) if (is.na(v) && !is.nan(v)) "NA" else if (is.nan(v)) "NaN"
                else if (is.infinite(v)) (if (v > 0) "Inf" else "-Inf") else v)
  if (length(out) == 1) out[[1]] else out
}

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
sub <- bcg[1:8, ]
out <- list(datasets = list(
  bcg8 = list(source = "dat.bcg[1:8], escalc RR", yi = as.numeric(sub$yi), vi = as.numeric(sub$vi)),
  bcg = list(source = "dat.bcg, escalc RR", yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi))
))
mol <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
out$datasets$molloy <- list(source = "dat.molloy2014, escalc ZCOR", yi = as.numeric(mol$yi),
                            vi = as.numeric(mol$vi))

# Becker (2005)'s three data sets, for the General fail-safe N values that metafor's own
# tests/testthat/test_misc_fsn.r asserts (metafor >= 4, not installed here).
out$datasets$raudenbush <- list(source = "dat.raudenbush1985", yi = as.numeric(dat.raudenbush1985$yi),
                                vi = as.numeric(dat.raudenbush1985$vi))
out$datasets$hackshaw <- list(source = "dat.hackshaw1998", yi = as.numeric(dat.hackshaw1998$yi),
                              vi = as.numeric(dat.hackshaw1998$vi))
mcd <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.mcdaniel1994)
out$datasets$mcdaniel <- list(source = "dat.mcdaniel1994, escalc ZCOR", yi = as.numeric(mcd$yi),
                              vi = as.numeric(mcd$vi))

# ---------------------------------------------------------------- gosh
out$gosh <- list()
for (method in c("EE", "DL", "REML", "PM")) {
  fit <- rma(yi, vi, data = sub, method = method, control = ctrl)
  g <- gosh(fit, progbar = FALSE)
  out$gosh[[method]] <- list(
    call = sprintf("gosh(rma(yi, vi, data = dat.bcg[1:8], method = \"%s\", control = ctrl))", method),
    k = g$res$k, QE = g$res$QE, I2 = g$res$I2, H2 = g$res$H2, tau2 = g$res$tau2,
    estimate = g$res$estimate, incl = unname(lapply(seq_len(nrow(g$incl)), function(i) as.integer(g$incl[i, ]))))
}

# ---------------------------------------------------------------- fsn
out$fsn <- list()
fsn_case <- function(name, yi, vi, ...) {
  f <- fsn(yi = yi, vi = vi, ...)
  out$fsn[[name]] <<- list(args = list(...), fsnum = f$fsnum, pval = f$pval, meanes = f$meanes,
                           target = f$target, alpha = f$alpha, type = f$type)
}
for (ds in c("bcg", "molloy", "raudenbush", "hackshaw", "mcdaniel")) {
  d <- out$datasets[[ds]]
  for (alpha in c(0.05, 0.01)) {
    fsn_case(sprintf("%s_rosenthal_%s", ds, alpha), d$yi, d$vi, type = "Rosenthal", alpha = alpha)
    fsn_case(sprintf("%s_rosenberg_%s", ds, alpha), d$yi, d$vi, type = "Rosenberg", alpha = alpha)
  }
  fsn_case(sprintf("%s_orwin", ds), d$yi, d$vi, type = "Orwin")
  fsn_case(sprintf("%s_orwin_weighted", ds), d$yi, d$vi, type = "Orwin", weighted = TRUE)
  fsn_case(sprintf("%s_orwin_target", ds), d$yi, d$vi, type = "Orwin", target = 0.05)
}

# ---------------------------------------------------------------- tes
out$tes <- list()
# metafor finds theta.lim by uniroot() at its default tol (~1.2e-4); theta_lim_tight is the same
# root of tes(theta = th)$pval - tes.alpha (find.lim = FALSE) refined by uniroot(tol = 1e-13).
tight <- function(lim, yi, vi, side, level, a, test) {
  if (is.na(lim)) return(NA)
  f <- function(th) {
    b <- a; b$theta <- th; b$tes.alternative <- side; b$test <- test
    do.call(tes, c(list(yi, vi, progbar = FALSE, find.lim = FALSE, tes.alpha = level), b))$pval - level
  }
  uniroot(f, c(lim - 0.01, lim + 0.01), tol = 1e-13)$root
}
tes_case <- function(name, yi, vi, ...) {
  t <- tes(yi, vi, progbar = FALSE, ...)
  a <- list(...)
  a$tes.alternative <- NULL
  lim_tight <- if (is.null(t$theta.lim)) NA else if (length(t$theta.lim) == 2)
    c(tight(t$theta.lim[1], yi, vi, "greater", t$tes.alpha / 2, a, t$test),
      tight(t$theta.lim[2], yi, vi, "less", t$tes.alpha / 2, a, t$test))
    else tight(t$theta.lim, yi, vi, t$tes.alternative, t$tes.alpha, a, t$test)
  a <- list(...)
  out$tes[[name]] <<- list(args = a, k = t$k, O = t$O, E = t$E, OEratio = t$OEratio,
                           test = t$test, X2 = if (is.na(t$X2)) "NA" else t$X2, pval = t$pval,
                           power = t$power, sig = as.integer(t$sig), theta = t$theta,
                           theta_lim = if (is.null(t$theta.lim)) "NA" else t$theta.lim,
                           theta_lim_tight = lim_tight)
}
for (ds in c("bcg", "molloy")) {
  d <- out$datasets[[ds]]
  tes_case(sprintf("%s_default", ds), d$yi, d$vi)
  tes_case(sprintf("%s_chi2", ds), d$yi, d$vi, test = "chi2")
  tes_case(sprintf("%s_binom", ds), d$yi, d$vi, test = "binom")
  tes_case(sprintf("%s_two_sided", ds), d$yi, d$vi, tes.alternative = "two.sided")
  tes_case(sprintf("%s_greater_alt", ds), d$yi, d$vi, alternative = "greater")
  fit <- rma(d$yi, d$vi, method = "REML", control = ctrl)
  tes_case(sprintf("%s_reml_tau2", ds), d$yi, d$vi, theta = fit$beta[1], tau2 = fit$tau2)
}

writeLines(toJSON(special(out), auto_unbox = TRUE, digits = NA, pretty = FALSE),
           "tests/data/goldens_gosh.json")
