# Regenerate tests/data/goldens_selmodel_delta.json: metafor's selmodel() with some or all of
# the selection parameters fixed by its 'delta' argument (NA = estimated), and with a measure
# of precision in the selection function ('prec', 'scaleprec'), at tight control.
#
# Run from the repository root:  Rscript scripts/goldens/selmodel_delta.R
# Needs R with metafor (3.8.1 was used), metadat and jsonlite.
#
# Each fit runs at the tight control of scripts/goldens/selmodel_tight.R (see there why):
#   optim BFGS reltol = 1e-14 (then 1e-10), maxit = 1000, ndeps = 1e-6 (step functions: closed
#   form) or 1e-5 (integrals) for every parameter in place of the default 1e-3;
#   intCtrl = list(rel.tol = 1e-12, subdivisions = 1000) (then 1e-11, 1e-10 if integrate fails);
#   tau2.max = 10 (only for BFGS's line search; every tau^2 here is below 0.2).
# metafor's parameter vector holds every delta, fixed or not, so ndeps has p + 1 + deltas
# entries. The settings used are stored per case. The file also records metafor's error
# messages for a 'delta' of the wrong length or out of bounds ("errors") and whether its bound
# warning fires for fixed deltas ("warnings").

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)
cases <- list()

add_case <- function(name, source, yi, vi, rma_method, type, options, mods = NULL,
                     digits = NULL, ni = NULL) {
  cat(name, "\n")
  args <- list(yi = yi, vi = vi, method = rma_method)
  if (!is.null(mods)) args$mods <- mods
  if (!is.null(ni)) args$ni <- ni  # the sample sizes prec = "ninv"/"sqrtninv" reads
  res <- do.call(rma, args)
  if (!is.null(digits)) res$digits <- c(est = digits, se = digits, test = digits,
                                        pval = digits, ci = digits, var = digits,
                                        sevar = digits, fit = digits, het = digits)
  ndelta <- if (type == "stepfun") length(unique(c(options$steps, 1))) else
    if (type == "beta") 2L else 1L
  npar <- 1L + (if (is.null(mods)) 0L else ncol(mods)) + 1L + ndelta
  nd <- if (type == "stepfun") 1e-6 else 1e-5
  sav <- NULL
  for (reltol in c(1e-14, 1e-10)) {
    for (rt in c(1e-12, 1e-11, 1e-10)) {
      ctl <- list(reltol = reltol, maxit = 1000L, ndeps = rep(nd, npar), tau2.max = 10,
                  intCtrl = list(rel.tol = rt, subdivisions = 1000L))
      sav <- try(suppressWarnings(do.call(selmodel, c(list(res, type = type), options,
                                                      list(control = ctl)))), silent = TRUE)
      if (!inherits(sav, "try-error")) break
    }
    if (!inherits(sav, "try-error")) break
  }
  if (inherits(sav, "try-error")) stop("selmodel failed for ", name)
  lrt_tau2_refit <- NULL
  if (is.na(sav$LRT.tau2) && rma_method != "EE") {
    # selmodel's own tau^2 = 0 refit sits in try() and gave NA: the same refit, called as
    # selmodel(..., tau2 = 0) (an argument of its '...'), for the LRT it would have printed
    s0 <- do.call(selmodel, c(list(res, type = type), options,
                              list(control = ctl, tau2 = 0, skiphes = TRUE)))
    lrt_tau2_refit <- max(0, -2 * (s0$ll - sav$ll))
  }
  printed <- paste(capture.output(print(sav)), collapse = "\n")
  result <- list(
    k = sav$k, beta = num(sav$beta), se = num(sav$se), zval = num(sav$zval),
    pval = num(sav$pval), ci_lb = num(sav$ci.lb), ci_ub = num(sav$ci.ub),
    tau2 = num(sav$tau2), se_tau2 = num(sav$se.tau2),
    ci_lb_tau2 = num(sav$ci.lb.tau2), ci_ub_tau2 = num(sav$ci.ub.tau2),
    delta = I(num(sav$delta)), se_delta = I(num(sav$se.delta)),
    zval_delta = I(num(sav$zval.delta)), pval_delta = I(num(sav$pval.delta)),
    ci_lb_delta = I(num(sav$ci.lb.delta)), ci_ub_delta = I(num(sav$ci.ub.delta)),
    delta_fix = I(sav$delta.fix), steps = I(num(sav$steps)),
    ptable = if (is.data.frame(sav$ptable)) I(as.numeric(sav$ptable$k)) else NULL,
    LRT = num(sav$LRT), LRTdf = num(sav$LRTdf), LRTp = num(sav$LRTp),
    LRT_tau2 = num(sav$LRT.tau2), LRTp_tau2 = num(sav$LRTp.tau2),
    ll = num(sav$ll), ll0 = num(sav$ll0), QM = num(sav$QM), QMp = num(sav$QMp),
    logLik = sav$fit.stats["ll", "ML"], deviance = sav$fit.stats["dev", "ML"],
    AIC = sav$fit.stats["AIC", "ML"], BIC = sav$fit.stats["BIC", "ML"],
    AICc = sav$fit.stats["AICc", "ML"]
  )
  case <- list(name = name, source = source, yi = as.numeric(yi), vi = as.numeric(vi),
               rma_method = rma_method, type = type, options = options)
  if (!is.null(mods)) {
    for (f in c("beta", "se", "zval", "pval", "ci_lb", "ci_ub")) result[[f]] <- I(result[[f]])
    result$coef_names <- I(rownames(sav$beta))
    result$vb <- sav$vb
    result$QMdf <- num(sav$QMdf[1])
    result$btt <- I(num(sav$btt))
    case$mods <- lapply(seq_len(ncol(mods)), function(j) as.numeric(mods[, j]))
    case$mod_names <- colnames(mods)
  }
  case$digits <- digits
  if (!is.null(lrt_tau2_refit)) case$LRT_tau2_refit <- lrt_tau2_refit
  if (!is.null(ni)) case$ni <- as.numeric(ni)
  case$int_rel_tol <- rt
  case$reltol <- reltol
  case$ndeps <- nd
  case$tau2_max <- 10
  case$result <- result
  case$printed <- printed
  cases[[length(cases) + 1L]] <<- case
}

# dat.hackshaw1998 (metafor's own selmodel examples)
hack <- dat.hackshaw1998
src_h <- "metadat::dat.hackshaw1998, rma(yi, vi, method = \"ML\")"
add_case("hackshaw1998_stepfun3_delta_1_NA_NA", src_h, hack$yi, hack$vi, "ML", "stepfun",
         list(steps = c(0.025, 0.5, 1), delta = I(c(1, NA, NA))))
add_case("hackshaw1998_stepfun3_delta_1_05_NA", src_h, hack$yi, hack$vi, "ML", "stepfun",
         list(steps = c(0.025, 0.5, 1), delta = I(c(1, 0.5, NA))))
add_case("hackshaw1998_stepfun4_delta_1_05_NA_NA", src_h, hack$yi, hack$vi, "ML", "stepfun",
         list(steps = c(0.05, 0.10, 0.50, 1), delta = I(c(1, 0.5, NA, NA))))
add_case("hackshaw1998_REML_stepfun3_delta_NA_NA_02", paste0(src_h, "; REML refitted by ML"),
         hack$yi, hack$vi, "REML", "stepfun",
         list(steps = c(0.05, 0.5, 1), delta = I(c(NA, NA, 0.2))))
# a first delta other than 1: metafor's A_i keeps the first interval's weight at 1
add_case("hackshaw1998_3PSM_delta_2_NA", src_h, hack$yi, hack$vi, "ML", "stepfun",
         list(steps = 0.025, delta = I(c(2, NA))))
add_case("hackshaw1998_stepfun3_two_sided_delta_1_NA_05", src_h, hack$yi, hack$vi, "ML",
         "stepfun", list(steps = c(0.05, 0.5, 1), alternative = "two.sided",
                         delta = I(c(1, NA, 0.5))))
# Vevea & Woods (2005)-style sensitivity analysis: all step weights fixed a priori
add_case("hackshaw1998_vevea_woods", src_h, hack$yi, hack$vi, "ML", "stepfun",
         list(steps = c(.005, .01, .05, .10, .25, .35, .50, .65, 1),
              delta = I(c(1, .99, .95, .90, .80, .75, .65, .60, .55))))
add_case("hackshaw1998_beta_delta_NA_1", src_h, hack$yi, hack$vi, "ML", "beta",
         list(delta = I(c(NA, 1))))
add_case("hackshaw1998_beta_delta_05_NA", src_h, hack$yi, hack$vi, "ML", "beta",
         list(delta = I(c(0.5, NA))))
add_case("hackshaw1998_halfnorm_delta_2", src_h, hack$yi, hack$vi, "ML", "halfnorm",
         list(delta = 2))
add_case("hackshaw1998_power_delta_05", src_h, hack$yi, hack$vi, "ML", "power",
         list(delta = 0.5))
add_case("hackshaw1998_negexp_step05_delta_NA", src_h, hack$yi, hack$vi, "ML", "negexp",
         list(steps = 0.05, delta = NA))

# metafor's selmodel help: validity of student ratings (dat.cohen1981), the four selection
# functions of Vevea & Woods (2005, Table 1); the fit printed at digits = 3 as there
coh <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.cohen1981[c(1, 4, 5)])
src_c <- paste0("metafor's selmodel help: dat.cohen1981, escalc(\"ZCOR\"), ",
                "rma(yi, vi, method = \"ML\", digits = 3), Vevea & Woods 2005 Table 1")
tab <- data.frame(
  steps = c(0.005, 0.01, 0.05, 0.10, 0.25, 0.35, 0.50, 0.65, 0.75, 0.90, 0.95, 0.99, 0.995, 1),
  delta.mod.1 = c(1, 0.99, 0.95, 0.80, 0.75, 0.65, 0.60, 0.55, 0.50, 0.50, 0.50, 0.50, 0.50, 0.50),
  delta.sev.1 = c(1, 0.99, 0.90, 0.75, 0.60, 0.50, 0.40, 0.35, 0.30, 0.25, 0.10, 0.10, 0.10, 0.10),
  delta.mod.2 = c(1, 0.99, 0.95, 0.90, 0.80, 0.75, 0.60, 0.60, 0.75, 0.80, 0.90, 0.95, 0.99, 1.00),
  delta.sev.2 = c(1, 0.99, 0.90, 0.75, 0.60, 0.50, 0.25, 0.25, 0.50, 0.60, 0.75, 0.90, 0.99, 1.00))
for (nm in names(tab)[-1]) {
  add_case(paste0("cohen1981_vevea_woods_", gsub(".", "_", nm, fixed = TRUE)), src_c,
           coh$yi, coh$vi, "ML", "stepfun", list(steps = tab$steps, delta = I(tab[[nm]])),
           digits = 3L)
}

# meta-regressions: dat.bcg with ablat; dat.baskerville2012 with blind
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
src_b <- "metadat::dat.bcg, escalc(\"RR\"), rma(yi, vi, mods = ~ ablat)"
ablat <- cbind(ablat = bcg$ablat)
add_case("bcg_ablat_3PSM_less_delta_1_05", src_b, bcg$yi, bcg$vi, "ML", "stepfun",
         list(steps = 0.025, alternative = "less", delta = I(c(1, 0.5))), mods = ablat)
add_case("bcg_ablat_stepfun3_less_delta_1_NA_03", src_b, bcg$yi, bcg$vi, "ML", "stepfun",
         list(steps = c(0.05, 0.5, 1), alternative = "less", delta = I(c(1, NA, 0.3))),
         mods = ablat)
bsk <- dat.baskerville2012
src_k <- "metadat::dat.baskerville2012, rma(smd, se^2, mods = ~ blind)"
add_case("baskerville2012_blind_negexp_delta_15", src_k, bsk$smd, bsk$se^2, "ML", "negexp",
         list(delta = 1.5), mods = cbind(blind = bsk$blind))

# prec: Preston et al. (2004)'s standard errors and metafor's other measures of precision
add_case("hackshaw1998_halfnorm_prec_sei", src_h, hack$yi, hack$vi, "ML", "halfnorm",
         list(prec = "sei"))
add_case("hackshaw1998_negexp_prec_vi", src_h, hack$yi, hack$vi, "ML", "negexp",
         list(prec = "vi"))
add_case("hackshaw1998_logistic_step05_prec_sei", src_h, hack$yi, hack$vi, "ML", "logistic",
         list(prec = "sei", steps = 0.05))
add_case("hackshaw1998_power_prec_sei", src_h, hack$yi, hack$vi, "ML", "power",
         list(prec = "sei"))
add_case("hackshaw1998_halfnorm_prec_sei_unscaled", src_h, hack$yi, hack$vi, "ML", "halfnorm",
         list(prec = "sei", scaleprec = FALSE))
add_case("hackshaw1998_halfnorm_prec_sei_delta_3", src_h, hack$yi, hack$vi, "ML", "halfnorm",
         list(prec = "sei", delta = 3))
# stepfun with prec: "undocumented and experimental" in metafor (w = delta_j / prec_i)
add_case("hackshaw1998_3PSM_prec_sei", src_h, hack$yi, hack$vi, "ML", "stepfun",
         list(prec = "sei", steps = 0.025))
src_cn <- "metadat::dat.cohen1981, escalc(\"ZCOR\"), rma(yi, vi, ni = ni, method = \"ML\")"
add_case("cohen1981_negexp_prec_ninv", src_cn, coh$yi, coh$vi, "ML", "negexp",
         list(prec = "ninv"), ni = coh$ni)
add_case("cohen1981_halfnorm_prec_sqrtninv", src_cn, coh$yi, coh$vi, "ML", "halfnorm",
         list(prec = "sqrtninv"), ni = coh$ni)
bcg_ni <- with(dat.bcg, tpos + tneg + cpos + cneg)
add_case("bcg_ablat_halfnorm_less_prec_sqrtninv",
         paste0(src_b, ", ni = tpos + tneg + cpos + cneg"), bcg$yi, bcg$vi, "ML", "halfnorm",
         list(prec = "sqrtninv", alternative = "less"), mods = ablat, ni = bcg_ni)

# metafor's messages for a bad 'delta'
errors <- list()
add_error <- function(type, options) {
  r <- rma(hack$yi, hack$vi, method = "ML")
  e <- try(do.call(selmodel, c(list(r, type = type), options)), silent = TRUE)
  if (!inherits(e, "try-error")) stop("expected an error for ", type)
  errors[[length(errors) + 1L]] <<- list(type = type, options = options,
                                          message = conditionMessage(attr(e, "condition")))
}
add_error("beta", list(delta = I(c(NA, 1, 2))))
add_error("stepfun", list(steps = c(0.025, 0.5, 1), delta = I(c(1, NA))))
add_error("halfnorm", list(delta = I(c(1, 2))))
add_error("beta", list(delta = I(c(0, NA))))
add_error("halfnorm", list(delta = -1))
add_error("stepfun", list(steps = 0.025, delta = I(c(1, -0.5))))
# an empty interval is an error only where its delta is estimated
add_error("stepfun", list(steps = c(0.001, 0.002, 1), delta = I(c(1, NA, NA))))

# metafor's bound warning covers fixed deltas too ("One or more 'delta' estimates are
# (almost) equal to their lower or upper bound"): whether it warns, per call
warns <- list()
add_warn <- function(type, options) {
  r <- rma(hack$yi, hack$vi, method = "ML")
  msg <- character(0)
  withCallingHandlers(do.call(selmodel, c(list(r, type = type), options)),
                      warning = function(w) {
                        msg <<- c(msg, conditionMessage(w))
                        invokeRestart("muffleWarning")
                      })
  warns[[length(warns) + 1L]] <<- list(type = type, options = options,
                                        warned = any(grepl("bound", msg)))
}
add_warn("stepfun", list(steps = c(0.025, 0.5, 1), delta = I(c(1, NA, 150))))
add_warn("stepfun", list(steps = c(0.025, 0.5, 1), delta = I(c(1, NA, 0.5))))
add_warn("stepfun", list(steps = c(0.025, 0.5, 1), delta = I(c(1, 99.999, NA))))

out <- list(
  generated_by = "scripts/goldens/selmodel_delta.R",
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  cases = cases,
  errors = errors,
  warnings = warns
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "string", pretty = TRUE),
           "tests/data/goldens_selmodel_delta.json")
cat("wrote tests/data/goldens_selmodel_delta.json with", length(cases), "cases,",
    length(errors), "errors and", length(warns), "warnings\n")
