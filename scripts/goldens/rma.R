# Regenerates tests/data/goldens_rma.json: reference values for metareview.models.rma.
#
# Run from the repository root:
#     Rscript scripts/goldens/rma.R
# Needs R >= 4.2 with metafor 3.8 and metadat (Debian: r-cran-metafor r-cran-metadat) and jsonlite.
#
# Every method (EE, FE, DL, REML, ML, PM, HS, SJ, HE, EB) x test (z, t, knha) is fitted on each
# dataset with control=list(threshold=1e-12, tol=1e-12, maxiter=5000), so that iterative estimators
# are converged far beyond metafor's defaults. For each fit we store coef/se/zval/pval/CI, tau2 and
# its SE, Q, I^2, H^2, the prediction interval from predict() and the Q-profile CI of tau^2 from
# confint() (also run with tol=1e-12). A fit that fails in metafor is stored with ok=false and the
# error message, so the tests can check that metareview fails as well (or document why not).
# Non-finite numbers are written as the strings "NA", "NaN", "Inf" and "-Inf".

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)
methods <- c("EE", "FE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB")
tests <- c("z", "t", "knha")

# ---------------------------------------------------------------- datasets (yi, vi, slab, measure)
datasets <- list()
add_dataset <- function(name, dat, measure, slab, source) {
  keep <- !is.na(dat$yi) & !is.na(dat$vi)
  datasets[[name]] <<- list(
    source = source,
    measure = measure,
    yi = as.numeric(dat$yi[keep]),
    vi = as.numeric(dat$vi[keep]),
    slab = as.character(slab[keep])
  )
}

d <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_dataset("bcg_RR", d, "RR", paste(dat.bcg$author, dat.bcg$year),
            "dat.bcg; escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg)")

d <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
            n2i = n2i, data = dat.normand1999)
add_dataset("normand1999_MD", d, "MD", dat.normand1999$source,
            "dat.normand1999; escalc(measure='MD', m1i, sd1i, n1i, m2i, sd2i, n2i)")

d <- dat.hackshaw1998
add_dataset("hackshaw1998_OR", d, "OR", paste(d$author, d$year),
            "dat.hackshaw1998; yi, vi as supplied (log odds ratios)")

d <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
add_dataset("molloy2014_ZCOR", d, "ZCOR", paste(dat.molloy2014$authors, dat.molloy2014$year),
            "dat.molloy2014; escalc(measure='ZCOR', ri=ri, ni=ni)")

d <- escalc(measure = "PR", xi = xi, ni = ni, data = dat.pritz1997)
add_dataset("pritz1997_PR", d, "PR", dat.pritz1997$authors,
            "dat.pritz1997; escalc(measure='PR', xi=xi, ni=ni)")

d <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007)
add_dataset("li2007_OR", d, "OR", paste(dat.li2007$study, dat.li2007$year),
            "dat.li2007; escalc(measure='OR', ai, n1i, ci, n2i) (add=1/2 to='only0')")

d <- escalc(measure = "ROM", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
            n2i = n2i, data = dat.curtis1998)
add_dataset("curtis1998_ROM", d, "ROM", paste(dat.curtis1998$paper, dat.curtis1998$id),
            "dat.curtis1998; escalc(measure='ROM', m1i, sd1i, n1i, m2i, sd2i, n2i)")

d <- escalc(measure = "RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.hine1989)
add_dataset("hine1989_RD", d, "RD", dat.hine1989$source,
            "dat.hine1989; escalc(measure='RD', ai, n1i, ci, n2i)")

y6 <- dat.yusuf1985[dat.yusuf1985$table == "6", ]
d <- escalc(measure = "PETO", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = y6)
add_dataset("yusuf1985_t6_PETO", d, "PETO", y6$trial,
            "dat.yusuf1985 (table 6); escalc(measure='PETO', ai, n1i, ci, n2i)")

d <- dat.konstantopoulos2011
add_dataset("konstantopoulos2011_GEN", d, "GEN", paste(d$district, d$school, sep = "."),
            "dat.konstantopoulos2011; yi, vi as supplied (standardised mean differences)")

d <- dat.raudenbush1985
add_dataset("raudenbush1985_SMD", d, "SMD", paste(d$author, d$year),
            "dat.raudenbush1985; yi, vi as supplied (SMD)")

d <- dat.bangertdrowns2004
add_dataset("bangertdrowns2004_SMD", d, "SMD", paste(d$author, d$year),
            "dat.bangertdrowns2004; yi, vi as supplied (SMD)")

d <- escalc(measure = "IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = dat.hart1999)
add_dataset("hart1999_IRR", d, "IRR", paste(dat.hart1999$study, dat.hart1999$year),
            "dat.hart1999; escalc(measure='IRR', x1i, t1i, x2i, t2i)")

pc <- dat.pagliaro1992[dat.pagliaro1992$trt == "control", ]
d <- escalc(measure = "PLO", xi = xi, ni = ni, data = pc)
add_dataset("pagliaro1992_control_PLO", d, "PLO", paste("study", pc$study),
            "dat.pagliaro1992 (control arms); escalc(measure='PLO', xi, ni)")

# Edge cases: two studies; nearly homogeneous; identical estimates; a large outcome scale.
add_dataset("edge_k2", list(yi = c(0.1, 0.9), vi = c(0.04, 0.09)), "GEN", c("a", "b"),
            "hand-made: k = 2")
add_dataset("edge_homogeneous",
            list(yi = c(0.30, 0.32, 0.29, 0.31, 0.30), vi = c(0.02, 0.03, 0.025, 0.04, 0.05)),
            "GEN", letters[1:5], "hand-made: Q far below its df (tau^2 truncated to 0)")
add_dataset("edge_identical_yi", list(yi = rep(0.5, 4), vi = c(0.1, 0.2, 0.3, 0.4)), "GEN",
            letters[1:4], "hand-made: all estimates equal (Q = 0)")
add_dataset("edge_large_scale",
            list(yi = c(1200, 300, -450, 2100, 800, -100, 1500),
                 vi = c(2500, 4000, 1600, 9000, 3600, 2000, 5000)),
            "GEN", letters[1:7], "hand-made: outcome on a large scale (tau^2 >> 100)")

# Simulated (k = 25, rounded to 6 decimals): metafor's REML Fisher scoring oscillates here and
# stops with "did not converge" even at maxiter = 5000; it converges with stepadj = 0.5.
add_dataset("edge_oscillating_reml",
            list(yi = c(0.990657, 0.900453, -0.170588, 0.339729, 0.008040, 0.544965, -0.005023,
                        0.150111, -0.097978, 0.130371, 0.273226, 0.111270, 0.728299, 0.519504,
                        0.131684, 0.260511, 0.171514, 0.512730, 0.082395, 0.204168, 0.946494,
                        0.550303, -0.702876, 0.045103, 0.752477),
                 vi = c(0.363993, 0.229571, 0.496074, 0.071410, 0.184039, 0.010917, 0.305069,
                        0.201872, 0.257566, 0.399408, 0.135929, 0.454611, 0.148555, 0.298898,
                        0.148925, 0.081653, 0.025119, 0.071339, 0.176481, 0.036846, 0.405682,
                        0.034147, 0.271960, 0.182529, 0.467651)),
            "GEN", paste0("s", 1:25), "simulated: REML Fisher scoring oscillates near tau^2 = 0")

# ---------------------------------------------------------------- fitting
num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)[1]

fit_one <- function(name, method, test, level = 95, tau2 = NULL) {
  ds <- datasets[[name]]
  args <- list(yi = ds$yi, vi = ds$vi, method = method, test = test, level = level,
               control = ctrl)
  if (!is.null(tau2)) args$tau2 <- tau2
  out <- list(dataset = name, method = method, test = test, level = level,
              tau2_fixed = if (is.null(tau2)) NA_real_ else tau2)
  res <- tryCatch(suppressWarnings(do.call(rma, args)), error = function(e) e)
  if (inherits(res, "error")) {
    out$ok <- FALSE
    out$error <- conditionMessage(res)
    # Two known ways metafor's Fisher scoring fails: it oscillates near tau^2 = 0 (fixed by
    # halving its steps, stepadj = 0.5), or, on a large outcome scale, its absolute threshold
    # 1e-12 is below machine precision (fixed by threshold 1e-6, i.e. 1e-12 relative there).
    # The refit's values are kept as the reference, with the control used.
    for (retry in list(list(threshold = 1e-12, tol = 1e-12, maxiter = 5000, stepadj = 0.5),
                       list(threshold = 1e-6, tol = 1e-12, maxiter = 5000))) {
      args$control <- retry
      res <- tryCatch(suppressWarnings(do.call(rma, args)), error = function(e) e)
      if (!inherits(res, "error")) break
    }
    if (inherits(res, "error")) return(out)
    out$retry_control <- args$control
  } else {
    out$ok <- TRUE
  }
  out$k <- res$k
  out$b <- num(res$beta)
  out$se <- num(res$se)
  out$zval <- num(res$zval)
  out$pval <- num(res$pval)
  out$ci.lb <- num(res$ci.lb)
  out$ci.ub <- num(res$ci.ub)
  out$ddf <- num(res$ddf)
  out$tau2 <- num(res$tau2)
  out$se.tau2 <- num(res$se.tau2)
  out$QE <- num(res$QE)
  out$QEp <- num(res$QEp)
  out$I2 <- num(res$I2)
  out$H2 <- num(res$H2)
  out$vt <- num(res$vt)
  out$weights <- as.numeric(weights(res))
  pr <- predict(res)
  out$pi.lb <- if (is.null(pr$pi.lb)) NA_real_ else num(pr$pi.lb)
  out$pi.ub <- if (is.null(pr$pi.ub)) NA_real_ else num(pr$pi.ub)
  if (!is.element(method, c("EE", "FE")) && is.null(tau2)) {
    ci <- tryCatch(suppressWarnings(confint(res, control = list(tol = 1e-12))),
                   error = function(e) e)
    if (inherits(ci, "error")) {
      out$confint_error <- conditionMessage(ci)
    } else {
      r <- ci$random
      out$tau2.ci.lb <- r["tau^2", "ci.lb"]
      out$tau2.ci.ub <- r["tau^2", "ci.ub"]
      out$I2.ci.lb <- r["I^2(%)", "ci.lb"]
      out$I2.ci.ub <- r["I^2(%)", "ci.ub"]
      out$H2.ci.lb <- r["H^2", "ci.lb"]
      out$H2.ci.ub <- r["H^2", "ci.ub"]
    }
  }
  out
}

fits <- list()
for (name in names(datasets)) {
  for (method in methods) {
    for (test in tests) {
      fits[[length(fits) + 1]] <- fit_one(name, method, test)
    }
  }
}
# Other confidence levels.
for (method in methods) {
  fits[[length(fits) + 1]] <- fit_one("bcg_RR", method, "z", level = 90)
  fits[[length(fits) + 1]] <- fit_one("hackshaw1998_OR", method, "knha", level = 99)
}
# A user-specified tau^2.
for (method in c("REML", "DL", "PM", "SJ", "HE")) {
  for (test in tests) {
    fits[[length(fits) + 1]] <- fit_one("bcg_RR", method, test, tau2 = 0.1)
  }
}

# ---------------------------------------------------------------- leave-one-out
l1o_one <- function(name, method, test) {
  ds <- datasets[[name]]
  res <- rma(yi = ds$yi, vi = ds$vi, method = method, test = test, control = ctrl)
  l <- leave1out(res)
  list(dataset = name, method = method, test = test,
       estimate = as.numeric(l$estimate), se = as.numeric(l$se),
       zval = as.numeric(l[[3]]), pval = as.numeric(l$pval),
       ci.lb = as.numeric(l$ci.lb), ci.ub = as.numeric(l$ci.ub),
       Q = as.numeric(l$Q), Qp = as.numeric(l$Qp),
       tau2 = if (is.null(l$tau2)) rep(0, length(l$estimate)) else as.numeric(l$tau2),
       I2 = as.numeric(l$I2), H2 = as.numeric(l$H2))
}
l1o <- list(
  l1o_one("bcg_RR", "REML", "z"),
  l1o_one("bcg_RR", "DL", "knha"),
  l1o_one("hackshaw1998_OR", "PM", "z"),
  l1o_one("normand1999_MD", "EE", "z"),
  l1o_one("li2007_OR", "SJ", "t")
)

out <- list(
  generated_by = "scripts/goldens/rma.R",
  R_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  control = ctrl,
  datasets = datasets,
  fits = fits,
  leave1out = l1o
)
dir.create("tests/data", showWarnings = FALSE, recursive = TRUE)
write_json(out, "tests/data/goldens_rma.json", digits = NA, auto_unbox = TRUE, na = "string",
           pretty = FALSE)
cat("wrote tests/data/goldens_rma.json:", length(fits), "fits on", length(datasets),
    "datasets,", length(l1o), "leave-one-out series\n")
