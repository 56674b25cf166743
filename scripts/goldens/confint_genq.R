# Regenerates tests/data/goldens_confint_genq.json: reference values for metareview's
# confint(res, type="GENQ", weights=a) (metareview.models.confint), the generalised Q-profile CI
# of tau^2 (Jackson 2013), as metafor's confint.rma.uni computes it for
# rma(yi, vi, weights=a, method="GENQ"), and for rma(yi, vi, weights=a, method="GENQM") (the
# median-unbiased GENQ estimator), the other metafor result that uses the distribution of Q_a.
#
# Run from the repository root:
#     R_LIBS=/path/to/lib Rscript scripts/goldens/confint_genq.R
# Needs R >= 4.2 with metafor 3.8, metadat, jsonlite, mgcv (Debian: r-cran-metafor
# r-cran-metadat r-cran-jsonlite r-cran-mgcv) and CompQuadForm 1.4-3 from CRAN (not packaged by
# Debian; install its CRAN source into a library of your own, R CMD INSTALL -l /path/to/lib,
# and point R_LIBS there). metafor takes the tail probability of Q_a (a weighted sum of chi^2_1
# variables) from CompQuadForm::farebrother(), Farebrother's (1984) AS 204 implementation of
# Ruben's (1962) series, with its defaults (eps 1e-10, maxit 1e5, mode 1).
#
# Bounds. confint.rma.uni's GENQ root search calls uniroot() without control$tol, so what it
# prints ("random") stops within uniroot's default tolerance (eps^0.25 = 1.2e-4) of the root. The
# roots of metafor's own objective metafor:::.GENQ.func (CompQuadForm::farebrother inside) are
# therefore also searched here with uniroot(tol = 1e-13) ("tau2_tight"). The GENQM fits pass
# control$tol to their uniroot (rma.uni does), so control = list(tol = 1e-12) converges them.
#
# Cross-check of the distribution ("sf_points"): at tau^2 = 0, the estimate, metafor's first
# search limit max(100, 10 tau^2) and both tight bounds, metafor's eigenvalues lambda, Q_a and
# farebrother()'s Pr(Q_a* > Q_a), with Davies' (1980) algorithm (mgcv::psum.chisq, an
# independent C implementation) beside it where it succeeds (NA where it fails at tol 1e-6).
#
# Farebrother, R. W. (1984). Algorithm AS 204: the distribution of a positive linear
# combination of chi^2 random variables. Applied Statistics, 33(3), 332-339.
# Davies, R. B. (1980). The distribution of a linear combination of chi^2 random variables.
# Applied Statistics, 29(3), 323-333.

if (!requireNamespace("CompQuadForm", quietly = TRUE)) {
  stop("scripts/goldens/confint_genq.R needs the CRAN package CompQuadForm (metafor's GENQ ",
       "calls CompQuadForm::farebrother; Debian does not package it): install its CRAN source ",
       "with R CMD INSTALL -l /path/to/lib and run with R_LIBS=/path/to/lib", call. = FALSE)
}
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

vnum <- function(x) as.numeric(x)

# Davies' Pr(Q > q), at the tightest tolerance at which it succeeds
davies <- function(q, lambda) {
  for (tol in c(1e-10, 1e-9, 1e-8, 1e-7, 1e-6)) {  # it fails now and then at a tight tol
    p <- suppressWarnings(mgcv::psum.chisq(q, lambda, lower.tail = FALSE, tol = tol))
    if (is.finite(p) && p > -1e-12 && p < 1 + 1e-12) return(list(sf = p, tol = tol))
  }
  list(sf = NA_real_, tol = NA_real_)
}

# metafor's P_a, Q_a and lambda(tau^2), as confint.rma.uni / .GENQ.func build them
genq_parts <- function(dat, weights, mods) {
  X <- if (is.null(mods)) matrix(1, nrow(dat), 1) else cbind(1, as.matrix(dat[, mods, drop = FALSE]))
  A <- diag(weights)
  P <- A - A %*% X %*% solve(t(X) %*% A %*% X) %*% t(X) %*% A
  Q <- c(crossprod(dat$yi, P) %*% dat$yi)
  list(P = P, Q = Q, k = nrow(dat), p = ncol(X))
}
lambda_at <- function(g, vi, t2) {
  S <- diag(sqrt(vi + t2), nrow = g$k)
  Re(eigen(S %*% g$P %*% S, symmetric = TRUE, only.values = TRUE)$values)[seq_len(g$k - g$p)]
}
sf_point <- function(g, vi, t2, what) {
  lam <- lambda_at(g, vi, t2)
  fb <- CompQuadForm::farebrother(g$Q, lam)
  dv <- davies(g$Q, lam)
  list(what = what, tau2 = t2, q = g$Q, lambda = vnum(lam), sf_farebrother = fb$Qq,
       ifault = fb$ifault, sf_davies = dv$sf, davies_tol = dv$tol)
}
tight_roots <- function(g, vi, hi = 1e4) {
  one <- function(lower) {
    f <- function(t2) metafor:::.GENQ.func(t2, P = g$P, vi = vi, Q = g$Q, level = 0.025,
                                           k = g$k, p = g$p, getlower = lower)
    if (f(0) * f(hi) > 0) return(if (lower) 0 else NA_real_)
    uniroot(f, c(0, hi), tol = 1e-13, maxiter = 10000)$root
  }
  list(ci_lb = one(TRUE), ci_ub = one(FALSE))
}
mods_of <- function(dat, mods) {
  if (is.null(mods)) NULL else lapply(as.list(dat[, mods, drop = FALSE]), vnum)
}
rma_args <- function(dat, weights, mods, method) {
  args <- list(yi = dat$yi, vi = dat$vi, weights = weights, method = method)
  if (!is.null(mods)) args$mods <- as.matrix(dat[, mods, drop = FALSE])
  args
}

cases <- list()
genq_case <- function(id, dat, weights, mods = NULL, source) {
  res <- do.call(rma, rma_args(dat, weights, mods, "GENQ"))
  ci <- confint(res, type = "GENQ", control = list(tau2.max = 1e4))
  g <- genq_parts(dat, weights, mods)
  tight <- tight_roots(g, dat$vi)
  pts <- list(sf_point(g, dat$vi, 0, "tau2 = 0"), sf_point(g, dat$vi, res$tau2, "GENQ estimate"),
              sf_point(g, dat$vi, max(100, 10 * res$tau2), "search limit"))
  if (tight$ci_lb > 0) pts[[length(pts) + 1]] <- sf_point(g, dat$vi, tight$ci_lb, "ci_lb")
  if (is.finite(tight$ci_ub)) pts[[length(pts) + 1]] <- sf_point(g, dat$vi, tight$ci_ub, "ci_ub")
  cases[[id]] <<- list(
    id = id, source = source, yi = vnum(dat$yi), vi = vnum(dat$vi), weights = vnum(weights),
    mods = mods_of(dat, mods), tau2_genq = res$tau2, level = 95,
    random = list(names = rownames(ci$random), estimate = vnum(ci$random[, 1]),
                  ci_lb = vnum(ci$random[, 2]), ci_ub = vnum(ci$random[, 3])),
    lb_sign = ci$lb.sign, ub_sign = ci$ub.sign, tau2_tight = tight, sf_points = pts,
    # I^2 and H^2 at the tight bounds, as confint.rma.uni turns its bounds into them (vt: the
    # fit's typical within-study variance)
    vt = res$vt, I2_tight = vnum(100 * unlist(tight) / (res$vt + unlist(tight))),
    H2_tight = vnum(unlist(tight) / res$vt + 1)
  )
}

genqm <- list()
genqm_case <- function(id, dat, weights, mods = NULL, source) {
  res <- do.call(rma, c(rma_args(dat, weights, mods, "GENQM"), list(control = list(tol = 1e-12))))
  g <- genq_parts(dat, weights, mods)
  genqm[[id]] <<- list(
    id = id, source = source, yi = vnum(dat$yi), vi = vnum(dat$vi), weights = vnum(weights),
    mods = mods_of(dat, mods), tau2 = res$tau2, se_tau2 = res$se.tau2,
    beta = vnum(coef(res)), se = vnum(res$se), zval = vnum(res$zval), pval = vnum(res$pval),
    ci_lb = vnum(res$ci.lb), ci_ub = vnum(res$ci.ub), QE = res$QE, I2 = res$I2, H2 = res$H2,
    # Pr(Q_a* > Q_a) at the estimate by farebrother (1/2 when tau^2 > 0)
    sf_at_tau2 = CompQuadForm::farebrother(g$Q, lambda_at(g, dat$vi, res$tau2))$Qq,
    tau2_tight = tight_roots(g, dat$vi)
  )
}

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
src_bcg <- "dat.bcg; escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg)"
genq_case("bcg_w_inv_v", bcg, 1 / bcg$vi, source = src_bcg)
genq_case("bcg_w_inv_se", bcg, 1 / sqrt(bcg$vi), source = src_bcg)
genq_case("bcg_w_equal", bcg, rep(1, nrow(bcg)), source = src_bcg)
genq_case("bcg_ablat_w_inv_se", bcg, 1 / sqrt(bcg$vi), mods = "ablat", source = src_bcg)

hack <- dat.hackshaw1998
src_hack <- "dat.hackshaw1998; yi, vi as supplied (log odds ratios)"
genq_case("hackshaw_w_inv_se", hack, 1 / sqrt(hack$vi), source = src_hack)
nor <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = dat.normand1999)
src_nor <- "dat.normand1999; escalc(measure='MD', m1i, sd1i, n1i, m2i, sd2i, n2i)"
genq_case("normand_w_n", nor, nor$n1i + nor$n2i, source = src_nor)

# metafor's tests/testthat/test_analysis_example_jackson2014.r, lines 13-17 and 53-59:
# rma(yi, vi, mods = ~ xi, method = "GENQ", weights = 1/vi or 1/sqrt(vi)); confint(res)
jack1 <- data.frame(
  yi = c(0.0267, 0.8242, 0.3930, 2.4405, 2.1401, 1.2528, 2.4849, 0.3087, 1.4246, 0.1823,
         1.1378, 1.2321, 2.0695, 4.0237, 1.4383, 1.6021),
  vi = c(0.1285, 0.0315, 0.0931, 2.0967, 1.0539, 0.1602, 1.0235, 0.0218, 0.5277, 0.0556,
         0.3304, 0.1721, 0.4901, 2.0200, 0.3399, 0.1830),
  xi = c(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1))
jack2 <- data.frame(
  yi = c(0.54, 0.4, 0.64, 0.365, 0.835, 0.02, 0.12, 0.085, 1.18, 0.08, 0.18, 0.325, 0.06,
         0.715, 0.065, 0.245, 0.24, 0.06, 0.19),
  vi = c(0.0176, 0.019, 0.0906, 0.0861, 0.0063, 0.0126, 0.0126, 0.0041, 0.0759, 0.0126,
         0.0104, 0.0242, 0.0026, 0.2629, 0.0169, 0.0156, 0.0481, 0.0084, 0.0044),
  xi = c(1986, 1987, 1988, 1988, 1998, 1999, 2000, 2000, 2000, 2001, 2001, 2001, 2002, 2002,
         2002, 2002, 2003, 2003, 2003))
src_j1 <- "metafor test_analysis_example_jackson2014.r, example 1 (lines 13-17)"
src_j2 <- "metafor test_analysis_example_jackson2014.r, example 2 (lines 53-59)"
genq_case("jackson_ex1_w_inv_v", jack1, 1 / jack1$vi, mods = "xi", source = src_j1)
genq_case("jackson_ex1_w_inv_se", jack1, 1 / sqrt(jack1$vi), mods = "xi", source = src_j1)
genq_case("jackson_ex2_w_inv_v", jack2, 1 / jack2$vi, mods = "xi", source = src_j2)
genq_case("jackson_ex2_w_inv_se", jack2, 1 / sqrt(jack2$vi), mods = "xi", source = src_j2)

# three homogeneous studies with small sampling variances: Q_a is small beside the eigenvalues
# at tau^2 = 100 (metafor's first search limit), where Pr(Q_a* > Q_a) is within 1e-4 of 1
small_eq <- data.frame(yi = c(-0.01742, 0, 0.01742), vi = c(0.01, 0.01, 0.01))
small_uneq <- data.frame(yi = c(-0.017, 0.002, 0.018), vi = c(0.01, 0.012, 0.008))
src_small <- "made up: three studies, small sampling variances, little heterogeneity"
genq_case("small_k3_equal_v", small_eq, rep(100, 3), source = src_small)
genq_case("small_k3_w_inv_v", small_uneq, 1 / small_uneq$vi, source = src_small)
genq_case("small_k3_w_inv_se", small_uneq, 1 / sqrt(small_uneq$vi), source = src_small)

# rma(method = "GENQM"): metafor's test_analysis_example_dersimonian2007.r (lines 10-16, 38:
# CLASP, weights 1/vi) and the data above
clasp <- escalc(measure = "OR", ai = c(5, 5, 12, 69, 9, 313),
                n1i = c(156, 303, 565, 1570, 103, 4659), ci = c(8, 17, 9, 94, 11, 352),
                n2i = c(74, 303, 477, 1565, 105, 4650))
genqm_case("clasp_w_inv_v", clasp, 1 / clasp$vi,
           source = "metafor test_analysis_example_dersimonian2007.r (CLASP); escalc(measure='OR')")
genqm_case("bcg_w_inv_v", bcg, 1 / bcg$vi, source = src_bcg)
genqm_case("bcg_w_inv_se", bcg, 1 / sqrt(bcg$vi), source = src_bcg)
genqm_case("bcg_ablat_w_inv_se", bcg, 1 / sqrt(bcg$vi), mods = "ablat", source = src_bcg)
genqm_case("hackshaw_w_inv_se", hack, 1 / sqrt(hack$vi), source = src_hack)
genqm_case("jackson_ex2_w_inv_se", jack2, 1 / sqrt(jack2$vi), mods = "xi", source = src_j2)
genqm_case("small_k3_w_inv_v", small_uneq, 1 / small_uneq$vi, source = src_small)

# the tail probability itself, at a few points (the function confint inverts)
sf <- list()
for (pt in list(list(q = 5, lambda = c(2, 1, 0.5)), list(q = 0.3, lambda = c(0.9, 0.05, 0.01)),
                list(q = 40, lambda = c(10, 3, 3, 1, 0.2, 0.1)))) {
  fb <- CompQuadForm::farebrother(pt$q, pt$lambda)
  sf[[length(sf) + 1]] <- list(q = pt$q, lambda = pt$lambda, sf = fb$Qq,
                               sf_davies = davies(pt$q, pt$lambda)$sf)
}

out <- list(
  meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
              farebrother = paste("CompQuadForm", packageVersion("CompQuadForm"),
                                  "farebrother() (AS 204), defaults"),
              mgcv = as.character(packageVersion("mgcv"))),
  cases = cases, genqm = genqm, sf = sf
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "string",
                  pretty = FALSE), "tests/data/goldens_confint_genq.json")
cat("wrote tests/data/goldens_confint_genq.json\n")
