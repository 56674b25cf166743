# Regenerates tests/data/goldens_confint_genq.json: reference values for metareview's
# confint(res, type="GENQ", weights=a) (metareview.models.confint), the generalised Q-profile CI
# of tau^2 (Jackson 2013), as metafor's confint.rma.uni computes it for
# rma(yi, vi, weights=a, method="GENQ").
#
# Run from the repository root:
#     Rscript scripts/goldens/confint_genq.R
# Needs R >= 4.2 with metafor 3.8, metadat, jsonlite and mgcv (Debian: r-cran-metafor
# r-cran-metadat r-cran-jsonlite r-cran-mgcv).
#
# metafor takes the distribution of Q_a (a weighted sum of chi^2_1 variables) from
# CompQuadForm::farebrother(). CompQuadForm is not packaged by Debian; when it is not installed,
# this script builds a one-function stand-in package "CompQuadForm" in a temporary library whose
# farebrother(q, lambda)$Qq is mgcv::psum.chisq(q, lambda, lower.tail=FALSE), Davies' (1980)
# algorithm (an independent implementation in C; tol 1e-9, or 1e-8 or 1e-7 where Davies' method
# fails at 1e-9; measured to agree with exact chi^2 cases to 1e-11 at tol 1e-8). metafor's own confint.rma.uni code (the matrix P, the eigenvalues, the
# root search) then runs unchanged. The file records which was used (meta$farebrother).
#
# The CIs are searched with tol=1e-12 on a wide interval (tau2.max = 1e4), so the bounds are
# converged far beyond metafor's defaults. Davies, R. B. (1980). The distribution of a linear
# combination of chi^2 random variables. Applied Statistics, 29(3), 323-333.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

fb_source <- "CompQuadForm"
if (!requireNamespace("CompQuadForm", quietly = TRUE)) {
  fb_source <- "mgcv::psum.chisq (Davies 1980) in a stand-in CompQuadForm package"
  lib <- file.path(tempdir(), "lib")
  pkg <- file.path(tempdir(), "CompQuadForm")
  dir.create(lib)
  dir.create(file.path(pkg, "R"), recursive = TRUE)
  writeLines(c("Package: CompQuadForm", "Version: 0.0.1", "Title: Stand-in",
               "Description: farebrother() by mgcv::psum.chisq.", "License: GPL-2",
               "Imports: mgcv"), file.path(pkg, "DESCRIPTION"))
  writeLines(c("export(farebrother)", "importFrom(mgcv, psum.chisq)"), file.path(pkg, "NAMESPACE"))
  writeLines(c(
    "farebrother <- function(q, lambda, ...) {",
    "  for (tol in c(1e-9, 1e-8, 1e-7)) {  # Davies' method fails now and then at a tight tol",
    "    p <- suppressWarnings(psum.chisq(q, lambda, lower.tail = FALSE, tol = tol))",
    "    if (is.finite(p) && p > -1e-12 && p < 1 + 1e-12) return(list(Qq = min(1, max(0, p))))",
    "  }",
    "  stop('psum.chisq failed at q = ', q)",
    "}"), file.path(pkg, "R", "farebrother.R"))
  suppressMessages(install.packages(pkg, lib = lib, repos = NULL, type = "source", quiet = TRUE))
  .libPaths(c(lib, .libPaths()))
}

vnum <- function(x) as.numeric(x)
cases <- list()
genq_case <- function(id, dat, weights, mods = NULL, source) {
  args <- list(yi = dat$yi, vi = dat$vi, weights = weights, method = "GENQ")
  if (!is.null(mods)) args$mods <- as.matrix(dat[, mods, drop = FALSE])
  res <- do.call(rma, args)
  ci <- confint(res, type = "GENQ", control = list(tol = 1e-12, tau2.max = 1e4))
  # confint.rma.uni's uniroot() for GENQ takes uniroot's default tol (eps^0.25 = 1.2e-4, it
  # does not pass control$tol), so its bounds are that far from the root; the same roots of
  # metafor's own objective .GENQ.func, searched at tol 1e-13, are recorded as well
  X <- if (is.null(mods)) matrix(1, nrow(dat), 1) else cbind(1, as.matrix(dat[, mods, drop = FALSE]))
  A <- diag(weights)
  P <- A - A %*% X %*% solve(t(X) %*% A %*% X) %*% t(X) %*% A
  Q <- c(crossprod(dat$yi, P) %*% dat$yi)
  k <- nrow(dat)
  p <- ncol(X)
  tight <- function(lower) {
    f <- function(t2) metafor:::.GENQ.func(t2, P = P, vi = dat$vi, Q = Q, level = 0.025, k = k,
                                           p = p, getlower = lower)
    if (f(0) * f(1e4) > 0) return(if (lower) 0 else NA_real_)
    uniroot(f, c(0, 1e4), tol = 1e-13, maxiter = 10000)$root
  }
  cases[[id]] <<- list(
    id = id, source = source, yi = vnum(dat$yi), vi = vnum(dat$vi), weights = vnum(weights),
    mods = if (is.null(mods)) NULL else lapply(as.list(dat[, mods, drop = FALSE]), vnum),
    tau2_genq = res$tau2, level = 95,
    random = list(names = rownames(ci$random), estimate = vnum(ci$random[, 1]),
                  ci_lb = vnum(ci$random[, 2]), ci_ub = vnum(ci$random[, 3])),
    lb_sign = ci$lb.sign, ub_sign = ci$ub.sign,
    tau2_tight = list(ci_lb = tight(TRUE), ci_ub = tight(FALSE))
  )
}

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
src_bcg <- "dat.bcg; escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg)"
genq_case("bcg_w_inv_v", bcg, 1 / bcg$vi, source = src_bcg)
genq_case("bcg_w_inv_se", bcg, 1 / sqrt(bcg$vi), source = src_bcg)
genq_case("bcg_w_equal", bcg, rep(1, nrow(bcg)), source = src_bcg)
genq_case("bcg_ablat_w_inv_se", bcg, 1 / sqrt(bcg$vi), mods = "ablat", source = src_bcg)

hack <- dat.hackshaw1998
genq_case("hackshaw_w_inv_se", hack, 1 / sqrt(hack$vi),
          source = "dat.hackshaw1998; yi, vi as supplied (log odds ratios)")
nor <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = dat.normand1999)
genq_case("normand_w_n", nor, nor$n1i + nor$n2i,
          source = "dat.normand1999; escalc(measure='MD', m1i, sd1i, n1i, m2i, sd2i, n2i)")

# the tail probability itself, at a few points (the function confint inverts)
sf <- list()
for (pt in list(list(q = 5, lambda = c(2, 1, 0.5)), list(q = 0.3, lambda = c(0.9, 0.05, 0.01)),
                list(q = 40, lambda = c(10, 3, 3, 1, 0.2, 0.1)))) {
  sf[[length(sf) + 1]] <- list(q = pt$q, lambda = pt$lambda,
                               sf = CompQuadForm::farebrother(pt$q, pt$lambda)$Qq)
}

out <- list(
  meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
              farebrother = fb_source),
  cases = cases, sf = sf
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "string",
                  pretty = FALSE), "tests/data/goldens_confint_genq.json")
cat("wrote tests/data/goldens_confint_genq.json\n")
