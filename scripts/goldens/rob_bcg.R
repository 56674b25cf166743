# Goldens for tests/review/test_rob_analyses.py: metafor 3.8 on dat.bcg (metadat) with synthetic
# RoB 2 overall judgements (for the test only, not a real appraisal): randomised trials from
# 1970 on "low", earlier randomised trials "some_concerns", alternate/systematic allocation
# "high". The sensitivity analyses are rma(..., subset=) on those studies; the subgroup models
# are rma() per judgement. Run from the repo root: Rscript scripts/goldens/rob_bcg.R
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 5000)
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
dat$rob <- ifelse(dat$alloc != "random", "high", ifelse(dat$year >= 1970, "low", "some_concerns"))
one <- function(fit) list(k = fit$k, estimate = fit$beta[1], ci_lower = fit$ci.lb,
                          ci_upper = fit$ci.ub, pvalue = fit$pval, tau2 = fit$tau2, I2 = fit$I2)
out <- list(
  study = paste(dat$author, dat$year), rob = dat$rob,
  not_high = one(rma(yi, vi, data = dat, subset = rob != "high", method = "REML", control = ctrl)),
  low = one(rma(yi, vi, data = dat, subset = rob == "low", method = "REML", control = ctrl)),
  groups = lapply(setNames(nm = c("high", "low", "some_concerns")), function(g)
    one(rma(yi, vi, data = dat, subset = rob == g, method = "REML", control = ctrl))))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           "tests/data/goldens_rob_bcg.json")
