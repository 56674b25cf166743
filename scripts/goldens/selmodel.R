# Regenerate tests/data/goldens_selmodel.json: metafor's selmodel() on rma() fits.
#
# Run from the repository root:  Rscript scripts/goldens/selmodel.R
# Needs R with metafor (3.8.1 was used), metadat and jsonlite. Each fit runs at tight
# convergence (optim's BFGS at reltol 1e-14; integrate() at rel.tol 1e-8, or 1e-6 where it fails
# at 1e-8: the beta model's integrand has a kink where the p-value is clamped at 1e-5, and
# integrate() stops with a roundoff error below 1e-6; the value used is stored as int_rel_tol),
# so the goldens are the optimum of the selection-model likelihood to the precision R's
# integrate() reaches. Each case stores yi/vi, the rma() call, the
# selmodel() options, metafor's result fields (null where metafor gives NA) and the printout.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)
# optim's BFGS at reltol 1e-14 (maxit 1000); where it does not get there (a tau^2 heading for
# its boundary 0 on the log scale), reltol 1e-10; the setting used is stored as reltol
tights <- list(list(reltol = 1e-14, maxit = 1000L), list(reltol = 1e-10, maxit = 1000L))
rel_tols <- c(1e-8, 1e-6)
cases <- list()

add_case <- function(name, source, yi, vi, rma_method, type, options = list(), mods = NULL) {
  cat(name, "\n")
  # mods: a matrix of moderators (no intercept column), fitted as rma(yi, vi, mods = mods)
  res <- if (is.null(mods)) rma(yi, vi, method = rma_method) else
    rma(yi, vi, mods = mods, method = rma_method)
  tights_case <- tights
  rel_tols_case <- if (type == "beta") 1e-6 else rel_tols
  if (!is.null(mods)) {
    # meta-regressions: optim's finite-difference gradient with steps ndeps = 1e-6 (step
    # functions: closed-form likelihood) or 1e-5 (continuous: integrals at rel.tol 1e-10) in
    # place of its default 1e-3, whose gradient error stops BFGS ~1e-6 short of the maximum
    ndelta <- if (type == "stepfun") length(unique(c(options$steps, 1))) else
      if (type == "beta") 2L else 1L
    npar <- ncol(mods) + 2L + ndelta
    nd <- if (type == "stepfun") 1e-6 else if (type == "beta") 1e-3 else 1e-5
    tights_case <- lapply(tights, function(t) c(t, list(ndeps = rep(nd, npar))))
    if (type != "beta") rel_tols_case <- c(1e-10, rel_tols)
  }
  for (tight in tights_case) {
    for (rt in rel_tols_case) {
      ctl <- c(tight, list(intCtrl = list(rel.tol = rt)))
      sav <- try(suppressWarnings(do.call(selmodel, c(list(res, type = type), options,
                                                      list(control = ctl)))), silent = TRUE)
      if (!inherits(sav, "try-error")) break
    }
    if (!inherits(sav, "try-error")) break
  }
  if (inherits(sav, "try-error")) stop("selmodel failed for ", name)
  printed <- paste(capture.output(print(sav)), collapse = "\n")
  if (!is.null(mods)) {
    # meta-regression: one value per coefficient (kept as arrays), the moderator test
    cases[[length(cases) + 1L]] <<- list(
      name = name, source = source, yi = as.numeric(yi), vi = as.numeric(vi),
      mods = lapply(seq_len(ncol(mods)), function(j) as.numeric(mods[, j])),
      mod_names = colnames(mods), rma_method = rma_method, type = type, options = options,
      int_rel_tol = rt, reltol = tight$reltol, ndeps = tight$ndeps[1],
      result = list(
        k = sav$k, coef_names = I(rownames(sav$beta)), beta = I(num(sav$beta)),
        se = I(num(sav$se)), zval = I(num(sav$zval)), pval = I(num(sav$pval)),
        ci_lb = I(num(sav$ci.lb)), ci_ub = I(num(sav$ci.ub)), vb = sav$vb,
        tau2 = num(sav$tau2), se_tau2 = num(sav$se.tau2),
        ci_lb_tau2 = num(sav$ci.lb.tau2), ci_ub_tau2 = num(sav$ci.ub.tau2),
        delta = I(num(sav$delta)), se_delta = I(num(sav$se.delta)),
        zval_delta = I(num(sav$zval.delta)), pval_delta = I(num(sav$pval.delta)),
        ci_lb_delta = I(num(sav$ci.lb.delta)), ci_ub_delta = I(num(sav$ci.ub.delta)),
        steps = I(num(sav$steps)),
        ptable = if (is.data.frame(sav$ptable)) I(as.numeric(sav$ptable$k)) else NULL,
        LRT = num(sav$LRT), LRTdf = num(sav$LRTdf), LRTp = num(sav$LRTp),
        LRT_tau2 = num(sav$LRT.tau2), LRTp_tau2 = num(sav$LRTp.tau2),
        ll = num(sav$ll), ll0 = num(sav$ll0), QM = num(sav$QM), QMp = num(sav$QMp),
        QMdf = num(sav$QMdf[1]), btt = I(num(sav$btt)),
        logLik = sav$fit.stats["ll", "ML"], deviance = sav$fit.stats["dev", "ML"],
        AIC = sav$fit.stats["AIC", "ML"], BIC = sav$fit.stats["BIC", "ML"],
        AICc = sav$fit.stats["AICc", "ML"]
      ),
      printed = printed
    )
    return(invisible(NULL))
  }
  cases[[length(cases) + 1L]] <<- list(
    name = name, source = source, yi = as.numeric(yi), vi = as.numeric(vi),
    rma_method = rma_method, type = type, options = options, int_rel_tol = rt,
    reltol = tight$reltol,
    result = list(
      k = sav$k, beta = num(sav$beta), se = num(sav$se), zval = num(sav$zval),
      pval = num(sav$pval), ci_lb = num(sav$ci.lb), ci_ub = num(sav$ci.ub),
      tau2 = num(sav$tau2), se_tau2 = num(sav$se.tau2),
      ci_lb_tau2 = num(sav$ci.lb.tau2), ci_ub_tau2 = num(sav$ci.ub.tau2),
      delta = I(num(sav$delta)), se_delta = I(num(sav$se.delta)),
      zval_delta = I(num(sav$zval.delta)), pval_delta = I(num(sav$pval.delta)),
      ci_lb_delta = I(num(sav$ci.lb.delta)), ci_ub_delta = I(num(sav$ci.ub.delta)),
      steps = I(num(sav$steps)),
      ptable = if (is.data.frame(sav$ptable)) I(as.numeric(sav$ptable$k)) else NULL,
      LRT = num(sav$LRT), LRTdf = num(sav$LRTdf), LRTp = num(sav$LRTp),
      LRT_tau2 = num(sav$LRT.tau2), LRTp_tau2 = num(sav$LRTp.tau2),
      ll = num(sav$ll), ll0 = num(sav$ll0), QM = num(sav$QM), QMp = num(sav$QMp),
      logLik = sav$fit.stats["ll", "ML"], deviance = sav$fit.stats["dev", "ML"],
      AIC = sav$fit.stats["AIC", "ML"], BIC = sav$fit.stats["BIC", "ML"],
      AICc = sav$fit.stats["AICc", "ML"]
    ),
    printed = printed
  )
}

hack <- dat.hackshaw1998
src_h <- "metadat::dat.hackshaw1998"
for (type in c("beta", "halfnorm", "negexp", "logistic", "power")) {
  add_case(paste0("hackshaw1998_", type), src_h, hack$yi, hack$vi, "ML", type)
}
add_case("hackshaw1998_3PSM", src_h, hack$yi, hack$vi, "ML", "stepfun", list(steps = 0.025))
add_case("hackshaw1998_stepfun4", src_h, hack$yi, hack$vi, "ML", "stepfun",
         list(steps = c(0.05, 0.10, 0.50, 1.00)))
add_case("hackshaw1998_REML_stepfun4", src_h, hack$yi, hack$vi, "REML", "stepfun",
         list(steps = c(0.05, 0.10, 0.50, 1.00)))
add_case("hackshaw1998_3PSM_two_sided", src_h, hack$yi, hack$vi, "ML", "stepfun",
         list(steps = 0.05, alternative = "two.sided"))
add_case("hackshaw1998_halfnorm_step05", src_h, hack$yi, hack$vi, "ML", "halfnorm",
         list(steps = 0.05))

# Baskerville et al. (2012), as in metafor's tests/testthat/test_misc_selmodel.r
bask_yi <- c(1.01, 0.82, 0.59, 0.44, 0.84, 0.73, 1.12, 0.04, 0.24, 0.32, 1.04, 1.31, 0.59, 0.66,
             0.62, 0.47, 1.08, 0.98, 0.26, 0.39, 0.60, 0.94, 0.11)
bask_sei <- c(0.52, 0.46, 0.23, 0.18, 0.29, 0.29, 0.36, 0.37, 0.15, 0.40, 0.32, 0.57, 0.29, 0.19,
              0.31, 0.27, 0.32, 0.32, 0.18, 0.18, 0.31, 0.53, 0.27)
# (the beta model for these data is not here: its tau^2 runs to the boundary 0 on the log
# scale and optim() at reltol 1e-14 did not finish in 20 minutes; tests/models/
# test_selmodel_examples.py checks it against the values of metafor's own test instead)
add_case("baskerville2012_3PSM", "Baskerville et al. 2012 (metafor test_misc_selmodel.r)",
         bask_yi, bask_sei^2, "ML", "stepfun", list(steps = 0.025))

# Preston et al. (2004), as in metafor's tests/testthat/test_misc_selmodel.r (EE, "less")
pr <- escalc(measure = "OR", ai = c(4,0,34,7,6,1,0,11,2,0,0,33),
             n1i = c(19,18,341,71,45,94,22,88,82,33,15,221),
             ci = c(5,0,50,16,5,8,0,12,7,0,1,43),
             n2i = c(19,18,334,69,44,96,22,82,84,30,20,218), drop00 = TRUE)
pr <- pr[!is.na(pr$yi), ]
src_p <- "Preston et al. 2004 (metafor test_misc_selmodel.r)"
for (type in c("halfnorm", "negexp", "logistic", "power")) {
  add_case(paste0("preston2004_", type, "_less"), src_p, pr$yi, pr$vi, "EE", type,
           list(alternative = "less"))
}

# Meta-regressions (rma with mods): metafor's selmodel on an rma.uni fit with moderators.
# Cases whose delta or tau^2 runs to a bound are left out (optim at reltol 1e-14 crawls there):
# on dat.bcg with alternative = "less" the halfnorm, negexp and logistic deltas go to 0; its
# ML power model ("less") is left out too: metafor's Hessian there is NaN at optim's default
# ndeps and its SE of tau^2 moves by 2e-4 with the gradient step.
# BCG vaccine trials (metadat::dat.bcg), log risk ratios, mods = ~ ablat
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
src_b <- "metadat::dat.bcg, escalc(measure = 'RR'), mods = ~ ablat"
ablat <- cbind(ablat = bcg$ablat)
add_case("bcg_ablat_halfnorm", src_b, bcg$yi, bcg$vi, "ML", "halfnorm", list(), mods = ablat)
add_case("bcg_ablat_EE_power_less", src_b, bcg$yi, bcg$vi, "EE", "power",
         list(alternative = "less"), mods = ablat)
add_case("bcg_ablat_3PSM_less", src_b, bcg$yi, bcg$vi, "ML", "stepfun",
         list(steps = 0.025, alternative = "less"), mods = ablat)
add_case("bcg_ablat_REML_stepfun_less", src_b, bcg$yi, bcg$vi, "REML", "stepfun",
         list(steps = c(0.01, 0.05), alternative = "less"), mods = ablat)
add_case("bcg_ablat_beta_less", src_b, bcg$yi, bcg$vi, "ML", "beta",
         list(alternative = "less"), mods = ablat)
# Baskerville et al. (2012), metadat::dat.baskerville2012, mods = ~ blind (?selmodel's example)
# and ~ blind + score
bsk <- dat.baskerville2012
src_k <- "metadat::dat.baskerville2012, rma(smd, se^2, mods = ~ blind) (?selmodel)"
blind <- cbind(blind = bsk$blind)
add_case("baskerville2012_blind_3PSM", src_k, bsk$smd, bsk$se^2, "ML", "stepfun",
         list(steps = 0.025), mods = blind)
for (type in c("halfnorm", "negexp", "logistic", "power")) {
  add_case(paste0("baskerville2012_blind_", type), src_k, bsk$smd, bsk$se^2, "ML", type,
           list(), mods = blind)
}
src_k2 <- "metadat::dat.baskerville2012, rma(smd, se^2, mods = ~ blind + score)"
bs2 <- cbind(blind = bsk$blind, score = bsk$score)
add_case("baskerville2012_blind_score_3PSM", src_k2, bsk$smd, bsk$se^2, "ML", "stepfun",
         list(steps = 0.025), mods = bs2)
add_case("baskerville2012_blind_score_REML_negexp", src_k2, bsk$smd, bsk$se^2, "REML", "negexp",
         list(), mods = bs2)

out <- list(
  generated_by = "scripts/goldens/selmodel.R",
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  control = tights,
  cases = cases
)
dir.create("tests/data", showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "string", pretty = TRUE),
           "tests/data/goldens_selmodel.json")
cat("wrote tests/data/goldens_selmodel.json with", length(cases), "cases\n")
